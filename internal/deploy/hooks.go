package deploy

import (
	"context"
	"errors"
	"strings"
	"time"
)

const defaultHookTimeout = 60 * time.Second

// runHook runs the hook the appspec names for a lifecycle event; an event without
// one is skipped. A failed or timed-out hook fails the deployment; a stop request
// or an alarm while it runs cancels it.
func (r *run) runHook(ctx context.Context, name StepName) (bool, error) {
	hook := r.d.Config.Hooks[string(name)]
	if hook == nil {
		return true, nil
	}
	timeout := hook.Timeout.D()
	if timeout <= 0 {
		timeout = defaultHookTimeout
	}
	call := HookCall{
		Event: name, ExecutionID: r.d.ID + "-" + string(name), Hook: hook, Deployment: r.d,
		Env: r.hookEnv(string(name)), Dir: r.d.Revision.ArtifactDir, Log: r.out,
	}
	r.logf("hook %s (%s) started", name, hook.Name)
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.c.opts.Hooks.Run(hctx, call) }()
	for {
		select {
		case err := <-done:
			switch {
			case err == nil:
				r.logf("hook %s succeeded", name)
				return false, nil
			case errors.Is(hctx.Err(), context.DeadlineExceeded):
				return false, fail(CodeHookFailed, "hook %s (%s) timed out after %s", name, hook.Name, timeout)
			case ctx.Err() != nil:
				return false, ctx.Err()
			default:
				return false, fail(CodeHookFailed, "hook %s (%s): %w", name, hook.Name, err)
			}
		case <-time.After(r.c.opts.Poll):
			if err := r.interrupted(ctx); err != nil {
				cancel()
				if hookErr := <-done; hookErr != nil {
					r.logf("hook %s cancelled: %v", name, hookErr)
				}
				return false, err
			}
		}
	}
}

// hookEnv is what a hook knows of its deployment, the local stand-in for the event
// CodeDeploy sends a Lambda hook.
func (r *run) hookEnv(event string) []string {
	d := r.d
	svc := d.Config.Service
	env := []string{
		"GREENLIGHT_DEPLOYMENT_ID=" + d.ID,
		"GREENLIGHT_LIFECYCLE_EVENT=" + event,
		"GREENLIGHT_LIFECYCLE_EVENT_HOOK_EXECUTION_ID=" + d.ID + "-" + event,
		"GREENLIGHT_APPLICATION=" + d.Application,
		"GREENLIGHT_DEPLOYMENT_GROUP=" + d.Group,
		"GREENLIGHT_SERVICE=" + svc.Name,
		"GREENLIGHT_COMMIT_ID=" + d.Revision.CommitID,
		"GREENLIGHT_PRODUCTION_URL=" + svc.ProductionURL(),
	}
	// The test URL reaches the replacement: through the test listener once it routes
	// there, else straight to a replacement task.
	testURL := svc.TestURL()
	if (svc.TestListener == "" || d.Step(StepAllowTestTraffic) == nil || d.Step(StepAllowTestTraffic).Status == StepPending) && len(d.ReplacementTasks) > 0 {
		testURL = "http://" + d.ReplacementTasks[0].Address
	}
	if testURL != "" {
		env = append(env, "GREENLIGHT_TEST_URL="+testURL)
	}
	env = append(env, "GREENLIGHT_REPLACEMENT_TARGETS="+addresses(d.ReplacementTasks), "GREENLIGHT_ORIGINAL_TARGETS="+addresses(d.OriginalTasks))
	return env
}

func addresses(tasks []Task) string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.Address
	}
	return strings.Join(out, ",")
}
