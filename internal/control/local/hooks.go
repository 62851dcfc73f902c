package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// PutHookResult records an asynchronous hook's result for the controller,
// which polls for it while the hook's timeout runs.
func (b *Backend) PutHookResult(ctx context.Context, r control.HookResult) error {
	state, err := waitStateOf(r)
	if err != nil {
		return err
	}
	d, err := b.GetDeployment(ctx, r.DeploymentID)
	if err != nil {
		return err
	}
	waits := store.HookWaits{DB: b.opts.DB}
	if d.Status.Done() {
		// Whatever the hook execution's record says, nothing waits for it now.
		if _, err = waits.WaitState(ctx, d.ID, r.HookExecutionID); err == nil {
			err = fmt.Errorf("deployment %s is %s: %w", d.ID, d.Status, hookrun.ErrNoLongerWaiting)
		}
	} else {
		err = waits.FinishWait(ctx, d.ID, r.HookExecutionID, state)
	}
	switch {
	case errors.Is(err, hookrun.ErrNoWait):
		return control.Errorf(control.CodeNotFound, "deployment %s has no lifecycle event hook execution %q", r.DeploymentID, r.HookExecutionID)
	case errors.Is(err, hookrun.ErrNoLongerWaiting):
		return control.Refused(control.ReasonFinished, err)
	case err != nil:
		return fmt.Errorf("record hook result: %w", err)
	}
	b.log.Info("hook result recorded", "deployment", r.DeploymentID, "hook_execution", r.HookExecutionID, "status", r.Status)
	return nil
}

// waitStateOf checks a result and says what it makes of the wait.
func waitStateOf(r control.HookResult) (hookrun.WaitState, error) {
	if err := control.CheckHookResult(r); err != nil {
		return "", err
	}
	if r.Status == control.HookFailed {
		return hookrun.WaitFailed, nil
	}
	return hookrun.WaitSucceeded, nil
}
