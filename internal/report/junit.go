package report

import (
	"strings"
)

// JUnit XML as surefire/Ant, pytest, PHPUnit (nested suites), go-junit-report and
// gotestsum write it: a <testsuites> or <testsuite> root.
type junitSuite struct {
	Name   string       `xml:"name,attr"`
	Time   string       `xml:"time,attr"`
	Suites []junitSuite `xml:"testsuite"`
	Cases  []junitCase  `xml:"testcase"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Class     string         `xml:"class,attr"`
	Time      string         `xml:"time,attr"`
	Failures  []junitProblem `xml:"failure"`
	Errors    []junitProblem `xml:"error"`
	Skipped   *junitProblem  `xml:"skipped"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func parseJUnit(data []byte) (*Report, error) {
	var root junitSuite
	name, err := decodeXML(data, map[string]any{"testsuites": &root, "testsuite": &root})
	if err != nil {
		return nil, err
	}
	suites := []junitSuite{root}
	total := seconds(root.Time)
	if name == "testsuites" {
		suites = root.Suites
		if total == 0 {
			for _, s := range suites {
				total += seconds(s.Time)
			}
		}
	}
	var cases []TestCase
	for _, s := range suites {
		cases = s.appendCases(cases)
	}
	return &Report{Tests: newTestSummary(cases, total)}, nil
}

func (s junitSuite) appendCases(cases []TestCase) []TestCase {
	for _, c := range s.Cases {
		cases = append(cases, c.testCase(s.Name))
	}
	for _, child := range s.Suites {
		cases = child.appendCases(cases)
	}
	return cases
}

func (c junitCase) testCase(suite string) TestCase {
	class := c.Classname
	if class == "" {
		class = c.Class
	}
	if class == "" {
		class = suite
	}
	tc := TestCase{Suite: class, Name: c.Name, Status: StatusSucceeded, Duration: seconds(c.Time)}
	var p *junitProblem
	switch {
	case len(c.Failures) > 0:
		tc.Status, p = StatusFailed, &c.Failures[0]
	case len(c.Errors) > 0:
		tc.Status, p = StatusError, &c.Errors[0]
	case c.Skipped != nil:
		tc.Status, p = StatusSkipped, c.Skipped
	}
	if p != nil {
		tc.Details = strings.TrimSpace(p.Text)
		// PHPUnit starts its text with the test's id; it says nothing.
		tc.Message = summaryMessage(p.Message, tc.Details, class+"::"+c.Name)
		if tc.Message == "" {
			tc.Message = p.Type
		}
	}
	return tc
}
