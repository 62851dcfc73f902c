package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Stop stops an execution. Without abandon ("stop and wait") in-progress actions
// finish and nothing new starts; with abandon their contexts are cancelled and they
// end Abandoned. The execution is Stopping until then, Stopped after. Asking to
// abandon a stop-and-wait that is still Stopping upgrades it. Stop may be called
// from any process; the one running the execution acts within a poll interval.
func (e *Engine) Stop(ctx context.Context, executionID string, abandon bool, reason string) error {
	mode := StopWait
	if abandon {
		mode = StopAbandon
	}
	var changed bool
	var ended []event.Event
	var abandoned []*ActionRecord
	err := e.store.Update(ctx, func(t Tx) error {
		changed, ended, abandoned = false, nil, nil
		ex, err := t.Execution(executionID)
		if err != nil {
			return err
		}
		if err := e.ours(ex); err != nil {
			return err
		}
		switch st := ex.Status; {
		case st.Final():
			return fmt.Errorf("execution is %s: %w", st, ErrNotStoppable)
		case st == StatusStopping && (ex.StopMode == StopAbandon || mode == StopWait):
			return nil // already stopping at least that hard
		}
		now := e.now()
		ex.Status, ex.StopMode, ex.StopReason, ex.UpdatedAt = StatusStopping, mode, reason, now
		changed = true
		if !e.runs.running(ex.ID) && !e.ownerAlive(ex.Owner) {
			if ended, abandoned, err = e.stopOrphan(t, ex, now); err != nil {
				return err
			}
		}
		return t.UpdateExecution(ex)
	})
	if err != nil {
		return fmt.Errorf("stop execution %s: %w", executionID, err)
	}
	if changed {
		e.emit(ctx, event.Event{Kind: event.KindExecution, Status: string(StatusStopping), ExecutionID: executionID,
			Message: reason, Data: map[string]any{"abandon": abandon}})
	}
	e.reapAbandoned(ctx, abandoned)
	for _, ev := range ended {
		e.emit(ctx, ev)
	}
	return nil
}

// stopOrphan finishes the stop of an execution nobody drives, when no action must
// be waited for: abandoned actions need no provider to be abandoned (their
// attempts are returned: what their crashed process left running is killed
// once this commits). With actions to wait for, the execution stays Stopping
// for Recover to resume.
func (e *Engine) stopOrphan(t Tx, ex *ExecutionRecord, now time.Time) ([]event.Event, []*ActionRecord, error) {
	runs, err := t.ActionRuns(ex.ID)
	if err != nil {
		return nil, nil, err
	}
	var inProgress []*ActionRecord
	for _, r := range runs {
		if r.Status == StatusInProgress {
			inProgress = append(inProgress, r)
		}
	}
	if len(inProgress) > 0 && ex.StopMode != StopAbandon {
		return nil, nil, nil
	}
	var events []event.Event
	for _, r := range inProgress {
		r.Status, r.ErrorMessage, r.EndedAt = StatusAbandoned, stopSummary(ex), now
		if err := t.PutActionRun(r); err != nil {
			return nil, nil, err
		}
		if err := t.CloseApprovals(ex.ID, r.Stage, r.Action, r.Attempt, ApprovalNeeded, ApprovalAbandoned); err != nil {
			return nil, nil, err
		}
		events = append(events, event.Event{Kind: event.KindAction, Status: string(StatusAbandoned), ExecutionID: ex.ID,
			Stage: r.Stage, Action: r.Action, Message: r.ErrorMessage})
	}
	if !ex.Waiting && ex.StageIndex < len(e.stages()) {
		stage := e.stages()[ex.StageIndex].Name
		sr, err := t.StageRun(ex.ID, stage)
		if err != nil {
			return nil, nil, err
		}
		sr.Status, sr.Message, sr.EndedAt = StatusStopped, stopSummary(ex), now
		if err := t.PutStageRun(sr); err != nil {
			return nil, nil, err
		}
		events = append(events, event.Event{Kind: event.KindStage, Status: string(StatusStopped), ExecutionID: ex.ID, Stage: stage, Message: sr.Message})
	}
	ex.Status, ex.StatusSummary, ex.Waiting, ex.EndedAt = StatusStopped, stopSummary(ex), false, now
	return append(events, event.Event{Kind: event.KindExecution, Status: string(StatusStopped), ExecutionID: ex.ID, Message: ex.StatusSummary}), inProgress, nil
}

