package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// follow prints an execution's events (and those of its deployments, which the
// controller writes) until it ends, then the summary. It works the same on every
// backend: everything comes through the control surface. With autoApprove it
// approves each approval as it is requested.
func (a *app) follow(ctx context.Context, b control.Backend, p *printer, id string, autoApprove bool) (control.ExecutionStatus, error) {
	prog := newProgress(a.json, p, b, id)
	watch := newDriverWatch(b, id)
	ended := false
	onEvent := func(e event.Event) {
		p.event(e)
		prog.observe(e)
		if e.Kind == event.KindExecution && e.ExecutionID == id && control.ExecutionStatus(e.Status).Final() {
			ended = true
		}
		if autoApprove && e.Kind == event.KindApproval && e.Status == string(control.ApprovalNeeded) {
			d := control.Decision{ExecutionID: id, Stage: e.Stage, Action: e.Action, Approve: true,
				Who: whoami() + " (--auto-approve)", Comment: "approved by greenlight run --auto-approve"}
			if err := b.Decide(ctx, d); err != nil {
				p.line("auto-approve %s/%s: %v", e.Stage, e.Action, err)
			}
		}
	}
	var driverErr error
	err := control.Tail(ctx, b, event.Query{ExecutionID: id}, 0, onEvent, func() bool {
		prog.tick(ctx, time.Now())
		if !ended {
			ended, driverErr = watch.check(ctx)
		}
		return ended
	})
	if ctx.Err() != nil {
		p.line("interrupted: execution %s stays as recorded; `greenlight resume` continues it, `greenlight stop %s` ends it", id, id)
		return "", exitError{code: 130}
	}
	if err == nil {
		err = driverErr
	}
	if err != nil {
		return "", err
	}
	view, err := b.GetExecution(ctx, id)
	if err != nil {
		return "", err
	}
	a.printSummary(p, view)
	return view.Status, nil
}

// driverWatch notices an execution nobody drives any more (its driver ended with
// an error, said on stderr): following it would wait forever.
type driverWatch struct {
	b    control.Backend
	id   string
	last time.Time
}

func newDriverWatch(b control.Backend, id string) *driverWatch {
	return &driverWatch{b: b, id: id, last: time.Now()}
}

const driverCheckEvery = time.Second

// check reports whether following must end: the execution is final, or not
// driven by any process.
func (w *driverWatch) check(ctx context.Context) (bool, error) {
	if time.Since(w.last) < driverCheckEvery {
		return false, nil
	}
	w.last = time.Now()
	v, err := w.b.GetExecution(ctx, w.id)
	switch {
	case err != nil:
		return false, nil // a read that failed now may work on the next poll
	case v.Status.Final():
		return true, nil
	case v.OwnerPID == 0 && v.OwnerHost == "":
		return true, fmt.Errorf("execution %s is %s and no process drives it any more; `greenlight resume` continues it", w.id, v.Status)
	}
	return false, nil
}

// progress prints a line for long-running actions every progressEvery: how long
// they have run and the last line of their log.
type progress struct {
	quiet   bool
	p       *printer
	b       control.Backend
	id      string
	running map[string]time.Time // stage/action -> started
	last    time.Time
}

const progressEvery = 10 * time.Second

func newProgress(quiet bool, p *printer, b control.Backend, id string) *progress {
	return &progress{quiet: quiet, p: p, b: b, id: id, running: map[string]time.Time{}, last: time.Now()}
}

func (g *progress) observe(e event.Event) {
	if e.Kind != event.KindAction {
		return
	}
	key := e.Stage + "/" + e.Action
	if e.Status == string(control.StatusInProgress) {
		g.running[key] = e.Time
	} else {
		delete(g.running, key)
	}
}

