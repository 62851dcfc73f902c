// Package report owns reading test and code coverage report files into one model:
// JUnit XML (surefire/Ant, pytest, PHPUnit, go-junit-report and gotestsum flavours),
// Cucumber JSON, NUnit 2 and 3 XML, TestNG XML, Visual Studio TRX, `go test -json`
// streams for tests;
// Clover, Cobertura, JaCoCo, SimpleCov and `go test -coverprofile` files for
// coverage. Format names are CodeBuild's (manifest.Report* and manifest.Coverage*).
//
// A bad file is an error that says where: *ParseError carries file:line:column
// whenever the XML or JSON decoder gives an offset.
package report

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Report is one parsed report file of a report group.
type Report struct {
	Group    string           `json:"group"`
	Format   string           `json:"format"`
	File     string           `json:"file"`
	Tests    *TestSummary     `json:"tests,omitempty"`    // for test formats
	Coverage *CoverageSummary `json:"coverage,omitempty"` // for coverage formats
}

// TestSummary counts a test report's cases; Total = Passed+Failed+Skipped+Errors.
type TestSummary struct {
	Total    int           `json:"total"`
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	Skipped  int           `json:"skipped"`
	Errors   int           `json:"errors"`
	Duration time.Duration `json:"duration"`
	Cases    []TestCase    `json:"cases"`
}

// Test case statuses, as CodeBuild names them.
const (
	StatusSucceeded = "SUCCEEDED"
	StatusFailed    = "FAILED"
	StatusSkipped   = "SKIPPED"
	StatusError     = "ERROR"
)

// TestCase is one test of a report. Message is the one-line reason of a failure,
// error or skip; Details the full text (stack trace, output).
type TestCase struct {
	Suite    string        `json:"suite,omitempty"`
	Name     string        `json:"name"`
	Status   string        `json:"status"`
	Duration time.Duration `json:"duration"`
	Message  string        `json:"message,omitempty"`
	Details  string        `json:"details,omitempty"`
}

// CoverageSummary is a coverage report's totals and per-package figures. Rates are
// fractions in [0, 1]. For statement-based formats (Clover, Go) "lines" counts
// statements, as CodeBuild does for Clover.
type CoverageSummary struct {
	LineRate        float64           `json:"line_rate"`
	BranchRate      float64           `json:"branch_rate"`
	LinesCovered    int               `json:"lines_covered"`
	LinesTotal      int               `json:"lines_total"`
	BranchesCovered int               `json:"branches_covered"`
	BranchesTotal   int               `json:"branches_total"`
	Packages        []PackageCoverage `json:"packages,omitempty"`
}

// PackageCoverage is the line coverage of one package (or directory, for formats
// without packages).
type PackageCoverage struct {
	Name         string  `json:"name"`
	LinesCovered int     `json:"lines_covered"`
	LinesTotal   int     `json:"lines_total"`
	LineRate     float64 `json:"line_rate"`
}

// parserFor returns the parser of a format.
func parserFor(format string) (func(data []byte) (*Report, error), bool) {
	switch format {
	case manifest.ReportJUnitXML:
		return parseJUnit, true
	case manifest.ReportCucumberJSON:
		return parseCucumber, true
	case manifest.ReportNUnitXML, manifest.ReportNUnit3XML:
		return parseNUnit, true
	case manifest.ReportTestNGXML:
		return parseTestNG, true
	case manifest.ReportVisualStudio:
		return parseTRX, true
	case manifest.ReportGoTestJSON:
		return parseGoTestJSON, true
	case manifest.CoverageClover:
		return parseClover, true
	case manifest.CoverageCobertura:
		return parseCobertura, true
	case manifest.CoverageJaCoCo:
		return parseJaCoCo, true
	case manifest.CoverageSimpleCov:
		return parseSimpleCov, true
	case manifest.CoverageGoCover:
		return parseGoCover, true
	}
	return nil, false
}

// Formats returns the format names Parse accepts.
func Formats() []string {
	return []string{
		manifest.ReportJUnitXML, manifest.ReportCucumberJSON, manifest.ReportNUnitXML,
		manifest.ReportNUnit3XML, manifest.ReportTestNGXML, manifest.ReportVisualStudio, manifest.ReportGoTestJSON,
		manifest.CoverageClover, manifest.CoverageCobertura, manifest.CoverageJaCoCo,
		manifest.CoverageSimpleCov, manifest.CoverageGoCover,
	}
}

// IsCoverage reports whether format is a code coverage format.
func IsCoverage(format string) bool {
	switch format {
	case manifest.CoverageClover, manifest.CoverageCobertura, manifest.CoverageJaCoCo,
		manifest.CoverageSimpleCov, manifest.CoverageGoCover:
		return true
	}
	return false
}

// Parse reads the report file at path in the given format (a manifest.Report* or
// manifest.Coverage* constant; "" means JUNITXML, as in CodeBuild).
func Parse(format, path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s report: %w", formatOrDefault(format), err)
	}
	return ParseData(format, path, data)
}

// ParseData parses data as a report file named name (used in errors and Report.File).
func ParseData(format, name string, data []byte) (*Report, error) {
	format = formatOrDefault(format)
	parse, ok := parserFor(format)
	if !ok {
		return nil, fmt.Errorf("%s: unknown report format %q (allowed: %s)", name, format, strings.Join(Formats(), ", "))
	}
	r, err := parse(data)
	if err != nil {
		return nil, withFile(err, name, format, data)
	}
	r.Format, r.File = format, name
	return r, nil
}

func formatOrDefault(format string) string {
	if format == "" {
		return manifest.ReportJUnitXML
	}
	return format
}

// FailedCases returns the cases that failed or errored, in report order.
func (s *TestSummary) FailedCases() []TestCase {
	var failed []TestCase
	for _, c := range s.Cases {
		if c.Status == StatusFailed || c.Status == StatusError {
			failed = append(failed, c)
		}
	}
	return failed
}

// HasFailures reports whether a test report has failed or errored cases.
func (r *Report) HasFailures() bool {
	return r.Tests != nil && r.Tests.Failed+r.Tests.Errors > 0
}

// FullName is the case's suite and name as one string, for messages.
func (c TestCase) FullName() string {
	if c.Suite == "" {
		return c.Name
	}
	return c.Suite + "." + c.Name
}
