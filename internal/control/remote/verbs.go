package remote

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/report"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// ListPipelines lists the server's pipelines.
func (b *Backend) ListPipelines(ctx context.Context) ([]control.Pipeline, error) {
	var out []control.Pipeline
	return out, b.call(ctx, http.MethodGet, path("pipelines"), nil, nil, &out)
}

// ListExecutions returns a page of executions.
func (b *Backend) ListExecutions(ctx context.Context, q control.ExecutionQuery) (control.ExecutionPage, error) {
	v := url.Values{}
	set(v, "pipeline", q.Pipeline)
	set(v, "page_token", q.PageToken)
	setInt(v, "limit", int64(q.Limit))
	var out control.ExecutionPage
	return out, b.call(ctx, http.MethodGet, path("executions"), v, nil, &out)
}

// GetExecution returns one execution.
func (b *Backend) GetExecution(ctx context.Context, id string) (*control.Execution, error) {
	var out control.Execution
	if err := b.call(ctx, http.MethodGet, path("executions", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// StartExecution starts an execution as the token's name (req.Who is not sent).
func (b *Backend) StartExecution(ctx context.Context, req control.StartRequest) (string, error) {
	var out server.Started
	in := server.StartBody{Pipeline: req.Pipeline, Revision: req.Revision, Ref: req.Ref, Variables: req.Variables, Trigger: req.Trigger}
	return out.ExecutionID, b.call(ctx, http.MethodPost, path("executions"), nil, in, &out)
}

// StopExecution stops an execution.
func (b *Backend) StopExecution(ctx context.Context, req control.StopRequest) error {
	return b.call(ctx, http.MethodPost, path("executions", req.ExecutionID, "stop"), nil, server.StopBody{Abandon: req.Abandon, Reason: req.Reason}, nil)
}

// RetryStage reruns a stage.
func (b *Backend) RetryStage(ctx context.Context, req control.RetryRequest) error {
	return b.call(ctx, http.MethodPost, path("executions", req.ExecutionID, "retry"), nil, server.RetryBody{Stage: req.Stage, All: req.All}, nil)
}

// ResumeExecutions has the server take over executions whose driver is gone.
func (b *Backend) ResumeExecutions(ctx context.Context) ([]string, error) {
	var out server.Resumed
	return out.ExecutionIDs, b.call(ctx, http.MethodPost, path("executions", "resume"), nil, nil, &out)
}

// Decide approves or rejects. d.Who is required as on every backend; the
// server records the token's name as who decided.
func (b *Backend) Decide(ctx context.Context, d control.Decision) error {
	if d.Who == "" {
		return control.Errorf(control.CodeBadRequest, "a decision needs who decides")
	}
	verb := "reject"
	if d.Approve {
		verb = "approve"
	}
	in := server.DecisionBody{Stage: d.Stage, Action: d.Action, Comment: d.Comment}
	return b.call(ctx, http.MethodPost, path("executions", d.ExecutionID, verb), nil, in, nil)
}

func actionPath(ref control.ActionRef, what string) string {
	return path("executions", ref.ExecutionID, "stages", ref.Stage, "actions", ref.Action, what)
}

// ReadLog returns part of an action's log.
func (b *Backend) ReadLog(ctx context.Context, req control.LogRequest) (control.LogChunk, error) {
	v := url.Values{}
	setInt(v, "offset", req.Offset)
	setInt(v, "limit", int64(req.Limit))
	var out control.LogChunk
	return out, b.call(ctx, http.MethodGet, actionPath(req.ActionRef, "log"), v, nil, &out)
}

// Reports returns an action's reports.
func (b *Backend) Reports(ctx context.Context, ref control.ActionRef) ([]report.Report, error) {
	var out []report.Report
	return out, b.call(ctx, http.MethodGet, actionPath(ref, "reports"), nil, nil, &out)
}

// ListDeployments returns deployments newest first.
func (b *Backend) ListDeployments(ctx context.Context, q control.DeploymentQuery) ([]*control.Deployment, error) {
	v := url.Values{}
	set(v, "service", q.Service)
	setInt(v, "limit", int64(q.Limit))
	var out []*control.Deployment
	return out, b.call(ctx, http.MethodGet, path("deployments"), v, nil, &out)
}

// GetDeployment returns one deployment.
func (b *Backend) GetDeployment(ctx context.Context, id string) (*control.Deployment, error) {
	var out control.Deployment
	if err := b.call(ctx, http.MethodGet, path("deployments", id), nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateDeployment records a deployment; its paths are on the server's
// machine.
func (b *Backend) CreateDeployment(ctx context.Context, req control.DeploymentRequest) (*control.Deployment, error) {
	in := server.DeploymentBody{Application: req.Application, Group: req.Group, TaskDef: req.TaskDef, AppSpec: req.AppSpec, RevisionDir: req.RevisionDir}
	var out control.Deployment
	if err := b.call(ctx, http.MethodPost, path("deployments"), nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CommandDeployment continues, stops or rolls back a deployment (the only
// active one when none is named).
func (b *Backend) CommandDeployment(ctx context.Context, c control.DeploymentCommand) (*control.Deployment, error) {
	if err := control.CheckCommand(c.Command); err != nil {
		return nil, err
	}
	id := c.DeploymentID
	if id == "" {
		id = server.ActiveDeployment
	}
	var out control.Deployment
	if err := b.call(ctx, http.MethodPost, path("deployments", id, string(c.Command)), nil, server.CommandBody{Reason: c.Reason}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// PutHookResult reports an asynchronous hook's result.
func (b *Backend) PutHookResult(ctx context.Context, r control.HookResult) error {
	return b.call(ctx, http.MethodPut, path("deployments", r.DeploymentID, "lifecycle-events", r.HookExecutionID), nil, server.HookResultBody{Status: r.Status}, nil)
}

// Alarms evaluates every alarm now.
func (b *Backend) Alarms(ctx context.Context) ([]control.AlarmStatus, error) {
	var out []control.AlarmStatus
	return out, b.call(ctx, http.MethodGet, path("alarms"), nil, nil, &out)
}

// DeploymentMetrics returns a deployment's traffic.
func (b *Backend) DeploymentMetrics(ctx context.Context, q control.MetricsQuery) ([]control.TargetGroupMetrics, error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	var out []control.TargetGroupMetrics
	return out, b.call(ctx, http.MethodGet, path("deployments", q.DeploymentID, "metrics"), v, nil, &out)
}

// ChangesSinceProduction returns what an execution brings to production.
func (b *Backend) ChangesSinceProduction(ctx context.Context, executionID string) (control.ChangeSet, error) {
	var out control.ChangeSet
	return out, b.call(ctx, http.MethodGet, path("executions", executionID, "changes"), nil, nil, &out)
}

// Events returns the events q selects.
func (b *Backend) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	v := url.Values{}
	set(v, "execution_id", q.ExecutionID)
	setInt(v, "after", q.AfterSeq)
	setInt(v, "limit", int64(q.Limit))
	for _, id := range q.DeploymentIDs {
		v.Add("deployment_id", id)
	}
	for _, k := range q.Kinds {
		v.Add("kind", string(k))
	}
	var out []event.Event
	return out, b.call(ctx, http.MethodGet, path("events"), v, nil, &out)
}

func set(v url.Values, name, value string) {
	if value != "" {
		v.Set(name, value)
	}
}

func setInt(v url.Values, name string, n int64) {
	if n != 0 {
		v.Set(name, strconv.FormatInt(n, 10))
	}
}
