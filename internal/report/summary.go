package report

import (
	"strconv"
	"strings"
	"time"
)

// newTestSummary counts cases by status. Duration is the report's own total when
// it has one (> 0), else the sum of the cases.
func newTestSummary(cases []TestCase, duration time.Duration) *TestSummary {
	s := &TestSummary{Total: len(cases), Cases: cases}
	var sum time.Duration
	for _, c := range cases {
		sum += c.Duration
		switch c.Status {
		case StatusSucceeded:
			s.Passed++
		case StatusFailed:
			s.Failed++
		case StatusSkipped:
			s.Skipped++
		case StatusError:
			s.Errors++
		}
	}
	s.Duration = duration
	if duration <= 0 {
		s.Duration = sum
	}
	return s
}

// seconds parses a duration in seconds as test tools write it ("0.012", "1,234.5").
// Garbage is zero: a bad timing must not lose a test result.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), ",", ""), 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

func milliseconds(s string) time.Duration {
	return seconds(s) / 1000
}

// rate is covered/total, 0 when there is nothing to cover.
func rate(covered, total int) float64 {
	if total <= 0 {
		return 0
	}
	return float64(min(covered, total)) / float64(total)
}

// summaryMessage is the one-line reason of a failure: the first telling line of
// the tool's message, else of the details. Runner chatter ("=== RUN", "--- FAIL",
// a bare "Failed") and the lines in skip say nothing.
func summaryMessage(message, details string, skip ...string) string {
	for _, text := range []string{message, details} {
		for _, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || line == "Failed" || strings.HasPrefix(line, "=== ") ||
				strings.HasPrefix(line, "--- ") || contains(skip, line) {
				continue
			}
			return line
		}
	}
	return firstLine(message)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
