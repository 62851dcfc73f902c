// Package pipeline owns pipeline executions with CodePipeline's semantics: stages in
// order, actions grouped by run_order (a group in parallel), immutable artifacts,
// #{namespace.key} variables, the SUPERSEDED / QUEUED / PARALLEL execution modes
// with their stage locks, stop (wait or abandon), retry of a failed stage, and the
// Manual approval action.
//
// Every decision is a SQLite transaction, so several greenlight processes sharing
// one state file agree: an approval or a stop written by another terminal is noticed
// by the process running the execution within a poll interval, and an execution
// whose process died is taken over by Recover and resumed from what was recorded.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Engine runs the executions of one pipeline definition.
type Engine struct {
	def       *manifest.Definition
	store     Store
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	self      owner
	providers map[string]Provider
	runs      runRegistry
	announced announcements
}

// New returns an engine for def (already validated) keeping its state in st.
func New(def *manifest.Definition, st Store, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		opts.Events = event.Discard
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 150 * time.Millisecond
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 2 * time.Second
	}
	e := &Engine{
		def:       def,
		store:     st,
		opts:      opts,
		log:       opts.Logger.With("pipeline", def.Pipeline.Name),
		now:       opts.Now,
		self:      currentOwner(opts.Processes),
		providers: maps.Clone(opts.Providers),
	}
	if e.providers == nil {
		e.providers = map[string]Provider{}
	}
	if _, ok := e.providers[manifest.ProviderManual]; !ok {
		e.providers[manifest.ProviderManual] = &manualApproval{e: e}
	}
	return e
}

func (e *Engine) name() string { return e.def.Pipeline.Name }

func (e *Engine) stages() []*manifest.Stage { return e.def.Pipeline.Stages }

func (e *Engine) mode() string {
	if m := e.def.Pipeline.ExecutionMode; m != "" {
		return m
	}
	return manifest.ExecutionModeSuperseded
}

// Start records a new execution in front of the first stage, applying the
// execution mode (in SUPERSEDED mode an execution waiting there is superseded), and
// returns its id. The caller then drives it with Run.
func (e *Engine) Start(ctx context.Context, req StartRequest) (string, error) {
	vars, err := e.pipelineVariables(req.Variables)
	if err != nil {
		return "", err
	}
	if req.Trigger == "" {
		req.Trigger = TriggerStart
	}
	now := e.now()
	ex := &ExecutionRecord{
		ID: uuid.NewString(), Pipeline: e.name(), Mode: e.mode(), Status: StatusInProgress,
		Trigger: req.Trigger, TriggerDetail: req.TriggerDetail, RequestedRevision: req.Revision, Ref: req.Ref,
		Variables: vars, StageIndex: 0, Waiting: true, WaitingSince: now,
		Owner: e.self.record(now), StartedAt: now, UpdatedAt: now,
	}
	var g gateResult
	err = e.store.Update(ctx, func(t Tx) error {
		if err := t.InsertExecution(ex); err != nil {
			return err
		}
		g, err = e.gate(t, ex)
		return err
	})
	if err != nil {
		e.forgetGate(g)
		return "", fmt.Errorf("start execution of %s: %w", e.name(), err)
	}
	e.emit(ctx, event.Event{Kind: event.KindExecution, Status: string(StatusInProgress), ExecutionID: ex.ID,
		Message: "execution started by " + string(req.Trigger),
		Data:    map[string]any{"trigger": req.Trigger, "trigger_detail": req.TriggerDetail, "revision": req.Revision, "ref": req.Ref, "mode": ex.Mode}})
	e.emitGate(ctx, ex.ID, g)
	return ex.ID, nil
}

// pipelineVariables merges StartRequest overrides into the declared defaults;
// CodePipeline rejects variables the pipeline does not declare.
func (e *Engine) pipelineVariables(overrides map[string]string) (map[string]string, error) {
	vars := map[string]string{}
	for _, v := range e.def.Pipeline.Variables {
		vars[v.Name] = v.DefaultValue
	}
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if _, ok := vars[k]; !ok {
			declared := slices.Sorted(maps.Keys(vars))
			return nil, fmt.Errorf("pipeline variable %q is not declared (declared: %s): %w", k, strings.Join(declared, ", "), ErrBadRequest)
		}
		vars[k] = overrides[k]
	}
	return vars, nil
}

// Run drives an execution until it reaches a final status (Succeeded, Failed,
// Stopped, Superseded) and returns it. It is safe to call for an execution a crashed
// process left InProgress: it resumes from what was recorded. If this engine already
// runs the execution (Recover), Run waits for that run. When ctx ends first, Run
// returns its error and leaves the execution to be resumed.
func (e *Engine) Run(ctx context.Context, id string) (Status, error) {
	h, fresh := e.runs.acquire(id)
	if !fresh {
		return h.wait(ctx)
	}
	st, err := e.run(ctx, id)
	e.runs.finish(id, h, st, err)
	return st, err
}

