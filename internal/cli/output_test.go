package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
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

func TestLastLogLineReadsOnlyTheTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "build.log")
	var b strings.Builder
	for i := range 2000 {
		b.WriteString(strings.Repeat("x", 10) + " line " + string(rune('a'+i%26)) + "\n")
	}
	b.WriteString("compiling orders-service\n\n")
	os.WriteFile(path, []byte(b.String()), 0o644)
	if got := lastLogLine(path); got != "compiling orders-service" {
		t.Errorf("last line %q", got)
	}
	if got := lastLogLine(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

func TestPrintNewLinesPrintsOnlyCompleteLinesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	os.WriteFile(path, []byte("one\ntwo\nthr"), 0o644)
	var out bytes.Buffer
	a := &app{stdout: &out}
	off := a.printNewLines(path, 0, "Build/Build")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("ee\n")
	f.Close()
	a.printNewLines(path, off, "Build/Build")
	if got, want := out.String(), "[Build/Build] one\n[Build/Build] two\n[Build/Build] three\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
