package deploy

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// stop ends a deployment that must not go on (a failure, an alarm, a request). What
// happens to traffic follows CodeDeploy: with auto-rollback for the event (or an
// explicit rollback request) a rollback deployment moves production back to the
// original task set at once and removes the replacement. Without it, a replacement
// that never served production is removed anyway (production never saw it), and one
// that did is left where it is for the operator to decide.
func (r *run) stop(ctx context.Context) error {
	d, s := r.d, r.d.Stop
	r.stopAlarmWatch()
	final := StatusStopped
	if s.Event == manifest.RollbackOnFailure {
		final = StatusFailed
	}
	d.ErrorCode, d.ErrorMessage = s.Code, s.Reason
	r.closeSteps(s.Reason)
	installed := d.Kind != KindRollback && d.Step(StepInstall) != nil && d.Step(StepInstall).Status != StepSkipped && d.ReplacementTargetGroup != ""
	rollback := s.Event == eventManualRollback || d.Config.AutoRollback.RollsBackOn(s.Event)
	switch {
	case !installed:
		return r.finish(ctx, final)
	case r.originalTerminating():
		// The original is (being) stopped: moving production back would send it to
		// an empty target group. Production stays on the replacement.
		d.ErrorMessage += "; the original task set was already being terminated, so production stays on the replacement"
		return r.finish(ctx, final)
	case rollback:
		return r.rollBack(ctx, final)
	case d.ReplacementWeight == 0:
		if err := r.removeReplacement(ctx); err != nil {
			return err
		}
		return r.finish(ctx, final)
	default:
		d.ErrorMessage += fmt.Sprintf("; production left at %d%% on the replacement: `greenlight rollback %s` restores the original", d.ReplacementWeight, d.ID)
		return r.finish(ctx, final)
	}
}

// closeSteps marks the interrupted step and every later one.
func (r *run) closeSteps(reason string) {
	for _, s := range r.markClosed(reason) {
		r.emitStep(s)
	}
}

// markClosed marks the interrupted step failed and every later one skipped, and
// returns the failed one (none when the deployment was between steps).
func (r *run) markClosed(reason string) []*Step {
	now := time.Now()
	var failed []*Step
	for i := range r.d.Steps {
		switch s := &r.d.Steps[i]; s.Status {
		case StepInProgress:
			s.Status, s.End, s.Message = StepFailed, now, "stopped: "+reason
			failed = append(failed, s)
		case StepPending:
			s.Status = StepSkipped
		}
	}
	return failed
}

// rollBack records the deployment as stopped or failed together with a new rollback
// deployment (one transaction: a crash leaves either neither or both), then drives
// the rollback here and now, so that production is restored without waiting for
// the controller's next pass.
func (r *run) rollBack(ctx context.Context, final Status) error {
	d, s := r.d, r.d.Stop
	rb := &Deployment{
		ID: NewID(), Kind: KindRollback, Application: d.Application, Group: d.Group,
		Status: StatusCreated, Creator: CreatorAutoRollback, ExecutionID: d.ExecutionID, Created: time.Now(),
		Revision: d.Revision, Config: d.Config, Steps: planSteps(KindRollback),
		OriginalTargetGroup: d.OriginalTargetGroup, ReplacementTargetGroup: d.ReplacementTargetGroup,
		OriginalTasks: d.OriginalTasks, ReplacementTasks: d.ReplacementTasks, ReplacementWeight: d.ReplacementWeight,
		RollbackOf: d.ID,
		Rollback:   &RollbackInfo{Reason: s.Reason, Alarm: s.Alarm},
	}
	if s.Event == eventManualRollback || s.Event == manifest.RollbackOnRequest {
		rb.Creator = CreatorRollback
	}
	if !s.FirstBreach.IsZero() {
		rb.Rollback.Detection = jsontime.Duration(s.AlarmAt.Sub(s.FirstBreach))
	}
	d.Status, d.Completed, d.RolledBackBy = final, time.Now(), rb.ID
	r.c.driving.claim(rb.ID)
	defer r.c.driving.release(rb.ID)
	if err := r.c.opts.Store.CreateRollback(ctx, d, rb); err != nil {
		return fmt.Errorf("record rollback of %s: %w", d.ID, err)
	}
	r.logf("deployment %s: %s; rolling back with %s", final, s.Reason, rb.ID)
	r.emit(event.Event{Kind: event.KindDeployment, Status: string(final), Message: s.Reason, Data: map[string]any{"rolled_back_by": rb.ID, "error_code": s.Code}})
	sub, err := r.c.newRun(rb)
	if err != nil {
		return err
	}
	defer sub.close()
	started := time.Now()
	if err := sub.drive(ctx); err != nil {
		if ctx.Err() != nil {
			return err
		}
		// This deployment is done; its rollback is retried as a deployment of its
		// own (counted while it is still claimed here).
		r.c.driveFailed(ctx, rb.ID, started, err)
		return nil
	}
	return r.c.rollbackEnded(ctx, rb)
}

