package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func (a *app) runCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one execution of the pipeline on the repository's HEAD",
		Long: `Run one execution of the pipeline, showing each stage and action live. Without
--auto-approve the execution waits at a manual approval until someone runs
greenlight approve (from any terminal). Exit status 0 only when the execution
succeeds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.revision, "revision", "", "commit or ref to run (default: the head of the source branch)")
	cmd.Flags().BoolVar(&opts.autoApprove, "auto-approve", false, "approve manual approvals as soon as they are requested")
	cmd.Flags().StringArrayVar(&opts.vars, "var", nil, "pipeline variable override NAME=VALUE (repeatable)")
	return cmd
}

type runOptions struct {
	revision    string
	autoApprove bool
	vars        []string
}

func (a *app) run(ctx context.Context, opts runOptions) error {
	vars, err := parseVars(opts.vars)
	if err != nil {
		return err
	}
	s, err := a.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	p := newPrinter(a.stdout, a.json)
	if err := s.ensureController(ctx); err != nil {
		return err
	}
	eng, err := s.engine(ctx)
	if err != nil {
		return err
	}
	if ids, err := eng.Recover(ctx); err != nil {
		return err
	} else if len(ids) > 0 && !a.json {
		p.line("resuming %d interrupted execution(s): %s", len(ids), strings.Join(ids, ", "))
	}
	id, err := eng.Start(ctx, pipeline.StartRequest{Trigger: pipeline.TriggerCLI, TriggerDetail: whoami(), Revision: opts.revision, Variables: vars})
	if err != nil {
		return err
	}
	st, err := a.follow(ctx, s, eng, p, id, opts.autoApprove)
	if err != nil {
		return err
	}
	if !st.Final() || st != pipeline.StatusSucceeded {
		return exitError{code: 1}
	}
	return nil
}

// follow drives an execution in this process and prints its events (and those of
// its deployments, which the controller writes) until it ends, then the summary.
func (a *app) follow(ctx context.Context, s *session, eng *pipeline.Engine, p *printer, id string, autoApprove bool) (pipeline.Status, error) {
	type result struct {
		st  pipeline.Status
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := eng.Run(ctx, id)
		done <- result{st, err}
	}()
	var res *result
	prog := newProgress(a.json, p, eng, id)
	onEvent := func(e event.Event) {
		p.event(e)
		prog.observe(e)
		if autoApprove && e.Kind == event.KindApproval && e.Status == string(pipeline.ApprovalNeeded) {
			if err := eng.Approve(ctx, id, e.Stage, e.Action, whoami()+" (--auto-approve)", "approved by greenlight run --auto-approve"); err != nil {
				p.line("auto-approve %s/%s: %v", e.Stage, e.Action, err)
			}
		}
	}
	err := tailFunc(ctx, s.db, event.Query{ExecutionID: id}, onEvent, func() bool {
		if res != nil {
			return true
		}
		prog.tick(ctx, time.Now())
		select {
		case r := <-done:
			res = &r
			return true
		default:
			return false
		}
	})
	if ctx.Err() != nil {
		p.line("interrupted: execution %s stays as recorded; `greenlight resume` continues it, `greenlight stop %s` ends it", id, id)
		return "", exitError{code: 130}
	}
	if err != nil {
		return "", err
	}
	if res.err != nil && !errors.Is(res.err, context.Canceled) {
		return "", res.err
	}
	view, err := eng.Execution(ctx, id)
	if err != nil {
		return "", err
	}
	a.printSummary(p, view)
	return view.Status, nil
}

// progress prints a line for long-running actions every progressEvery: how long
// they have run and the last line of their log.
type progress struct {
	quiet   bool
	p       *printer
	eng     *pipeline.Engine
	id      string
	running map[string]time.Time // stage/action -> started
	last    time.Time
}

const progressEvery = 10 * time.Second

func newProgress(quiet bool, p *printer, eng *pipeline.Engine, id string) *progress {
	return &progress{quiet: quiet, p: p, eng: eng, id: id, running: map[string]time.Time{}, last: time.Now()}
}

func (g *progress) observe(e event.Event) {
	if e.Kind != event.KindAction {
		return
	}
	key := e.Stage + "/" + e.Action
	if e.Status == string(pipeline.StatusInProgress) {
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
	view, err := g.eng.Execution(ctx, g.id)
	if err != nil {
		return
	}
	for _, st := range view.Stages {
		for _, act := range st.Actions {
			started, ok := g.running[st.Name+"/"+act.Name]
			if !ok || now.Sub(started) < progressEvery {
				continue
			}
			path, _ := g.eng.LogPath(ctx, g.id, st.Name, act.Name)
			line := lastLogLine(path)
			if act.Approval != nil && act.Approval.Status == pipeline.ApprovalNeeded {
				line = "waiting for approval: greenlight approve " + g.id + " --comment '...'"
			}
			g.p.line("%s      … %s/%s running %s: %s", now.Local().Format("15:04:05"), st.Name, act.Name, now.Sub(started).Round(time.Second), line)
		}
	}
}

// lastLogLine returns the last non-empty line of a log file (reading its tail).
func lastLogLine(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	const tailBytes = 4096
	offset := max(info.Size()-tailBytes, 0)
	buf := make([]byte, info.Size()-offset)
	if _, err := f.ReadAt(buf, offset); err != nil && !errors.Is(err, io.EOF) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(buf), "\n"), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 160 {
		line = line[:160] + "…"
	}
	return line
}

// tailFunc is tail with a callback per event.
func tailFunc(ctx context.Context, db *store.DB, filter event.Query, on func(event.Event), done func() bool) error {
	for {
		finished := done()
		evs, err := db.Events(ctx, filter)
		if err != nil {
			return err
		}
		for _, e := range evs {
			on(e)
			filter.AfterSeq = e.Seq
		}
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
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

func summarize(v *pipeline.ExecutionView) runSummary {
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

func (a *app) printSummary(p *printer, v *pipeline.ExecutionView) {
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
	if sum.StatusSummary != "" && sum.Status != string(pipeline.StatusSucceeded) {
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

func parseVars(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func whoami() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
