package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

func TestPrinterSaysWhatHappenedWithDurations(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(&out, false)
	t0 := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	for _, e := range []event.Event{
		{Time: t0, Kind: event.KindAction, Stage: "Build", Action: "Build", Status: "InProgress"},
		{Time: t0.Add(12300 * time.Millisecond), Kind: event.KindAction, Stage: "Build", Action: "Build", Status: "Succeeded", Message: "3 tests"},
		{Time: t0, Kind: event.KindApproval, ExecutionID: "exec-1", Stage: "Approval", Action: "Review", Status: "Needed", Message: "check staging"},
		{Time: t0, Kind: event.KindAlarm, Name: "error-rate", Status: "ALARM", Message: "Threshold Crossed"},
		{Time: t0, Kind: event.KindLifecycle, Name: "Install", Status: "InProgress"},
	} {
		p.event(e)
	}
	got := out.String()
	for _, want := range []string{"✔ Build Succeeded 12.3s: 3 tests", "greenlight approve exec-1", "✘ alarm error-rate ALARM: Threshold Crossed"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Install") {
		t.Errorf("a lifecycle step that only started is printed:\n%s", got)
	}
}

func TestPrinterJSONIsOneObjectPerLine(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(&out, true)
	p.event(event.Event{Time: time.Now(), Kind: event.KindExecution, Status: "Succeeded", ExecutionID: "e"})
	p.object(runSummary{Kind: "summary", Status: "Succeeded"})
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	for _, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Errorf("not JSON: %q: %v", l, err)
		}
	}
}

func TestLastLineIsTheLastLineWithText(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		b.WriteString(strings.Repeat("x", 10) + " line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString("compiling orders-service\n\n")
	if got := lastLine(b.String()); got != "compiling orders-service" {
		t.Errorf("last line %q", got)
	}
	if got := lastLine(""); got != "" {
		t.Errorf("no text: %q", got)
	}
	if got := lastLine(strings.Repeat("y", 500)); len(got) != 160+len("…") {
		t.Errorf("a long line is not cut: %d bytes", len(got))
	}
}

func TestCompleteLinesLeavesALineBeingWrittenForLater(t *testing.T) {
	lines, consumed := completeLines("one\ntwo\nthr")
	if !reflect.DeepEqual(lines, []string{"one", "two"}) || consumed != len("one\ntwo\n") {
		t.Fatalf("got %q, %d", lines, consumed)
	}
	if lines, consumed := completeLines("thr"); lines != nil || consumed != 0 {
		t.Fatalf("partial line: %q, %d", lines, consumed)
	}
}
