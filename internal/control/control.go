// Package control is greenlight's control surface: one interface, Backend, for
// everything a person does to greenlight — list pipelines and executions, start,
// stop, retry and resume them, read logs and reports, approve or reject, create,
// continue, stop or roll back deployments, read alarms and events — with the
// read-model types it returns and the typed errors it fails with.
//
// Callers (the CLI) use only this interface, so every verb works the same on
// every backend: control/local drives this machine's engine, control/aws
// operates the pipeline on AWS. The types are the wire format of the CLI's --json output: their JSON
// field names are stable. controltest holds the contract suite every backend
// passes.
package control

import (
	"context"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// Backend is the control surface.
//
// Contract, for every implementation:
//   - All methods are safe for concurrent use.
//   - Reads (List*, Get*, ReadLog, Reports, Alarms, Events) never change state.
//   - A failed call returns an *Error: errors.Is(err, ErrNotFound) for what does
//     not exist, ErrConflict for a request the state refuses (Error.Reason says
//     why), ErrBadRequest for a request that can never succeed as written,
//     ErrNotSupported for a verb this backend does not have, ErrUnavailable when
//     something the call needs does not answer. Other errors are failures of the
//     backend itself.
//   - Execution and deployment ids are the full ids the backend returned.
//   - Close stops what the backend runs in this process and releases what it
//     holds; it is idempotent. Work it started elsewhere (a deployment the
//     controller drives, an execution another process runs) goes on.
type Backend interface {
	Pipelines
	Executions
	Approvals
	Logs
	Deployments
	HookResults
	Alarms
	Metrics
	Changes
	Events
	Close() error
}

// Pipelines lists what a backend runs.
type Pipelines interface {
	// ListPipelines returns the pipelines of this backend with their latest
	// execution.
	ListPipelines(ctx context.Context) ([]Pipeline, error)
}

// Executions reads and drives pipeline executions.
type Executions interface {
	// ListExecutions returns executions newest first, a page at a time.
	ListExecutions(ctx context.Context, q ExecutionQuery) (ExecutionPage, error)
	// GetExecution returns one execution with its stages, actions and approvals.
	GetExecution(ctx context.Context, id string) (*Execution, error)
	// StartExecution starts an execution and returns its id; the backend drives
	// it (the local backend in this process until Close, after which a resume
	// continues it). Not idempotent: every call starts one.
	StartExecution(ctx context.Context, req StartRequest) (string, error)
	// StopExecution stops an execution (Conflict "finished" when it already
	// ended). Asking again, or asking to abandon a stop that waits, is allowed.
	StopExecution(ctx context.Context, req StopRequest) error
	// RetryStage reruns a failed or stopped stage of a finished execution and
	// drives the execution on (Conflict "not_retryable" or "stage_locked").
	RetryStage(ctx context.Context, req RetryRequest) error
	// ResumeExecutions takes over the executions whose driver is gone and drives
	// them; it returns their ids (none: nothing to resume).
	ResumeExecutions(ctx context.Context) ([]string, error)
}

// Approvals decides manual approvals.
type Approvals interface {
	// Decide approves or rejects what an execution waits for. A decision nothing
	// waits for is a Conflict whose Reason is "superseded", "finished",
	// "already_decided" or "not_waiting". Several approvals pending and no stage
	// or action named is a BadRequest.
	Decide(ctx context.Context, d Decision) error
}

// Logs reads what actions wrote and reported.
type Logs interface {
	// ReadLog returns an action's log (secrets masked) from an offset; LogChunk
	// says where to read next and whether more may come.
	ReadLog(ctx context.Context, req LogRequest) (LogChunk, error)
	// Reports returns the test and coverage reports an action produced.
	Reports(ctx context.Context, ref ActionRef) ([]report.Report, error)
}

// Deployments reads, creates and commands deployments.
type Deployments interface {
	// ListDeployments returns deployments newest first.
	ListDeployments(ctx context.Context, q DeploymentQuery) ([]*Deployment, error)
	// GetDeployment returns one deployment with its lifecycle steps.
	GetDeployment(ctx context.Context, id string) (*Deployment, error)
	// CreateDeployment records a blue-green deployment; the backend's controller
	// drives it. Follow it with FollowDeployment.
	CreateDeployment(ctx context.Context, req DeploymentRequest) (*Deployment, error)
	// CommandDeployment queues continue, stop or rollback for a deployment (the
	// only active one when none is named) and returns it as it was then; the
	// controller acts within a poll. Follow it with FollowDeployment.
	CommandDeployment(ctx context.Context, c DeploymentCommand) (*Deployment, error)
}

// HookResults receives what a lifecycle hook that answered 202 (Accepted)
// reports later, as CodeDeploy's PutLifecycleEventHookExecutionStatus.
type HookResults interface {
	// PutHookResult records the result of a hook execution that waits for one:
	// NotFound for an unknown deployment or hook execution id, Conflict
	// "finished" when it no longer waits (it timed out, was reported already,
	// or its deployment ended), BadRequest for a status other than Succeeded or
	// Failed. The hook's timeout still applies while it waits.
	PutHookResult(ctx context.Context, r HookResult) error
}

// Alarms reads the alarms of the deployment groups.
type Alarms interface {
	// Alarms evaluates every alarm now on production and on the replacement of
	// an active deployment. Unavailable when the metrics cannot be read.
	Alarms(ctx context.Context) ([]AlarmStatus, error)
}

// Metrics reads the router's view of a deployment's traffic.
type Metrics interface {
	// DeploymentMetrics returns each target group of a deployment's service with
	// its role in the deployment, its weights and targets now, and its traffic
	// per second after q.Since (as far back as the router keeps it: minutes).
	// NotFound for an unknown deployment; Unavailable when the router does not
	// answer.
	DeploymentMetrics(ctx context.Context, q MetricsQuery) ([]TargetGroupMetrics, error)
}

// Changes reads what an execution's revision brings to production.
type Changes interface {
	// ChangesSinceProduction returns the commits of an execution's source
	// revision that the revision production runs does not have, newest first.
	// NotFound for an unknown execution.
	ChangesSinceProduction(ctx context.Context, executionID string) (ChangeSet, error)
}

// Events reads what happened: the primitive for following anything live.
type Events interface {
	// Events returns the events q selects in the order they happened; callers
	// follow by asking again with AfterSeq set to the last Seq seen.
	Events(ctx context.Context, q event.Query) ([]event.Event, error)
}
