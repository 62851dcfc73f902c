package report

import "strings"

// NUnit 2 (<test-results>, suites nest through <results>) and NUnit 3
// (<test-run>, suites nest directly) result files; either is accepted for
// NUNITXML and NUNIT3XML.
type nunitRoot struct {
	Duration string       `xml:"duration,attr"` // NUnit 3
	Suites   []nunitSuite `xml:"test-suite"`
}

type nunitSuite struct {
	Type     string       `xml:"type,attr"`
	Name     string       `xml:"name,attr"`
	FullName string       `xml:"fullname,attr"`
	Time     string       `xml:"time,attr"`
	Duration string       `xml:"duration,attr"`
	Suites   []nunitSuite `xml:"test-suite"`
	Cases    []nunitCase  `xml:"test-case"`
	Results  struct {
		Suites []nunitSuite `xml:"test-suite"`
		Cases  []nunitCase  `xml:"test-case"`
	} `xml:"results"`
}

type nunitCase struct {
	Name      string `xml:"name,attr"`
	FullName  string `xml:"fullname,attr"`
	ClassName string `xml:"classname,attr"`
	Result    string `xml:"result,attr"`
	Label     string `xml:"label,attr"`
	Executed  string `xml:"executed,attr"`
	Time      string `xml:"time,attr"`
	Duration  string `xml:"duration,attr"`
	Failure   struct {
		Message    string `xml:"message"`
		StackTrace string `xml:"stack-trace"`
	} `xml:"failure"`
	Reason struct {
		Message string `xml:"message"`
	} `xml:"reason"`
}

func parseNUnit(data []byte) (*Report, error) {
	var root nunitRoot
	if _, err := decodeXML(data, map[string]any{"test-results": &root, "test-run": &root}); err != nil {
		return nil, err
	}
	total := seconds(root.Duration)
	var cases []TestCase
	for _, s := range root.Suites {
		if root.Duration == "" {
			total += seconds(s.Time)
		}
		cases = s.appendCases(cases, "")
	}
	return &Report{Tests: newTestSummary(cases, total)}, nil
}

// appendCases walks the suite tree; prefix is the dotted name of the enclosing
// namespaces and fixture (NUnit 2 names suites by their last segment only).
func (s nunitSuite) appendCases(cases []TestCase, prefix string) []TestCase {
	fixture := prefix
	switch s.Type {
	case "Namespace", "TestFixture", "ParameterizedFixture", "GenericFixture", "SetUpFixture":
		fixture = strings.TrimPrefix(prefix+"."+s.Name, ".")
		if s.FullName != "" {
			fixture = s.FullName
		}
	}
	for _, c := range append(append([]nunitCase{}, s.Cases...), s.Results.Cases...) {
		cases = append(cases, c.testCase(fixture))
	}
	for _, child := range append(append([]nunitSuite{}, s.Suites...), s.Results.Suites...) {
		cases = child.appendCases(cases, fixture)
	}
	return cases
}

func (c nunitCase) testCase(fixture string) TestCase {
	suite := c.ClassName
	if suite == "" {
		suite = fixture
	}
	name := strings.TrimPrefix(c.Name, suite+".")
	d := seconds(c.Duration)
	if c.Duration == "" {
		d = seconds(c.Time)
	}
	tc := TestCase{Suite: suite, Name: name, Status: nunitStatus(c), Duration: d}
	switch tc.Status {
	case StatusFailed, StatusError:
		tc.Details = strings.TrimSpace(strings.TrimSpace(c.Failure.Message) + "\n" + strings.TrimSpace(c.Failure.StackTrace))
		tc.Message = summaryMessage(c.Failure.Message, tc.Details)
	case StatusSkipped:
		tc.Message = firstLine(c.Reason.Message)
	}
	return tc
}

func nunitStatus(c nunitCase) string {
	switch c.Result {
	case "Success", "Passed", "Warning":
		return StatusSucceeded
	case "Failure":
		return StatusFailed
	case "Failed":
		switch c.Label {
		case "Error", "Invalid", "Cancelled":
			return StatusError
		}
		return StatusFailed
	case "Error", "NotRunnable", "Cancelled":
		return StatusError
	case "Ignored", "Skipped", "Inconclusive", "Explicit":
		return StatusSkipped
	}
	if strings.EqualFold(c.Executed, "false") {
		return StatusSkipped
	}
	return StatusError
}
