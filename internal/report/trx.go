package report

import (
	"strconv"
	"strings"
	"time"
)

// Visual Studio TRX (dotnet test --logger trx): results hold outcomes, test
// definitions hold the class of each test.
type trxRun struct {
	Results     []trxResult `xml:"Results>UnitTestResult"`
	Definitions []struct {
		ID     string `xml:"id,attr"`
		Method struct {
			ClassName string `xml:"className,attr"`
		} `xml:"TestMethod"`
	} `xml:"TestDefinitions>UnitTest"`
	Times struct {
		Start  string `xml:"start,attr"`
		Finish string `xml:"finish,attr"`
	} `xml:"Times"`
}

type trxResult struct {
	TestID   string `xml:"testId,attr"`
	TestName string `xml:"testName,attr"`
	Outcome  string `xml:"outcome,attr"`
	Duration string `xml:"duration,attr"` // hh:mm:ss.fffffff
	Output   struct {
		Message    string `xml:"ErrorInfo>Message"`
		StackTrace string `xml:"ErrorInfo>StackTrace"`
		StdOut     string `xml:"StdOut"`
	} `xml:"Output"`
}

func parseTRX(data []byte) (*Report, error) {
	var run trxRun
	if _, err := decodeXML(data, map[string]any{"TestRun": &run}); err != nil {
		return nil, err
	}
	classes := map[string]string{}
	for _, d := range run.Definitions {
		classes[d.ID] = d.Method.ClassName
	}
	var cases []TestCase
	for _, r := range run.Results {
		suite := classes[r.TestID]
		tc := TestCase{Suite: suite, Name: strings.TrimPrefix(r.TestName, suite+"."), Status: trxStatus(r.Outcome), Duration: clockDuration(r.Duration)}
		if tc.Status != StatusSucceeded {
			tc.Details = strings.TrimSpace(strings.TrimSpace(r.Output.Message) + "\n" + strings.TrimSpace(r.Output.StackTrace))
			tc.Message = summaryMessage(r.Output.Message, tc.Details)
		}
		cases = append(cases, tc)
	}
	var total time.Duration
	start, err1 := time.Parse(time.RFC3339Nano, run.Times.Start)
	finish, err2 := time.Parse(time.RFC3339Nano, run.Times.Finish)
	if err1 == nil && err2 == nil && finish.After(start) {
		total = finish.Sub(start)
	}
	return &Report{Tests: newTestSummary(cases, total)}, nil
}

func trxStatus(outcome string) string {
	switch outcome {
	case "Passed", "PassedButRunAborted", "Warning":
		return StatusSucceeded
	case "Failed":
		return StatusFailed
	case "NotExecuted", "Inconclusive", "Pending", "NotRunnable", "Disconnected":
		return StatusSkipped
	}
	return StatusError // Error, Timeout, Aborted, InProgress, Completed
}

// clockDuration parses "hh:mm:ss.fffffff"; garbage is zero.
func clockDuration(s string) time.Duration {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) != 3 {
		return 0
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || h > 1e6 {
		return 0
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + seconds(parts[2])
}
