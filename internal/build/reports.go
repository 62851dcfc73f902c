package build

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/mask"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// collectReports parses every report group's files. A group whose files are
// missing is only logged (the tests may not have run); a file that does not parse
// fails the build, as does a failed test: "a failed test fails the action".
// It returns the reports and the failure text, if any.
func (b *builder) collectReports() ([]report.Report, string) {
	var reports []report.Report
	var problems []string
	for _, g := range b.req.Buildspec.Reports {
		base, err := insideDir(b.workDir, g.BaseDirectory)
		if err != nil {
			problems = append(problems, fmt.Sprintf("report group %s%s: base-directory: %v", g.Name, at(g.Pos), err))
			continue
		}
		files, _, err := globFiles(base, g.Files)
		if err != nil && !os.IsNotExist(err) {
			problems = append(problems, fmt.Sprintf("report group %s%s: %v", g.Name, at(g.Pos), err))
			continue
		}
		if len(files) == 0 {
			b.logf("Report group %s: no files match %s", g.Name, strings.Join(g.Files, ", "))
			continue
		}
		for _, rel := range files {
			r, err := b.parseReport(g.FileFormat, base, rel)
			if err != nil {
				problems = append(problems, fmt.Sprintf("report group %s: %v", g.Name, err))
				continue
			}
			r.Group = g.Name
			b.maskReport(r)
			b.logf("Report group %s: %s", g.Name, describeReport(r))
			reports = append(reports, *r)
		}
	}
	if len(problems) > 0 {
		return reports, strings.Join(problems, "; ")
	}
	return reports, testFailures(reports)
}

// maskReport hides secrets in test output kept in a report (shown in consoles).
func (b *builder) maskReport(r *report.Report) { maskReport(r, b.masker) }

// MaskReports returns copies of reports with the secrets of m hidden in their
// test cases.
func MaskReports(reports []report.Report, m *mask.Masker) []report.Report {
	out := make([]report.Report, len(reports))
	for i, r := range reports {
		if r.Tests != nil {
			tests := *r.Tests
			tests.Cases = slices.Clone(tests.Cases)
			r.Tests = &tests
		}
		maskReport(&r, m)
		out[i] = r
	}
	return out
}

func maskReport(r *report.Report, m *mask.Masker) {
	if r.Tests == nil {
		return
	}
	for i := range r.Tests.Cases {
		c := &r.Tests.Cases[i]
		c.Suite, c.Name = m.Mask(c.Suite), m.Mask(c.Name)
		c.Message, c.Details = m.Mask(c.Message), m.Mask(c.Details)
	}
}

// parseReport reads one report file, named in errors and in Report.File by its
// path relative to the source directory.
func (b *builder) parseReport(format, base, rel string) (*report.Report, error) {
	abs := filepath.Join(base, filepath.FromSlash(rel))
	name, err := filepath.Rel(b.workDir, abs)
	if err != nil {
		name = abs
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return report.ParseData(format, filepath.ToSlash(name), data)
}

func describeReport(r *report.Report) string {
	if t := r.Tests; t != nil {
		return fmt.Sprintf("%s: %d tests, %d passed, %d failed, %d skipped, %d errors", r.File, t.Total, t.Passed, t.Failed, t.Skipped, t.Errors)
	}
	c := r.Coverage
	return fmt.Sprintf("%s: line coverage %.1f%% (%d/%d), branch coverage %.1f%% (%d/%d)", r.File,
		100*c.LineRate, c.LinesCovered, c.LinesTotal, 100*c.BranchRate, c.BranchesCovered, c.BranchesTotal)
}

// maxNamedFailures is how many failed tests a failure message names.
const maxNamedFailures = 3

// testFailures names the failed tests of the reports, "" when none failed.
func testFailures(reports []report.Report) string {
	var parts []string
	for _, r := range reports {
		if !r.HasFailures() {
			continue
		}
		failed := r.Tests.FailedCases()
		var names []string
		for i, c := range failed {
			if i == maxNamedFailures {
				names = append(names, fmt.Sprintf("and %d more", len(failed)-maxNamedFailures))
				break
			}
			name := c.FullName()
			if c.Message != "" {
				name += ": " + c.Message
			}
			names = append(names, name)
		}
		parts = append(parts, fmt.Sprintf("report group %s (%s): %d of %d tests failed: %s",
			r.Group, r.File, len(failed), r.Tests.Total, strings.Join(names, "; ")))
	}
	return strings.Join(parts, "; ")
}
