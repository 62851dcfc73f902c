package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// FailReleasedAction records that a succeeded action's work was undone afterwards:
// a deploy action succeeds once production serves the new revision, and its
// deployment goes on keeping the original warm; when that deployment is then
// rolled back (an alarm, an operator), the execution that released it did not
// succeed after all. The action, its stage and the execution become Failed with
// reason, with events, in one transaction. It reports whether anything changed
// (nothing does unless the action with that external id had succeeded).
//
// ErrActionInProgress means the action has not recorded its outcome yet: the
// caller tries again shortly (the deployment was rolled back as the action saw
// it released).
//
// It needs no definition: the deployment controller calls it from its own process.
func FailReleasedAction(ctx context.Context, st Store, executionID, externalID, reason string, now time.Time) (bool, error) {
	var events []event.Event
	err := st.Update(ctx, func(t Tx) error {
		events = nil
		ex, err := t.Execution(executionID)
		if err != nil {
			return err
		}
		runs, err := t.ActionRuns(executionID)
		if err != nil {
			return err
		}
		var run *ActionRecord
		for _, r := range runs {
			if r.ExternalID == externalID && (run == nil || r.Attempt > run.Attempt) {
				run = r
			}
		}
		if run != nil && run.Status == StatusInProgress {
			return ErrActionInProgress
		}
		if run == nil || run.Status != StatusSucceeded {
			return nil
		}
		msg := "rolled back after release: " + reason
		run.Status, run.ErrorMessage, run.Summary = StatusFailed, msg, msg
		if err := t.PutActionRun(run); err != nil {
			return err
		}
		base := event.Event{Time: now, Pipeline: ex.Pipeline, ExecutionID: executionID, Stage: run.Stage}
		events = append(events, with(base, event.KindAction, run.Action, msg))
		stage, err := t.StageRun(executionID, run.Stage)
		if err != nil {
			return err
		}
		if stage.Status == StatusSucceeded {
			stage.Status, stage.Message = StatusFailed, "action "+run.Action+": "+msg
			if err := t.PutStageRun(stage); err != nil {
				return err
			}
			events = append(events, with(base, event.KindStage, "", stage.Message))
		}
		if ex.Status == StatusSucceeded {
			summary := fmt.Sprintf("stage %s failed after release: action %s: %s", run.Stage, run.Action, msg)
			ex.Status, ex.StatusSummary, ex.UpdatedAt = StatusFailed, summary, now
			if err := t.UpdateExecution(ex); err != nil {
				return err
			}
			e := with(base, event.KindExecution, "", summary)
			e.Stage = ""
			events = append(events, e)
		}
		for i, e := range events {
			if events[i], err = t.AppendEvent(e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("fail released action of %s: %w", executionID, err)
	}
	return len(events) > 0, nil
}

// ErrActionInProgress is returned by FailReleasedAction for an action still running.
var ErrActionInProgress = errors.New("action still in progress")

// FailReleasedExecution is FailReleasedAction for the execution that released a
// deployment rolled back afterwards (during its termination wait): the action may
// still be recording its success, so it tries again every poll until within has
// passed.
func FailReleasedExecution(ctx context.Context, st Store, executionID, deploymentID, reason string, poll, within time.Duration) error {
	if executionID == "" {
		return nil
	}
	deadline := time.Now().Add(within)
	for {
		_, err := FailReleasedAction(ctx, st, executionID, deploymentID, reason, time.Now())
		if !errors.Is(err, ErrActionInProgress) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

func with(base event.Event, kind event.Kind, action, msg string) event.Event {
	base.Kind, base.Action, base.Status, base.Message = kind, action, string(StatusFailed), msg
	return base
}
