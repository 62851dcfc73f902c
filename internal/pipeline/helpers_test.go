package pipeline_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// eventually is how long tests wait for conditions that other goroutines or
// processes bring about: generous, for a loaded two-core machine.
const eventually = 60 * time.Second

// --- definitions ---

func definition(mode string, stages ...*manifest.Stage) *manifest.Definition {
	return &manifest.Definition{Version: 1, Pipeline: &manifest.Pipeline{Name: "orders", ExecutionMode: mode, Stages: stages}}
}

func stage(name string, actions ...*manifest.Action) *manifest.Stage {
	return &manifest.Stage{Name: name, Actions: actions}
}

func action(name, provider string, runOrder int, opts ...func(*manifest.Action)) *manifest.Action {
	a := &manifest.Action{Name: name, Category: manifest.CategoryBuild, Provider: provider, RunOrder: runOrder}
	for _, o := range opts {
		o(a)
	}
	return a
}

func outputs(names ...string) func(*manifest.Action) {
	return func(a *manifest.Action) { a.OutputArtifacts = names }
}

func inputs(names ...string) func(*manifest.Action) {
	return func(a *manifest.Action) { a.InputArtifacts = names }
}

func namespace(ns string) func(*manifest.Action) {
	return func(a *manifest.Action) { a.Namespace = ns }
}

func config(kv ...string) func(*manifest.Action) {
	return func(a *manifest.Action) {
		a.Configuration = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			a.Configuration[kv[i]] = kv[i+1]
		}
	}
}

func category(c string) func(*manifest.Action) {
	return func(a *manifest.Action) { a.Category = c }
}

func approval(name string) *manifest.Action {
	return &manifest.Action{Name: name, Category: manifest.CategoryApproval, Provider: manifest.ProviderManual,
		Configuration: map[string]string{"CustomData": "check staging", "ExternalEntityLink": "http://127.0.0.1:1/staging"}}
}

// --- engines ---

type harness struct {
	t        *testing.T
	def      *manifest.Definition
	dbPath   string
	stateDir string
	fake     *fake
	events   *event.Recorder
	engine   *pipeline.Engine
}

// newHarness makes a state directory and an engine on it; opts adjust the
// engine's options.
func newHarness(t *testing.T, def *manifest.Definition, opts ...func(*pipeline.Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, def: def, dbPath: filepath.Join(dir, "state.db"), stateDir: dir, fake: newFake(), events: &event.Recorder{}}
	h.engine = h.newEngine(h.fake, h.events, opts...)
	return h
}

// newEngine opens another Engine on the same state file, as another process would.
func (h *harness) newEngine(p pipeline.Provider, events event.Sink, opts ...func(*pipeline.Options)) *pipeline.Engine {
	h.t.Helper()
	db, err := store.Open(context.Background(), h.dbPath)
	if err != nil {
		h.t.Fatalf("open state: %v", err)
	}
	h.t.Cleanup(func() { db.Close() })
	o := pipeline.Options{
		StateDir:          h.stateDir,
		Providers:         map[string]pipeline.Provider{"Fake": p},
		Events:            events,
		PollInterval:      20 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		Processes:         procfs.Table{},
	}
	for _, f := range opts {
		f(&o)
	}
	return pipeline.New(h.def, db.Pipelines(), o)
}

func (h *harness) start(req pipeline.StartRequest) string {
	h.t.Helper()
	id, err := h.engine.Start(context.Background(), req)
	if err != nil {
		h.t.Fatalf("start: %v", err)
	}
	return id
}

// runAsync runs an execution in the background; the channel yields its result.
func (h *harness) runAsync(id string) <-chan runResult {
	ch := make(chan runResult, 1)
	go func() {
		st, err := h.engine.Run(context.Background(), id)
		ch <- runResult{st, err}
	}()
	return ch
}

type runResult struct {
	status pipeline.Status
	err    error
}

func (h *harness) await(ch <-chan runResult, want pipeline.Status) {
	h.t.Helper()
	select {
	case r := <-ch:
		if r.err != nil || r.status != want {
			h.t.Fatalf("run ended with %q, %v; want %q", r.status, r.err, want)
		}
	case <-time.After(eventually):
		h.t.Fatalf("run did not end within %s (want %s)", eventually, want)
	}
}

