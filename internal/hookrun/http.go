package hookrun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
)

// HTTP posts CodeDeploy's Lambda hook event to the hook's URL. A 2xx answer
// other than 202 is success at once; 202 (Accepted) means the hook reports its
// result later, as a Lambda hook calls PutLifecycleEventHookExecutionStatus
// (control.HookResults): Run then waits for it in Waits until its context ends,
// which is the controller's hook timeout. Anything else fails the hook with the
// answer's status and start.
type HTTP struct {
	Client *http.Client // nil: a client with no proxy (hooks are local endpoints)
	// Waits records hook executions and their reported results; nil: a 202
	// answer fails the hook, as nobody could report its result.
	Waits Waits
	Poll  time.Duration // how often a waiting hook looks for its result; default 100ms
}

var _ deploy.HookRunner = HTTP{}

// Event is the JSON an HTTP hook receives: CodeDeploy's Lambda hook event, plus
// what a local hook needs to find the replacement (Environment: the GREENLIGHT_*
// variables a command hook gets).
type Event struct {
	DeploymentID                  string            `json:"DeploymentId"`
	LifecycleEventHookExecutionID string            `json:"LifecycleEventHookExecutionId"`
	LifecycleEvent                string            `json:"LifecycleEvent"`
	Application                   string            `json:"ApplicationName"`
	DeploymentGroup               string            `json:"DeploymentGroupName"`
	Env                           map[string]string `json:"Environment"`
}

// Run posts the event and waits for the answer, and on 202 for the result.
func (h HTTP) Run(ctx context.Context, call deploy.HookCall) error {
	// The wait is recorded before the request: a hook may report its result
	// before its 202 reaches us.
	if h.Waits != nil {
		if err := h.Waits.OpenWait(ctx, waitOf(call)); err != nil {
			return fmt.Errorf("record hook execution %s: %w", call.ExecutionID, err)
		}
	}
	status, err := h.post(ctx, call)
	if err == nil && status == http.StatusAccepted {
		return h.await(ctx, call)
	}
	h.settle(ctx, call, err)
	return err
}

// post sends the event; an error for no answer or one that is not 2xx.
func (h HTTP) post(ctx context.Context, call deploy.HookCall) (int, error) {
	body, err := json.Marshal(eventOf(call))
	if err != nil {
		return 0, fmt.Errorf("encode hook event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.Hook.HTTP, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("hook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST %s: %w", call.Hook.HTTP, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Fprintf(call.Log, "POST %s: %s %s\n", call.Hook.HTTP, resp.Status, strings.TrimSpace(string(snippet)))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("POST %s: %s: %s", call.Hook.HTTP, resp.Status, strings.TrimSpace(string(snippet)))
	}
	return resp.StatusCode, nil
}

// settle records the result of a hook that answered at once, so that a report
// for it is refused.
func (h HTTP) settle(ctx context.Context, call deploy.HookCall, hookErr error) {
	if h.Waits == nil {
		return
	}
	state := WaitSucceeded
	if hookErr != nil {
		state = WaitFailed
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := h.Waits.FinishWait(sctx, call.Deployment.ID, call.ExecutionID, state); err != nil {
		fmt.Fprintf(call.Log, "hook execution %s: record %s: %v\n", call.ExecutionID, state, err)
	}
}

// await polls for the result of a hook that answered 202 until ctx ends.
func (h HTTP) await(ctx context.Context, call deploy.HookCall) error {
	if h.Waits == nil {
		return fmt.Errorf("POST %s answered 202 Accepted, but nothing here records reported hook results", call.Hook.HTTP)
	}
	fmt.Fprintf(call.Log, "hook execution %s waits for its result: PUT /api/v1/deployments/%s/lifecycle-events/%s with Succeeded or Failed\n",
		call.ExecutionID, call.Deployment.ID, call.ExecutionID)
	poll := h.Poll
	if poll <= 0 {
		poll = 100 * time.Millisecond
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	for {
		state, err := h.Waits.WaitState(ctx, call.Deployment.ID, call.ExecutionID)
		switch {
		case err != nil && ctx.Err() == nil:
			return fmt.Errorf("read hook execution %s: %w", call.ExecutionID, err)
		case err == nil && state.Done():
			return outcome(call, state)
		}
		select {
		case <-ctx.Done():
			return h.giveUp(ctx, call)
		case <-tick.C:
		}
	}
}

// giveUp ends a wait whose context ended: timed out at the hook's deadline,
// cancelled otherwise. A result recorded just before wins: its reporter was
// told it was taken.
func (h HTTP) giveUp(ctx context.Context, call deploy.HookCall) error {
	state := WaitCancelled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		state = WaitTimedOut
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := h.Waits.FinishWait(sctx, call.Deployment.ID, call.ExecutionID, state)
	if errors.Is(err, ErrNoLongerWaiting) {
		if got, err := h.Waits.WaitState(sctx, call.Deployment.ID, call.ExecutionID); err == nil {
			return outcome(call, got)
		}
	}
	if err != nil {
		fmt.Fprintf(call.Log, "hook execution %s: record %s: %v\n", call.ExecutionID, state, err)
	}
	fmt.Fprintf(call.Log, "hook execution %s: no result reported (%s)\n", call.ExecutionID, state)
	return fmt.Errorf("hook execution %s: no result reported: %w", call.ExecutionID, ctx.Err())
}

// outcome is what a reported result means for the hook.
func outcome(call deploy.HookCall, state WaitState) error {
	fmt.Fprintf(call.Log, "hook execution %s: %s\n", call.ExecutionID, state)
	switch state {
	case WaitSucceeded:
		return nil
	case WaitFailed:
		return fmt.Errorf("hook execution %s reported Failed", call.ExecutionID)
	default:
		return fmt.Errorf("hook execution %s ended %s", call.ExecutionID, state)
	}
}

func waitOf(call deploy.HookCall) Wait {
	return Wait{
		DeploymentID: call.Deployment.ID, ExecutionID: call.ExecutionID, LifecycleEvent: string(call.Event),
		Hook: call.Hook.Name, Started: time.Now(),
	}
}

func eventOf(call deploy.HookCall) Event {
	ev := Event{
		DeploymentID: call.Deployment.ID, LifecycleEventHookExecutionID: call.ExecutionID, LifecycleEvent: string(call.Event),
		Application: call.Deployment.Application, DeploymentGroup: call.Deployment.Group, Env: map[string]string{},
	}
	for _, kv := range call.Env {
		k, v, _ := strings.Cut(kv, "=")
		ev.Env[k] = v
	}
	return ev
}