// RetryStage reruns the failed (or stopped) stage of a Failed or Stopped
// execution: FAILED_ACTIONS reruns the actions that did not succeed, ALL_ACTIONS
// every action, each as a new attempt. The execution becomes InProgress again,
// inside the stage, and continues with the following stages once driven by Run.
// The stage must not be locked by another execution.
func (e *Engine) RetryStage(ctx context.Context, executionID, stage string, mode RetryMode) error {
	if mode != RetryFailedActions && mode != RetryAllActions {
		return fmt.Errorf("retry stage %s: retry mode %q: %w (allowed: %s, %s)", stage, mode, ErrBadRequest, RetryFailedActions, RetryAllActions)
	}
	idx := e.stageIndex(stage)
	if idx < 0 {
		return fmt.Errorf("retry stage %s: the pipeline has no such stage: %w", stage, ErrNotFound)
	}
	var attempt int
	err := e.store.Update(ctx, func(t Tx) error {
		ex, err := t.Execution(executionID)
		if err != nil {
			return err
		}
		if err := e.ours(ex); err != nil {
			return err
		}
		sr, err := e.retryableStage(t, ex, idx)
		if err != nil {
			return err
		}
		if err := e.scheduleRetry(t, ex.ID, idx, mode); err != nil {
			return err
		}
		now := e.now()
		sr.Attempt, sr.Status, sr.RetryMode, sr.Message, sr.StartedAt, sr.EndedAt = sr.Attempt+1, StatusInProgress, mode, "", now, time.Time{}
		attempt = sr.Attempt
		if err := t.PutStageRun(sr); err != nil {
			return err
		}
		ex.Status, ex.StatusSummary, ex.StopMode, ex.StopReason = StatusInProgress, "", "", ""
		ex.EndedAt, ex.UpdatedAt, ex.Owner = time.Time{}, now, e.self.record(now)
		return t.UpdateExecution(ex)
	})
	if err != nil {
		return fmt.Errorf("retry stage %s of %s: %w", stage, executionID, err)
	}
	msg := fmt.Sprintf("stage %s retried (%s)", stage, mode)
	e.emit(ctx, event.Event{Kind: event.KindExecution, Status: string(statusResumed), ExecutionID: executionID, Message: msg})
	e.emit(ctx, event.Event{Kind: event.KindStage, Status: string(statusResumed), ExecutionID: executionID, Stage: stage, Message: msg,
		Data: map[string]any{"attempt": attempt, "retry_mode": string(mode)}})
	return nil
}

func (e *Engine) stageIndex(name string) int {
	for i, s := range e.stages() {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// retryableStage checks CodePipeline's conditions for a retry and returns the
// stage run to retry.
func (e *Engine) retryableStage(t Tx, ex *ExecutionRecord, idx int) (*StageRecord, error) {
	stage := e.stages()[idx].Name
	if st := ex.Status; st != StatusFailed && st != StatusStopped {
		return nil, fmt.Errorf("execution is %s, not Failed or Stopped: %w", st, ErrNotRetryable)
	}
	if ex.Waiting || ex.StageIndex != idx {
		return nil, fmt.Errorf("the execution ended at stage %s, not in %s: %w", e.stages()[min(ex.StageIndex, len(e.stages())-1)].Name, stage, ErrNotRetryable)
	}
	sr, err := t.StageRun(ex.ID, stage)
	if err != nil {
		return nil, err
	}
	if st := sr.Status; st != StatusFailed && st != StatusStopped {
		return nil, fmt.Errorf("stage %s is %s: %w", stage, st, ErrNotRetryable)
	}
	if e.mode() == manifest.ExecutionModeParallel {
		return sr, nil
	}
	holders, err := t.StageRunsWithStatus(e.name(), stage, StatusInProgress)
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		if h.ExecutionID != ex.ID {
			return nil, fmt.Errorf("stage %s: execution %s runs in it: %w", stage, h.ExecutionID, ErrStageLocked)
		}
	}
	return sr, nil
}

// scheduleRetry records the new attempts RetryStage asks for as Pending.
func (e *Engine) scheduleRetry(t Tx, id string, idx int, mode RetryMode) error {
	stage := e.stages()[idx]
	runs, err := t.ActionRuns(id)
	if err != nil {
		return err
	}
	for _, a := range stage.Actions {
		latest := latestAttempt(runs, stage.Name, a.Name)
		if latest == nil || (mode == RetryFailedActions && latest.Status == StatusSucceeded) {
			continue // never ran: it runs anyway; succeeded: kept
		}
		next := &ActionRecord{ExecutionID: id, Stage: stage.Name, Action: a.Name, Attempt: latest.Attempt + 1,
			RunOrder: runOrder(a), Provider: a.Provider, Status: statusPending}
		if err := t.PutActionRun(next); err != nil {
			return err
		}
	}
	return nil
}
