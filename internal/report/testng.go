package report

import (
	"strings"
	"time"
)

// TestNG's testng-results.xml.
type testngRoot struct {
	Suites []struct {
		DurationMs string `xml:"duration-ms,attr"`
		Tests      []struct {
			Classes []struct {
				Name    string         `xml:"name,attr"`
				Methods []testngMethod `xml:"test-method"`
			} `xml:"class"`
		} `xml:"test"`
	} `xml:"suite"`
}

type testngMethod struct {
	Name       string `xml:"name,attr"`
	Status     string `xml:"status,attr"`
	IsConfig   string `xml:"is-config,attr"`
	DurationMs string `xml:"duration-ms,attr"`
	Exception  *struct {
		Class   string `xml:"class,attr"`
		Message string `xml:"message"`
		Stack   string `xml:"full-stacktrace"`
	} `xml:"exception"`
}

func parseTestNG(data []byte) (*Report, error) {
	var root testngRoot
	if _, err := decodeXML(data, map[string]any{"testng-results": &root}); err != nil {
		return nil, err
	}
	var cases []TestCase
	var total time.Duration
	for _, suite := range root.Suites {
		total += milliseconds(suite.DurationMs)
		for _, test := range suite.Tests {
			for _, class := range test.Classes {
				for _, m := range class.Methods {
					if tc, ok := m.testCase(class.Name); ok {
						cases = append(cases, tc)
					}
				}
			}
		}
	}
	return &Report{Tests: newTestSummary(cases, total)}, nil
}

// testCase maps a test method; configuration methods (@Before..., @After...) are
// not tests and count only when they fail, as errors: their failure is why the
// tests after them were skipped.
func (m testngMethod) testCase(class string) (TestCase, bool) {
	tc := TestCase{Suite: class, Name: m.Name, Duration: milliseconds(m.DurationMs)}
	config := m.IsConfig == "true"
	switch m.Status {
	case "PASS":
		tc.Status = StatusSucceeded
	case "FAIL":
		tc.Status = StatusFailed
		if config {
			tc.Status = StatusError
		}
	default:
		tc.Status = StatusSkipped
	}
	if config && tc.Status != StatusError {
		return tc, false
	}
	if m.Exception != nil && tc.Status != StatusSucceeded {
		tc.Details = strings.TrimSpace(m.Exception.Stack)
		tc.Message = summaryMessage(m.Exception.Message, tc.Details)
		if tc.Message == "" {
			tc.Message = m.Exception.Class
		}
	}
	return tc, true
}
