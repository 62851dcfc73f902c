package pipeline

import (
	"context"
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// A gate is the space in front of a stage. An execution that finished a stage (or
// just started) waits there while the stage is locked by another execution. What
// happens at the gate is the execution mode:
//
//   - SUPERSEDED: one execution may wait; when several meet there the newest wins
//     and the others are Superseded. Executions are only superseded at gates, never
//     inside a stage.
//   - QUEUED: executions wait their turn, oldest first.
//   - PARALLEL: no locks; every execution walks straight in.

// gateInput is what the gate decision needs, read in the deciding transaction.
type gateInput struct {
	mode    string
	me      *ExecutionRecord   // waiting in front of stage me.StageIndex
	active  []*ExecutionRecord // active executions of the pipeline
	holders []string           // executions with an InProgress run of the stage
}

type gateDecision struct {
	enter     bool
	supersede []*ExecutionRecord // may include me
	winner    string             // the execution the superseded ones lost to
	holder    string             // who locks the stage, when me waits
}

// decideGate is the pure rule of the execution modes at a gate.
func decideGate(in gateInput) gateDecision {
	if in.mode == manifest.ExecutionModeParallel {
		return gateDecision{enter: true}
	}
	var d gateDecision
	activeIDs := map[string]bool{}
	var waiters []*ExecutionRecord
	for _, ex := range in.active {
		activeIDs[ex.ID] = true
		if ex.ID != in.me.ID && ex.Waiting && ex.StageIndex == in.me.StageIndex && ex.Status == StatusInProgress {
			waiters = append(waiters, ex)
		}
	}
	for _, h := range in.holders {
		if h != in.me.ID && activeIDs[h] {
			d.holder = h
			break
		}
	}
	switch in.mode {
	case manifest.ExecutionModeQueued:
		for _, w := range waiters {
			if w.Seq < in.me.Seq {
				return d // an older execution goes first
			}
		}
		d.enter = d.holder == ""
	default: // SUPERSEDED
		winner := in.me
		for _, w := range waiters {
			if w.Seq > winner.Seq {
				winner = w
			}
		}
		for _, c := range append(waiters, in.me) {
			if c != winner {
				d.supersede = append(d.supersede, c)
			}
		}
		d.winner = winner.ID
		d.enter = winner == in.me && d.holder == ""
	}
	return d
}

// gateResult is what applying a gate decision changed, for the events that follow
// the transaction.
type gateResult struct {
	entered    *StageRecord
	superseded []*ExecutionRecord
	// announced are the Superseded events, stored in the deciding transaction.
	announced []event.Event
	winner    string
	holder    string
	stage     string
}

// gate applies the gate rule to me (waiting in front of me.StageIndex) inside t:
// supersedes the losers and lets me into the stage when it may enter.
func (e *Engine) gate(t Tx, me *ExecutionRecord) (gateResult, error) {
	stage := e.stages()[me.StageIndex].Name
	res := gateResult{stage: stage}
	active, err := t.ExecutionsWithStatus(e.name(), StatusInProgress, StatusStopping)
	if err != nil {
		return res, err
	}
	runs, err := t.StageRunsWithStatus(e.name(), stage, StatusInProgress)
	if err != nil {
		return res, err
	}
	holders := make([]string, 0, len(runs))
	for _, r := range runs {
		holders = append(holders, r.ExecutionID)
	}
	d := decideGate(gateInput{mode: e.mode(), me: me, active: active, holders: holders})
	res.holder, res.winner = d.holder, d.winner
	now := e.now()
	for _, loser := range d.supersede {
		if loser.ID == me.ID {
			loser = me
		}
		loser.Status, loser.EndedAt, loser.UpdatedAt = StatusSuperseded, now, now
		loser.StatusSummary = fmt.Sprintf("superseded in front of stage %s by execution %s", stage, d.winner)
		if err := t.UpdateExecution(loser); err != nil {
			return res, err
		}
		res.superseded = append(res.superseded, loser)
		// Stored with the state change and marked announced before it commits: a
		// run of the loser in this engine must not relay it a second time.
		e.announced.add(loser.ID)
		ev, err := t.AppendEvent(event.Event{Time: now, Kind: event.KindExecution, Status: string(StatusSuperseded),
			Pipeline: e.name(), ExecutionID: loser.ID, Message: loser.StatusSummary,
			Data: map[string]any{"stage": stage, "superseded_by": d.winner}})
		if err != nil {
			return res, err
		}
		res.announced = append(res.announced, ev)
	}
	if !d.enter {
		return res, nil
	}
	run := &StageRecord{ExecutionID: me.ID, Pipeline: e.name(), Stage: stage, Index: me.StageIndex,
		Attempt: 1, Status: StatusInProgress, StartedAt: now}
	if err := t.PutStageRun(run); err != nil {
		return res, err
	}
	me.Waiting, me.UpdatedAt = false, now
	if err := t.UpdateExecution(me); err != nil {
		return res, err
	}
	res.entered = run
	return res, nil
}

// forgetGate undoes the announcement marks of a gate decision whose transaction
// did not commit.
func (e *Engine) forgetGate(g gateResult) {
	for _, ex := range g.superseded {
		e.announced.take(ex.ID)
	}
}

// emitGate tells what a committed gate decision did.
func (e *Engine) emitGate(ctx context.Context, id string, g gateResult) {
	for _, ev := range g.announced {
		e.opts.Events.Emit(ev) // already stored
	}
	if g.entered != nil {
		e.emit(ctx, event.Event{Kind: event.KindStage, Status: string(StatusInProgress), ExecutionID: id, Stage: g.stage,
			Data: map[string]any{"attempt": g.entered.Attempt}})
	}
}