func (h *harness) view(id string) *pipeline.ExecutionView {
	h.t.Helper()
	v, err := h.engine.Execution(context.Background(), id)
	if err != nil {
		h.t.Fatalf("view %s: %v", id, err)
	}
	return v
}

func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) waitApprovalNeeded(id, stage, action string) {
	h.t.Helper()
	h.waitFor(id+" approval needed", func() bool {
		a := findAction(h.view(id), stage, action)
		return a != nil && a.Approval != nil && a.Approval.Status == pipeline.ApprovalNeeded
	})
}

func (h *harness) waitWaitingAt(id, stage string) {
	h.t.Helper()
	h.waitFor(id+" waiting at "+stage, func() bool {
		v := h.view(id)
		return v.Waiting && v.Stage == stage && v.Status == pipeline.StatusInProgress
	})
}

func findAction(v *pipeline.ExecutionView, stage, action string) *pipeline.ActionView {
	return v.Action(stage, action)
}

func findStage(v *pipeline.ExecutionView, stage string) *pipeline.StageView {
	for i := range v.Stages {
		if v.Stages[i].Name == stage {
			return &v.Stages[i]
		}
	}
	return nil
}

// --- the scriptable fake provider ---

type script func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error)

// call is one Run of the fake; Seq numbers order starts and ends globally.
type call struct {
	Exec, Stage, Action string
	Attempt             int
	ExternalID          string
	Config              map[string]string
	Inputs, Outputs     []pipeline.Artifact
	Source              pipeline.Revision
	StartSeq, EndSeq    int
}

type fake struct {
	mu      sync.Mutex
	seq     int
	calls   []*call
	scripts map[string]script // by action name
	gates   map[string]chan struct{}
}

func newFake() *fake {
	return &fake{scripts: map[string]script{}, gates: map[string]chan struct{}{}}
}

func (f *fake) on(action string, s script) { f.mu.Lock(); f.scripts[action] = s; f.mu.Unlock() }

func (f *fake) Run(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	f.mu.Lock()
	f.seq++
	c := &call{Exec: a.ExecutionID, Stage: a.Stage, Action: a.Action, Attempt: a.Attempt, ExternalID: a.ExternalID,
		Config: a.Config, Inputs: a.Inputs, Outputs: a.Outputs, Source: a.Source, StartSeq: f.seq}
	f.calls = append(f.calls, c)
	s := f.scripts[a.Action]
	f.mu.Unlock()
	fmt.Fprintf(a.Log, "fake %s attempt %d\n", a.Action, a.Attempt)
	out, err := pipeline.Outcome{Status: pipeline.Succeeded, Summary: "ok"}, error(nil)
	if s != nil {
		out, err = s(ctx, a)
	}
	f.mu.Lock()
	f.seq++
	c.EndSeq = f.seq
	f.mu.Unlock()
	return out, err
}

// callsOf returns the calls for one action (all executions when exec is "").
func (f *fake) callsOf(exec, action string) []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []call
	for _, c := range f.calls {
		if (exec == "" || c.Exec == exec) && c.Action == action {
			out = append(out, *c)
		}
	}
	return out
}

// blockUntilReleased returns a script that blocks until release() (or its ctx
// ends: then it returns the ctx error), and the release function.
func blockUntilReleased(then pipeline.Outcome) (script, func()) {
	ch := make(chan struct{})
	var once sync.Once
	return func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
			select {
			case <-ch:
				return then, nil
			case <-ctx.Done():
				return pipeline.Outcome{}, ctx.Err()
			}
		}, func() {
			once.Do(func() { close(ch) })
		}
}

// statusesOf returns the statuses of recorded events of one kind for one execution.
func statusesOf(r *event.Recorder, exec string, kind event.Kind) []string {
	var out []string
	for _, e := range r.Events() {
		if e.ExecutionID == exec && e.Kind == kind {
			out = append(out, e.Status)
		}
	}
	return out
}
