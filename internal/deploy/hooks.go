package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

const defaultHookTimeout = 60 * time.Second

// runHook runs the hook the appspec names for a lifecycle event; an event without
// one is skipped. A failed or timed-out hook fails the deployment; a stop request
// or an alarm while it runs cancels it.
func (r *run) runHook(ctx context.Context, name string) (bool, error) {
	hook := r.d.Config.Hooks[name]
	if hook == nil {
		return true, nil
	}
	timeout := hook.Timeout.D()
	if timeout <= 0 {
		timeout = defaultHookTimeout
	}
	call := HookCall{
		Event: name, ExecutionID: r.d.ID + "-" + name, Hook: hook, Deployment: r.d,
		Env: r.hookEnv(name), Dir: r.d.Revision.ArtifactDir, Log: r.out,
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
				return false, fail(ErrHookFailed, "hook %s (%s) timed out after %s", name, hook.Name, timeout)
			case ctx.Err() != nil:
				return false, ctx.Err()
			default:
				return false, fail(ErrHookFailed, "hook %s (%s): %w", name, hook.Name, err)
			}
		case <-time.After(r.c.opts.Poll):
			if err := r.interrupted(ctx); err != nil {
				cancel()
				<-done
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

// LocalHooks runs hooks on this machine: a command, or an HTTP endpoint.
type LocalHooks struct {
	HTTP *http.Client // nil: a client with no proxy
}

func (h LocalHooks) Run(ctx context.Context, call HookCall) error {
	if len(call.Hook.Command) > 0 {
		return runHookCommand(ctx, call)
	}
	return h.post(ctx, call)
}

// runHookCommand runs the command in the revision's directory, in its own process
// group so that a timeout kills everything it started.
func runHookCommand(ctx context.Context, call HookCall) error {
	argv := call.Hook.Command
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = call.Dir
	cmd.Env = append(os.Environ(), call.Env...)
	var tail tailBuffer
	out := io.MultiWriter(call.Log, &tail)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if lines := tail.lines(); len(lines) > 0 {
			return fmt.Errorf("%s: %w; output: %s", strings.Join(argv, " "), err, strings.Join(lines, " | "))
		}
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return nil
}

// hookEvent is the JSON an HTTP hook receives: CodeDeploy's Lambda hook event, plus
// what a local hook needs to find the replacement.
type hookEvent struct {
	DeploymentID                  string            `json:"DeploymentId"`
	LifecycleEventHookExecutionID string            `json:"LifecycleEventHookExecutionId"`
	LifecycleEvent                string            `json:"LifecycleEvent"`
	Application                   string            `json:"ApplicationName"`
	DeploymentGroup               string            `json:"DeploymentGroupName"`
	Env                           map[string]string `json:"Environment"`
}

func (h LocalHooks) post(ctx context.Context, call HookCall) error {
	ev := hookEvent{
		DeploymentID: call.Deployment.ID, LifecycleEventHookExecutionID: call.ExecutionID, LifecycleEvent: call.Event,
		Application: call.Deployment.Application, DeploymentGroup: call.Deployment.Group, Env: map[string]string{},
	}
	for _, kv := range call.Env {
		k, v, _ := strings.Cut(kv, "=")
		ev.Env[k] = v
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.Hook.HTTP, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.HTTP
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", call.Hook.HTTP, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Fprintf(call.Log, "POST %s: %s %s\n", call.Hook.HTTP, resp.Status, strings.TrimSpace(string(snippet)))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", call.Hook.HTTP, resp.Status, strings.TrimSpace(string(snippet)))
	}
	return nil
}
