package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// run is one process driving one execution.
type run struct {
	e   *Engine
	id  string
	log *slog.Logger
	// ctx ends when Run's ctx ends or ownership is lost: the execution is left
	// as recorded, for a later resume.
	ctx context.Context
	// actions is the parent of every action's context; it is cancelled with
	// ErrAbandoned on "stop and abandon".
	actions context.Context
}

// run claims the execution, drives it and releases it.
func (e *Engine) run(parent context.Context, id string) (Status, error) {
	ex, err := e.claim(parent, id)
	if err != nil {
		return "", err
	}
	if st := ex.Status; st.Final() {
		return st, nil
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	actions, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	r := &run{e: e, id: id, log: e.log.With("execution", id), ctx: ctx, actions: actions}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		r.watch(cancel, abandon)
	}()
	defer func() {
		cancel(nil)
		<-watchDone
		e.release(context.WithoutCancel(parent), id)
	}()
	st, err := r.drive()
	if err != nil && ctx.Err() != nil {
		return "", fmt.Errorf("run execution %s: interrupted: %w", id, context.Cause(ctx))
	}
	return st, err
}

// claim makes this engine the owner of the execution, unless a live process is.
func (e *Engine) claim(ctx context.Context, id string) (*ExecutionRecord, error) {
	var ex *ExecutionRecord
	err := e.store.Update(ctx, func(t Tx) error {
		var err error
		if ex, err = t.Execution(id); err != nil {
			return err
		}
		if err := e.ours(ex); err != nil {
			return err
		}
		if ex.Status.Final() {
			return nil
		}
		if ex.StageIndex >= len(e.stages()) {
			// The definition lost stages since the execution started.
			return finalize(t, ex, StatusFailed, fmt.Sprintf("the pipeline has no stage %d any more", ex.StageIndex+1), e.now())
		}
		if ex.Owner.ID != e.self.id && e.ownerAlive(ex.Owner) {
			return fmt.Errorf("pid %d on %s: %w", ex.Owner.PID, ex.Owner.Host, ErrOwnedElsewhere)
		}
		now := e.now()
		ex.Owner, ex.UpdatedAt = e.self.record(now), now
		return t.UpdateExecution(ex)
	})
	if err != nil {
		return nil, fmt.Errorf("claim execution %s: %w", id, err)
	}
	return ex, nil
}

// ours refuses executions of another pipeline sharing the state file.
func (e *Engine) ours(ex *ExecutionRecord) error {
	if ex.Pipeline != e.name() {
		return fmt.Errorf("execution %s belongs to pipeline %s, not %s: %w", ex.ID, ex.Pipeline, e.name(), ErrBadRequest)
	}
	return nil
}

// release clears the owner so that an unfinished execution is visibly orphaned
// (Recover resumes it) instead of looking driven.
func (e *Engine) release(ctx context.Context, id string) {
	err := e.store.Update(ctx, func(t Tx) error {
		ex, err := t.Execution(id)
		if err != nil || ex.Owner.ID != e.self.id {
			return err
		}
		ex.Owner = Owner{}
		return t.UpdateExecution(ex)
	})
	if err != nil {
		e.log.Error("release execution", "execution", id, "err", err)
	}
}

// watch notices what other processes decide for the execution while it runs:
// "stop and abandon" cancels in-progress actions; heartbeats keep the ownership
// visible, and a takeover ends this run.
func (r *run) watch(cancel, abandon context.CancelCauseFunc) {
	poll := time.NewTicker(r.e.opts.PollInterval)
	defer poll.Stop()
	beat := time.NewTicker(r.e.opts.HeartbeatInterval)
	defer beat.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-poll.C:
			ex, err := r.load()
			if err != nil {
				r.log.Warn("poll execution", "err", err)
				continue
			}
			if ex.StopMode == StopAbandon {
				abandon(ErrAbandoned)
			}
		case <-beat.C:
			var ok bool
			err := r.e.store.Update(r.ctx, func(t Tx) error {
				var err error
				ok, err = t.Heartbeat(r.id, r.e.self.id, r.e.now())
				return err
			})
			if err != nil {
				r.log.Warn("heartbeat", "err", err)
			} else if !ok {
				r.log.Error("execution taken over by another process; stopping here")
				cancel(errOwnershipLost)
				return
			}
		}
	}
}