func (g *progress) tick(ctx context.Context, now time.Time) {
	if g.quiet || len(g.running) == 0 || now.Sub(g.last) < progressEvery {
		return
	}
	g.last = now
	view, err := g.b.GetExecution(ctx, g.id)
	if err != nil {
		return
	}
	for _, st := range view.Stages {
		for _, act := range st.Actions {
			started, ok := g.running[st.Name+"/"+act.Name]
			if !ok || now.Sub(started) < progressEvery {
				continue
			}
			line := g.logTail(ctx, control.ActionRef{ExecutionID: g.id, Stage: st.Name, Action: act.Name})
			if act.Approval != nil && act.Approval.Status == control.ApprovalNeeded {
				line = "waiting for approval: greenlight approve " + g.id + " --comment '...'"
			}
			g.p.line("%s      … %s/%s running %s: %s", now.Local().Format("15:04:05"), st.Name, act.Name, now.Sub(started).Round(time.Second), line)
		}
	}
}

// logTail is the last line of an action's log (reading its last 4 KiB).
func (g *progress) logTail(ctx context.Context, ref control.ActionRef) string {
	c, err := g.b.ReadLog(ctx, control.LogRequest{ActionRef: ref, Offset: -4096})
	if err != nil {
		return ""
	}
	return lastLine(c.Text)
}

// runSummary is the last line of `run --json`.
type runSummary struct {
	Kind          string         `json:"kind"` // "summary"
	ExecutionID   string         `json:"execution_id"`
	Status        string         `json:"status"`
	StatusSummary string         `json:"status_summary,omitempty"`
	Revision      string         `json:"revision"`
	Started       time.Time      `json:"started"`
	Ended         time.Time      `json:"ended"`
	DurationMS    int64          `json:"duration_ms"`
	Stages        []stageSummary `json:"stages"`
	StagingURL    string         `json:"staging_url,omitempty"`
	ProductionURL string         `json:"production_url,omitempty"`
	Deployments   []string       `json:"deployments,omitempty"`
}

type stageSummary struct {
	Name       string `json:"name"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
}

func summarize(v *control.Execution) runSummary {
	sum := runSummary{Kind: "summary", ExecutionID: v.ID, Status: string(v.Status), StatusSummary: v.StatusSummary,
		Revision: v.Source.CommitID, Started: v.StartedAt, Ended: v.EndedAt, DurationMS: v.EndedAt.Sub(v.StartedAt).Milliseconds()}
	for _, st := range v.Stages {
		ss := stageSummary{Name: st.Name, Status: string(st.Status)}
		if !st.EndedAt.IsZero() {
			ss.DurationMS = st.EndedAt.Sub(st.StartedAt).Milliseconds()
		}
		sum.Stages = append(sum.Stages, ss)
		for _, act := range st.Actions {
			switch act.Provider {
			case manifest.ProviderECS:
				sum.StagingURL = act.ExternalURL
			case manifest.ProviderCodeDeployToECS:
				sum.ProductionURL = act.ExternalURL
			}
			if id, ok := act.Data["deployment_id"].(string); ok {
				sum.Deployments = append(sum.Deployments, id)
			}
		}
	}
	return sum
}

func (a *app) printSummary(p *printer, v *control.Execution) {
	sum := summarize(v)
	if a.json {
		p.object(sum)
		return
	}
	p.line("")
	p.line("%s %s in %s — revision %s", mark(sum.Status), sum.Status, time.Duration(sum.DurationMS)*time.Millisecond, short7(sum.Revision))
	for _, st := range sum.Stages {
		p.line("   %-18s %-11s %s", st.Name, orDash(st.Status), time.Duration(st.DurationMS)*time.Millisecond)
	}
	if sum.StatusSummary != "" && sum.Status != string(control.StatusSucceeded) {
		p.line("   %s", sum.StatusSummary)
	}
	if sum.StagingURL != "" {
		p.line("   staging:    %s", sum.StagingURL)
	}
	if sum.ProductionURL != "" {
		p.line("   production: %s", sum.ProductionURL)
	}
}

func short7(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
