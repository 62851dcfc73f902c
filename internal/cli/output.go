package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// printer renders events: a line each for people, or one JSON object per line.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	json    bool
	started map[string]time.Time // when a stage/action/step began, for durations
}

func newPrinter(w io.Writer, asJSON bool) *printer {
	return &printer{w: w, json: asJSON, started: map[string]time.Time{}}
}

// object prints any value as one JSON line (JSON mode) .
func (p *printer) object(v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, _ := json.Marshal(v)
	fmt.Fprintln(p.w, string(b))
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

func (p *printer) event(e event.Event) {
	if p.json {
		p.object(e)
		return
	}
	if s := p.describe(e); s != "" {
		p.line("%s %s", e.Time.Local().Format("15:04:05"), s)
	}
}

// describe is the human line for an event ("" to skip it).
func (p *printer) describe(e event.Event) string {
	key := string(e.Kind) + "/" + e.Stage + "/" + e.Action + "/" + e.DeploymentID + "/" + e.Name
	took := ""
	if e.Status == "InProgress" || e.Status == "Started" {
		p.started[key] = e.Time
	} else if t, ok := p.started[key]; ok {
		took = " " + e.Time.Sub(t).Round(100*time.Millisecond).String()
		delete(p.started, key)
	}
	msg := ""
	if e.Message != "" {
		msg = ": " + e.Message
	}
	switch e.Kind {
	case event.KindExecution:
		return fmt.Sprintf("%s execution %s %s%s%s", mark(e.Status), short(e.ExecutionID), e.Status, took, msg)
	case event.KindStage:
		if e.Status == "InProgress" {
			return fmt.Sprintf("── %s", e.Stage)
		}
		return fmt.Sprintf("%s stage %s %s%s%s", mark(e.Status), e.Stage, e.Status, took, msg)
	case event.KindAction:
		if e.Status == "InProgress" {
			return fmt.Sprintf("   • %s started%s", e.Action, msg)
		}
		return fmt.Sprintf("   %s %s %s%s%s", mark(e.Status), e.Action, e.Status, took, msg)
	case event.KindApproval:
		if e.Status == "Needed" {
			return fmt.Sprintf("   ⏸ approval needed for %s/%s%s\n           approve: greenlight approve %s --comment '...'   reject: greenlight reject %s --comment '...'",
				e.Stage, e.Action, msg, e.ExecutionID, e.ExecutionID)
		}
		return fmt.Sprintf("   %s approval %s%s", mark(e.Status), strings.ToLower(e.Status), msg)
	case event.KindDeployment:
		return fmt.Sprintf("     %s deployment %s %s%s", mark(e.Status), e.DeploymentID, e.Status, msg)
	case event.KindLifecycle:
		if e.Status == "InProgress" || e.Status == "Pending" {
			return ""
		}
		return fmt.Sprintf("     %s %s %s%s%s", mark(e.Status), e.Name, e.Status, took, msg)
	case event.KindTraffic:
		return fmt.Sprintf("     ⇄ %s", e.Message)
	case event.KindAlarm:
		return fmt.Sprintf("     %s alarm %s %s%s", mark(e.Status), e.Name, e.Status, msg)
	case event.KindTask:
		return fmt.Sprintf("     ↻ %s", e.Message)
	case event.KindProgress:
		if e.DeploymentID != "" {
			return fmt.Sprintf("     … %s %s", e.DeploymentID, e.Message)
		}
		return fmt.Sprintf("     … %s%s", e.Action, msg)
	}
	return ""
}

func mark(status string) string {
	switch status {
	case "Succeeded", "Approved", "OK", "Baking":
		return "✔"
	case "Failed", "Rejected", "ALARM", "Stopped", "Abandoned":
		return "✘"
	case "Skipped", "Superseded", "INSUFFICIENT_DATA":
		return "·"
	case "InProgress", "Started", "Created", "Resumed":
		return "▶"
	}
	return "•"
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