// rollbackEnded records, on the deployment a rollback rolled back, how the
// rollback went, and tells Options.AfterRollback; once, whichever drive ended
// the rollback: the one that created it, a later one (after a crash or a
// retry), or the controller giving up on it.
func (c *Controller) rollbackEnded(ctx context.Context, rb *Deployment) error {
	d, err := c.opts.Store.Deployment(ctx, rb.RollbackOf)
	if err != nil {
		return fmt.Errorf("load %s, rolled back by %s: %w", rb.RollbackOf, rb.ID, err)
	}
	if d.Rollback != nil {
		return nil
	}
	d.Rollback = rb.Rollback
	if err := c.save(ctx, d); err != nil {
		return err
	}
	if c.opts.AfterRollback != nil {
		c.opts.AfterRollback(ctx, d)
	}
	return nil
}

// rerouteToOriginal is a rollback's AllowTraffic: in one atomic change, production
// and test traffic go back to the original target group and the replacement targets
// are deregistered (they drain).
func (r *run) rerouteToOriginal(ctx context.Context) error {
	d := r.d
	err := r.reroute(ctx, "roll back: production 100% to "+cmp.Or(d.OriginalTargetGroup, "nothing (first deployment)"), func(spec *routing.ServiceSpec) error {
		setWeights(spec, d.ReplacementTargetGroup, 0)
		setTargets(spec, d.ReplacementTargetGroup, nil)
		spec.TestTargetGroup = ""
		if d.OriginalTargetGroup != "" && spec.TestListener != "" {
			spec.TestTargetGroup = d.OriginalTargetGroup
		}
		return nil
	})
	if err != nil {
		return err
	}
	restored := time.Now()
	d.ReplacementWeight = 0
	if d.Rollback != nil {
		d.Rollback.RestoredAt = restored
		if orig, err := r.c.opts.Store.Deployment(ctx, d.RollbackOf); err == nil && orig.Stop != nil {
			d.Rollback.Restore = jsontime.Duration(restored.Sub(orig.Stop.Requested))
		}
	}
	if err := r.save(ctx); err != nil {
		return err
	}
	msg := "rolled back: production 100% original"
	if d.OriginalTargetGroup == "" {
		msg = "rolled back: production has no target (a first deployment has no original)"
	}
	r.emit(event.Event{Kind: event.KindTraffic, Name: "production", Message: msg,
		Data: map[string]any{"replacement_weight": 0, "target_group": d.OriginalTargetGroup, "restore_ms": d.rollbackRestoreMillis()}})
	return nil
}

func (d *Deployment) rollbackRestoreMillis() float64 {
	if d.Rollback == nil {
		return 0
	}
	return float64(d.Rollback.Restore.D().Microseconds()) / 1000
}

// terminateReplacement waits for the replacement to drain and stops its tasks.
func (r *run) terminateReplacement(ctx context.Context) error {
	if err := r.waitDrained(ctx, r.d.ReplacementTasks); err != nil {
		return err
	}
	return r.stopTasks(ctx, r.replacementTasksToStop())
}

// replacementTasksToStop includes the tasks a crash may have started without
// recording them: task IDs are deterministic, and stopping an unknown one is a no-op.
func (r *run) replacementTasksToStop() []Task {
	tasks := append([]Task(nil), r.d.ReplacementTasks...)
	known := map[string]bool{}
	for _, t := range tasks {
		known[t.ID] = true
	}
	owner := r.d
	for i := 0; i < max(owner.Config.Service.DesiredCount, 1); i++ {
		id := taskID(owner.Config.Service.Name, ownerDeploymentID(owner), i)
		if !known[id] {
			tasks = append(tasks, Task{ID: id, Driver: owner.Config.Service.Driver})
		}
	}
	return tasks
}

// ownerDeploymentID is the deployment that started the replacement tasks: for a
// rollback, the deployment it rolls back.
func ownerDeploymentID(d *Deployment) string {
	if d.Kind == KindRollback {
		return d.RollbackOf
	}
	return d.ID
}

// removeReplacement takes a replacement that never served production out of the
// router and stops it, recorded on the deployment itself.
func (r *run) removeReplacement(ctx context.Context) error {
	if err := r.rerouteToOriginal(ctx); err != nil {
		return err
	}
	return r.terminateReplacement(ctx)
}
