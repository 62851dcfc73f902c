package console

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/report"
)

// testReportView is a test report as the action page shows it: failed and
// errored cases first, with where they failed.
type testReportView struct {
	Group, File, Format string
	Summary             *report.TestSummary
	Failed              []testCaseView
	Others              []testCaseView
}

// testCaseView is one test case and the file:line its output names.
type testCaseView struct {
	report.TestCase
	Location string
	Anchor   string
}

// coverageView is a coverage report beside the same report of the last
// successful execution before this one, packages that fell first.
type coverageView struct {
	Group, File string
	Now         *report.CoverageSummary
	Before      *report.CoverageSummary // nil: no earlier success reported it
	Packages    []packageDelta
}

// packageDelta is one package's line coverage now and before.
type packageDelta struct {
	report.PackageCoverage
	Before    float64
	HasBefore bool
	Fell      bool
	Delta     float64 // now - before, as a fraction
}

// locationPattern finds file:line in a failure's text: "api_test.go:42",
// "src/app/test_orders.py:17", "Foo.java:120".
var locationPattern = regexp.MustCompile(`(?:^|[\s(\[])((?:[\w.\-]+/)*[\w.\-]*\w\.[A-Za-z]\w{0,9}):(\d{1,7})\b`)

// location is the first file:line a failed case's message or details name
// ("" when none does).
func location(c report.TestCase) string {
	for _, text := range []string{c.Message, c.Details} {
		if m := locationPattern.FindStringSubmatch(text); m != nil {
			return m[1] + ":" + m[2]
		}
	}
	return ""
}

// testReportViewOf orders a test report's cases for people: failures first
// in report order, then the rest.
func testReportViewOf(r report.Report, index int) testReportView {
	v := testReportView{Group: r.Group, File: r.File, Format: r.Format, Summary: r.Tests}
	for i, tc := range r.Tests.Cases {
		cv := testCaseView{TestCase: tc, Anchor: anchor(index, i)}
		if tc.Status == report.StatusFailed || tc.Status == report.StatusError {
			cv.Location = location(tc)
			v.Failed = append(v.Failed, cv)
		} else {
			v.Others = append(v.Others, cv)
		}
	}
	return v
}

func anchor(report, tc int) string {
	return "r" + strconv.Itoa(report) + "-t" + strconv.Itoa(tc)
}

// coverageViewOf compares a coverage report with the same one of an earlier
// execution (nil when there is none).
func coverageViewOf(now report.Report, before *report.Report) coverageView {
	v := coverageView{Group: now.Group, File: now.File, Now: now.Coverage}
	prev := map[string]float64{}
	if before != nil && before.Coverage != nil {
		v.Before = before.Coverage
		for _, p := range before.Coverage.Packages {
			prev[p.Name] = p.LineRate
		}
	}
	for _, p := range now.Coverage.Packages {
		b, ok := prev[p.Name]
		d := packageDelta{PackageCoverage: p, Before: b, HasBefore: ok}
		if ok {
			d.Delta = p.LineRate - b
			d.Fell = d.Delta < -1e-9
		}
		v.Packages = append(v.Packages, d)
	}
	slices.SortStableFunc(v.Packages, func(a, b packageDelta) int {
		if a.Fell != b.Fell {
			if a.Fell {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Delta, b.Delta) * boolInt(a.Fell)
	})
	return v
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// matching finds the report of list with r's group and file, or its group.
func matching(list []report.Report, r report.Report) *report.Report {
	var byGroup *report.Report
	for i := range list {
		if list[i].Group == r.Group && list[i].Coverage != nil {
			if list[i].File == r.File {
				return &list[i]
			}
			byGroup = cmp.Or(byGroup, &list[i])
		}
	}
	return byGroup
}
