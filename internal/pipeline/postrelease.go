package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/store"
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
func FailReleasedAction(ctx context.Context, db *store.DB, executionID, externalID, reason string, now time.Time) (bool, error) {
	var events []event.Event
	err := db.PipelineTx(ctx, func(t *store.PipelineTx) error {
		events = nil
		ex, err := t.Execution(executionID)
		if err != nil {
			return err
		}
		runs, err := t.ActionRuns(executionID)
		if err != nil {
			return err
		}
		var run *store.PipelineActionRun
		for _, r := range runs {
			if r.ExternalID == externalID && (run == nil || r.Attempt > run.Attempt) {
				run = r
			}
		}
		if run != nil && run.Status == string(StatusInProgress) {
			return ErrActionInProgress
		}
		if run == nil || run.Status != string(StatusSucceeded) {
			return nil
		}
		msg := "rolled back after release: " + reason
		run.Status, run.ErrorMessage, run.Summary = string(StatusFailed), msg, msg
		if err := t.PutActionRun(run); err != nil {
			return err
		}
		base := event.Event{Time: now, Pipeline: ex.Pipeline, ExecutionID: executionID, Stage: run.Stage}
		events = append(events, with(base, event.KindAction, run.Action, msg))
		stage, err := t.StageRun(executionID, run.Stage)
		if err != nil {
			return err
		}
		if stage.Status == string(StatusSucceeded) {
			stage.Status, stage.Message = string(StatusFailed), "action "+run.Action+": "+msg
			if err := t.PutStageRun(stage); err != nil {
				return err
			}
			events = append(events, with(base, event.KindStage, "", stage.Message))
		}
		if ex.Status == string(StatusSucceeded) {
			summary := fmt.Sprintf("stage %s failed after release: action %s: %s", run.Stage, run.Action, msg)
			ex.Status, ex.StatusSummary, ex.UpdatedAt = string(StatusFailed), summary, now
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

func with(base event.Event, kind event.Kind, action, msg string) event.Event {
	base.Kind, base.Action, base.Status, base.Message = kind, action, string(StatusFailed), msg
	return base
}