func (r *run) load() (*ExecutionRecord, error) {
	var ex *ExecutionRecord
	err := r.e.store.View(r.ctx, func(t Tx) error {
		var err error
		ex, err = t.Execution(r.id)
		return err
	})
	return ex, err
}

// drive walks the execution from where it is recorded to a final status.
func (r *run) drive() (Status, error) {
	for {
		ex, err := r.load()
		if err != nil {
			return "", err
		}
		st := ex.Status
		switch {
		case st.Final():
			r.relayFinal(ex)
			return st, nil
		case ex.Waiting && st == StatusStopping:
			if err := r.finishExecution(ex.StageIndex, StatusStopped, stopSummary(ex)); err != nil {
				return "", err
			}
		case ex.Waiting:
			if err := r.waitAtGate(); err != nil {
				return "", err
			}
		default:
			res, err := r.runStage(ex.StageIndex)
			if err != nil {
				return "", err
			}
			if err := r.completeStage(ex.StageIndex, res); err != nil {
				return "", err
			}
		}
	}
}

// waitAtGate polls the gate until the execution enters the stage or something
// else happens to it (superseded, stopping).
func (r *run) waitAtGate() error {
	announced := false
	for {
		var g gateResult
		waiting := false
		err := r.e.store.Update(r.ctx, func(t Tx) error {
			me, err := t.Execution(r.id)
			if err != nil || !me.Waiting || me.Status != StatusInProgress {
				return err
			}
			if g, err = r.e.gate(t, me); err != nil {
				return err
			}
			waiting = g.entered == nil && !supersededSelf(g, r.id)
			return nil
		})
		if err != nil {
			r.e.forgetGate(g)
			return fmt.Errorf("gate: %w", err)
		}
		r.emitGate(g)
		if !waiting {
			return nil
		}
		if !announced {
			announced = true
			r.e.emit(r.ctx, event.Event{Kind: event.KindProgress, Status: "Waiting", ExecutionID: r.id, Stage: g.stage,
				Message: waitingMessage(g), Data: map[string]any{"locked_by": g.holder}})
		}
		select {
		case <-r.ctx.Done():
			return context.Cause(r.ctx)
		case <-time.After(r.e.opts.PollInterval):
		}
	}
}

func (r *run) emitGate(g gateResult) {
	r.e.emitGate(r.ctx, r.id, g)
}

func supersededSelf(g gateResult, id string) bool {
	for _, ex := range g.superseded {
		if ex.ID == id {
			return true
		}
	}
	return false
}

func waitingMessage(g gateResult) string {
	if g.holder != "" {
		return fmt.Sprintf("waiting for stage %s: locked by execution %s", g.stage, g.holder)
	}
	return fmt.Sprintf("waiting for stage %s: older executions go first", g.stage)
}

// stageResult is how a stage run ended.
type stageResult struct {
	status  Status // Succeeded, Failed or Stopped
	message string
}

// completeStage records the end of a stage and moves the execution on: to the gate
// of the next stage, or to its final status.
func (r *run) completeStage(idx int, res stageResult) error {
	stages := r.e.stages()
	stage := stages[idx].Name
	var g gateResult
	var final Status
	var summary string
	var moved bool
	err := r.e.store.Update(r.ctx, func(t Tx) error {
		ex, err := t.Execution(r.id)
		if err != nil {
			return err
		}
		sr, err := t.StageRun(r.id, stage)
		if err != nil {
			return err
		}
		now := r.e.now()
		sr.Status, sr.Message, sr.EndedAt = res.status, res.message, now
		if err := t.PutStageRun(sr); err != nil {
			return err
		}
		undone, err := undoneRelease(t, r.id, res)
		if err != nil {
			return err
		}
		switch {
		case undone != "":
			final, summary = StatusFailed, undone
		case res.status == StatusFailed:
			final, summary = StatusFailed, fmt.Sprintf("stage %s failed: %s", stage, res.message)
		case res.status == StatusStopped:
			final, summary = StatusStopped, stopSummary(ex)
		case idx == len(stages)-1:
			final = StatusSucceeded
		case ex.Status == StatusStopping:
			final, summary = StatusStopped, stopSummary(ex)
		}
		if final != "" {
			return finalize(t, ex, final, summary, now)
		}
		ex.StageIndex, ex.Waiting, ex.WaitingSince, ex.UpdatedAt = idx+1, true, now, now
		if err := t.UpdateExecution(ex); err != nil {
			return err
		}
		moved = true
		g, err = r.e.gate(t, ex)
		return err
	})
	if err != nil {
		r.e.forgetGate(g)
		return fmt.Errorf("complete stage %s: %w", stage, err)
	}
	r.e.emit(r.ctx, event.Event{Kind: event.KindStage, Status: string(res.status), ExecutionID: r.id, Stage: stage, Message: res.message})
	if final != "" {
		r.emitFinal(final, summary)
	}
	if moved {
		r.emitGate(g)
	}
	return nil
}

