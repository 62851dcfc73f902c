package report

import (
	"encoding/json"
	"strings"
	"time"
)

// Cucumber JSON (cucumber-ruby, cucumber-jvm, cucumber-js <= 7): an array of
// features, each with scenarios whose steps carry a result. Backgrounds are
// separate elements that belong to the scenario after them.
type cucumberFeature struct {
	URI      string            `json:"uri"`
	Name     string            `json:"name"`
	Elements []cucumberElement `json:"elements"`
}

type cucumberElement struct {
	Name    string         `json:"name"`
	Keyword string         `json:"keyword"`
	Type    string         `json:"type"`
	Before  []cucumberStep `json:"before"`
	Steps   []cucumberStep `json:"steps"`
	After   []cucumberStep `json:"after"`
}

type cucumberStep struct {
	Keyword string `json:"keyword"`
	Name    string `json:"name"`
	Result  struct {
		Status       string  `json:"status"`
		Duration     float64 `json:"duration"` // nanoseconds
		ErrorMessage string  `json:"error_message"`
	} `json:"result"`
}

func parseCucumber(data []byte) (*Report, error) {
	var features []cucumberFeature
	if err := json.Unmarshal(data, &features); err != nil {
		return nil, jsonError(err)
	}
	var cases []TestCase
	for _, f := range features {
		suite := f.Name
		if suite == "" {
			suite = f.URI
		}
		var background []cucumberStep
		for _, e := range f.Elements {
			if e.Type == "background" {
				background = e.Steps
				continue
			}
			steps := append(append(append(append([]cucumberStep{}, e.Before...), background...), e.Steps...), e.After...)
			background = nil
			cases = append(cases, scenarioCase(suite, e.Name, steps))
		}
	}
	return &Report{Tests: newTestSummary(cases, 0)}, nil
}

func scenarioCase(suite, name string, steps []cucumberStep) TestCase {
	tc := TestCase{Suite: suite, Name: name, Status: StatusSucceeded}
	var worst *cucumberStep
	for i := range steps {
		s := &steps[i]
		tc.Duration += time.Duration(max(s.Result.Duration, 0))
		if worst == nil || stepSeverity(s.Result.Status) > stepSeverity(worst.Result.Status) {
			worst = s
		}
	}
	if worst == nil {
		return tc
	}
	step := strings.TrimSpace(worst.Keyword + worst.Name)
	switch stepSeverity(worst.Result.Status) {
	case 3:
		tc.Status = StatusFailed
		tc.Message = summaryMessage(worst.Result.ErrorMessage, "")
		tc.Details = step + ": " + strings.TrimSpace(worst.Result.ErrorMessage)
	case 2:
		tc.Status = StatusError
		tc.Message = "ambiguous step: " + step
		tc.Details = strings.TrimSpace(worst.Result.ErrorMessage)
	case 1:
		tc.Status = StatusSkipped
		tc.Message = worst.Result.Status + " step: " + step
	}
	return tc
}

func stepSeverity(status string) int {
	switch status {
	case "failed":
		return 3
	case "ambiguous":
		return 2
	case "passed":
		return 0
	}
	return 1 // skipped, pending, undefined
}
