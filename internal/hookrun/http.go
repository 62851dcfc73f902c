package hookrun

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/deploy"
)

// HTTP posts CodeDeploy's Lambda hook event to the hook's URL; a 2xx answer is
// success, anything else fails the hook with the answer's status and start.
type HTTP struct {
	Client *http.Client // nil: a client with no proxy (hooks are local endpoints)
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

// Run posts the event and waits for the answer.
func (h HTTP) Run(ctx context.Context, call deploy.HookCall) error {
	body, err := json.Marshal(eventOf(call))
	if err != nil {
		return fmt.Errorf("encode hook event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, call.Hook.HTTP, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("hook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := h.Client
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