// finishExecution ends an execution that is not inside a stage.
func (r *run) finishExecution(idx int, st Status, summary string) error {
	err := r.e.store.Update(r.ctx, func(t Tx) error {
		ex, err := t.Execution(r.id)
		if err != nil {
			return err
		}
		return finalize(t, ex, st, summary, r.e.now())
	})
	if err != nil {
		return fmt.Errorf("finish execution: %w", err)
	}
	r.emitFinal(st, summary)
	return nil
}

// undoneRelease says why an execution whose stage just succeeded cannot go on:
// a deployment it released was rolled back since, and FailReleasedAction marked
// that action Failed while the execution still ran. "" when nothing was undone.
func undoneRelease(t Tx, id string, res stageResult) (string, error) {
	if res.status != StatusSucceeded {
		return "", nil
	}
	runs, err := t.ActionRuns(id)
	if err != nil {
		return "", err
	}
	latest := map[string]*ActionRecord{}
	for _, a := range runs {
		key := a.Stage + "/" + a.Action
		if cur, ok := latest[key]; !ok || a.Attempt > cur.Attempt {
			latest[key] = a
		}
	}
	for _, key := range slices.Sorted(maps.Keys(latest)) {
		if a := latest[key]; a.Status == StatusFailed {
			return fmt.Sprintf("stage %s failed after release: action %s: %s", a.Stage, a.Action, a.ErrorMessage), nil
		}
	}
	return "", nil
}

func finalize(t Tx, ex *ExecutionRecord, st Status, summary string, now time.Time) error {
	ex.Status, ex.StatusSummary, ex.Waiting, ex.EndedAt, ex.UpdatedAt = st, summary, false, now, now
	return t.UpdateExecution(ex)
}

func (r *run) emitFinal(st Status, summary string) {
	r.e.emit(r.ctx, event.Event{Kind: event.KindExecution, Status: string(st), ExecutionID: r.id, Message: summary})
}

// relayFinal makes sure this process's event sink hears how the execution ended
// when another process decided it (a newer execution superseded it): the stored
// event is forwarded, or stored now when its author died before writing it.
func (r *run) relayFinal(ex *ExecutionRecord) {
	if r.e.announced.take(r.id) {
		return
	}
	events, err := r.e.store.Events(r.ctx, event.Query{ExecutionID: r.id, Kinds: []event.Kind{event.KindExecution}})
	if err != nil {
		r.log.Warn("read final event", "err", err)
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Status == string(ex.Status) {
			r.e.opts.Events.Emit(events[i])
			return
		}
	}
	r.e.emit(r.ctx, event.Event{Kind: event.KindExecution, Status: string(ex.Status), ExecutionID: r.id, Message: ex.StatusSummary})
}

func stopSummary(ex *ExecutionRecord) string {
	how := "stopped"
	if ex.StopMode == StopAbandon {
		how = "stopped and abandoned"
	}
	if ex.StopReason != "" {
		return how + ": " + ex.StopReason
	}
	return how
}

// errInterrupted marks an action whose run was cut short by the process, not by
// the execution: it stays InProgress for a resume.
var errInterrupted = errors.New("interrupted")