// runRegistry lets a Run join the run this engine already drives for an execution.
type runRegistry struct {
	mu   sync.Mutex
	runs map[string]*runHandle
}

type runHandle struct {
	done   chan struct{}
	status Status
	err    error
}

func (r *runRegistry) acquire(id string) (*runHandle, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.runs[id]; ok {
		return h, false
	}
	if r.runs == nil {
		r.runs = map[string]*runHandle{}
	}
	h := &runHandle{done: make(chan struct{})}
	r.runs[id] = h
	return h, true
}

func (r *runRegistry) running(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.runs[id]
	return ok
}

func (r *runRegistry) finish(id string, h *runHandle, st Status, err error) {
	r.mu.Lock()
	delete(r.runs, id)
	r.mu.Unlock()
	h.status, h.err = st, err
	close(h.done)
}

func (h *runHandle) wait(ctx context.Context) (Status, error) {
	select {
	case <-h.done:
		return h.status, h.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Recover takes over the executions of this pipeline whose owner process is gone
// (or that nobody drives) and resumes each in the background, under ctx; it returns
// their ids. Run(ctx, id) waits for one of them to finish.
func (e *Engine) Recover(ctx context.Context) ([]string, error) {
	var taken []*ExecutionRecord
	err := e.store.Update(ctx, func(t Tx) error {
		active, err := t.ExecutionsWithStatus(e.name(), StatusInProgress, StatusStopping)
		if err != nil {
			return err
		}
		now := e.now()
		for _, ex := range active {
			if e.runs.running(ex.ID) || (ex.Owner.ID != e.self.id && e.ownerAlive(ex.Owner)) {
				continue
			}
			prev := ex.Owner
			ex.Owner, ex.UpdatedAt = e.self.record(now), now
			if err := t.UpdateExecution(ex); err != nil {
				return err
			}
			ex.Owner = prev // keep the dead owner for the event below
			taken = append(taken, ex)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("recover executions of %s: %w", e.name(), err)
	}
	ids := make([]string, 0, len(taken))
	for _, ex := range taken {
		ids = append(ids, ex.ID)
		e.emit(ctx, event.Event{Kind: event.KindExecution, Status: string(statusResumed), ExecutionID: ex.ID,
			Message: fmt.Sprintf("resumed by pid %d: owner pid %d on %s is gone", e.self.pid, ex.Owner.PID, ex.Owner.Host)})
		h, fresh := e.runs.acquire(ex.ID)
		if !fresh {
			continue
		}
		go func(id string) {
			st, err := e.run(ctx, id)
			if err != nil {
				e.log.Error("resumed execution ended with an error", "execution", id, "err", err)
			}
			e.runs.finish(id, h, st, err)
		}(ex.ID)
	}
	return ids, nil
}

// Executions lists the most recent executions of the pipeline, newest first: up to
// limit (0: all) older than beforeSeq (0: the newest).
func (e *Engine) Executions(ctx context.Context, beforeSeq int64, limit int) ([]ExecutionSummary, error) {
	var out []ExecutionSummary
	err := e.store.View(ctx, func(t Tx) error {
		list, err := t.ListExecutions(e.name(), beforeSeq, limit)
		if err != nil {
			return err
		}
		for _, ex := range list {
			s := e.summary(ex)
			if s.Wait, err = e.waitOf(t, ex); err != nil {
				return err
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list executions of %s: %w", e.name(), err)
	}
	return out, nil
}

// emit stamps, stores and forwards one event. Events are the audit log: a failed
// write is logged, never silently dropped.
func (e *Engine) emit(ctx context.Context, ev event.Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	ev.Pipeline = e.name()
	e.log.Debug("event", "kind", ev.Kind, "status", ev.Status, "execution", ev.ExecutionID, "stage", ev.Stage,
		"action", ev.Action, "message", ev.Message)
	stored, err := e.store.AppendEvent(context.WithoutCancel(ctx), ev)
	if err != nil {
		e.log.Error("store event", "kind", ev.Kind, "status", ev.Status, "err", err)
	} else {
		ev = stored
	}
	if ev.Kind == event.KindExecution && Status(ev.Status).Final() {
		e.announced.add(ev.ExecutionID)
	}
	e.opts.Events.Emit(ev)
}

// announcements remembers the executions whose end this engine announced, so that
// a run ending on a status another execution decided (Superseded) does not
// announce it twice.
type announcements struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (a *announcements) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	a.ids[id] = true
}

// take reports whether id's end was announced here, and forgets it.
func (a *announcements) take(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ok := a.ids[id]
	delete(a.ids, id)
	return ok
}
