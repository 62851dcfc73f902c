package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func printStatus(t *testing.T, v *control.Execution, asJSON bool) string {
	t.Helper()
	var out bytes.Buffer
	a := &app{stdout: &out, json: asJSON}
	a.printExecution(newPrinter(&out, asJSON), v)
	return out.String()
}

// `greenlight status` names the ref that started an execution: a tag, not the
// source's branch.
func TestStatusNamesTheTagThatStartedTheExecution(t *testing.T) {
	v := &control.Execution{ExecutionSummary: control.ExecutionSummary{ID: "e1", Pipeline: "orders", Status: control.StatusSucceeded,
		Ref: "refs/tags/v1.2.0", Source: control.Revision{CommitID: "162af1c0ffee", Branch: "main", Message: "release"}, StartedAt: time.Now()}}
	if out := printStatus(t, v, false); !strings.Contains(out, "  revision 162af1c (tag v1.2.0) release\n") {
		t.Errorf("status of a tag's execution:\n%s", out)
	}
	v.Ref = ""
	if out := printStatus(t, v, false); !strings.Contains(out, "  revision 162af1c (main) release\n") {
		t.Errorf("status of an execution no ref started:\n%s", out)
	}
}

// `greenlight status` of an execution waiting in front of a stage says what it
// waits for, in text and JSON, with no trailing space.
func TestStatusSaysWhatAnExecutionWaitsFor(t *testing.T) {
	wait := &control.Wait{Stage: "Approval", HeldBy: "e0", Reason: "waiting for stage Approval, held by execution e0"}
	v := &control.Execution{ExecutionSummary: control.ExecutionSummary{ID: "e1", Pipeline: "orders", Status: control.StatusInProgress,
		Stage: "Approval", Waiting: true, Wait: wait, StartedAt: time.Now()}}
	out := printStatus(t, v, false)
	if first, _, _ := strings.Cut(out, "\n"); first != "execution e1 of orders: InProgress waiting for stage Approval, held by execution e0" {
		t.Errorf("first line %q", first)
	}
	var got struct {
		Wait *control.Wait `json:"wait"`
	}
	if err := json.Unmarshal([]byte(printStatus(t, v, true)), &got); err != nil || got.Wait == nil || *got.Wait != *wait {
		t.Errorf("status --json wait = %+v (%v), want %+v", got.Wait, err, wait)
	}
	v.Wait, v.Waiting = nil, false
	if first, _, _ := strings.Cut(printStatus(t, v, false), "\n"); first != "execution e1 of orders: InProgress" {
		t.Errorf("first line of a running execution %q: want no trailing space", first)
	}
}
