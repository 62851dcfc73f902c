package control

import (
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// The read model of executions is the engine's view of them, CodePipeline's shape
// with CodePipeline's names; its JSON is the wire format (`greenlight status
// --json` prints an Execution).
type (
	// Execution is one execution with its stages, actions, approvals and
	// artifacts.
	Execution = pipeline.ExecutionView
	// ExecutionSummary is one line of the execution history.
	ExecutionSummary = pipeline.ExecutionSummary
	// Stage is one stage of an execution.
	Stage = pipeline.StageView
	// Action is the latest attempt of an action, with the earlier ones.
	Action = pipeline.ActionView
	// Approval is the request and decision of a manual approval.
	Approval = pipeline.ApprovalView
	// Revision is the source revision of an execution.
	Revision = pipeline.Revision
	// Wait says why an execution waits in front of a stage.
	Wait = pipeline.Wait
	// ExecutionStatus is the status of an execution, a stage or an action.
	ExecutionStatus = pipeline.Status
	// ApprovalStatus is the state of a manual approval.
	ApprovalStatus = pipeline.ApprovalStatus
	// Trigger is what started an execution.
	Trigger = pipeline.Trigger
)

// Execution statuses (CodePipeline's names) and what the verbs use of the rest.
const (
	StatusInProgress = pipeline.StatusInProgress
	StatusStopping   = pipeline.StatusStopping
	StatusStopped    = pipeline.StatusStopped
	StatusSucceeded  = pipeline.StatusSucceeded
	StatusSuperseded = pipeline.StatusSuperseded
	StatusFailed     = pipeline.StatusFailed
	StatusAbandoned  = pipeline.StatusAbandoned
	ApprovalNeeded   = pipeline.ApprovalNeeded
	TriggerCLI       = pipeline.TriggerCLI
	TriggerStart     = pipeline.TriggerStart
	TriggerWebhook   = pipeline.TriggerWebhook
)

// The read model of deployments is the controller's record, CodeDeploy's shape
// with CodeDeploy's names (`greenlight deployments --json` prints them).
type (
	// Deployment is one deployment with its lifecycle steps and configuration.
	Deployment = deploy.Deployment
	// DeploymentStatus is a deployment's status.
	DeploymentStatus = deploy.Status
	// Step is one lifecycle event of a deployment.
	Step = deploy.Step
	// TaskReplacement is a production task the service scheduler replaced.
	TaskReplacement = deploy.TaskReplacement
	// CommandName is what a DeploymentCommand asks for.
	CommandName = deploy.CommandName
)

// Deployment statuses, kinds and commands the verbs use.
const (
	DeploymentReady  = deploy.StatusReady
	DeploymentBaking = deploy.StatusBaking
	KindRollback     = deploy.KindRollback
	KindStandard     = deploy.KindStandard
	CommandContinue  = deploy.CommandContinue
	CommandStop      = deploy.CommandStop
	CommandRollback  = deploy.CommandRollback
)

// Pipeline is one pipeline a backend runs.
type Pipeline struct {
	Name          string            `json:"name"`
	ExecutionMode string            `json:"execution_mode"`
	Stages        []string          `json:"stages"`
	Latest        *ExecutionSummary `json:"latest_execution,omitempty"`
}

// ExecutionQuery selects a page of executions.
type ExecutionQuery struct {
	Pipeline  string `json:"pipeline,omitempty"`   // "": every pipeline of the backend
	Limit     int    `json:"limit,omitempty"`      // 0: the backend's default (20)
	PageToken string `json:"page_token,omitempty"` // from the previous page; "": the newest
}

// ExecutionPage is one page of executions, newest first.
type ExecutionPage struct {
	Executions    []ExecutionSummary `json:"executions"`
	NextPageToken string             `json:"next_page_token,omitempty"` // "": no older executions
}

// StartRequest asks for a new execution.
type StartRequest struct {
	Pipeline string `json:"pipeline,omitempty"` // "": the backend's only pipeline
	Revision string `json:"revision,omitempty"` // a commit or ref; "": the head of the source branch
	// Ref is the ref whose push started the execution (refs/tags/v1.2.0), shown
	// with it; the commit run is Revision.
	Ref       string            `json:"ref,omitempty"`
	Variables map[string]string `json:"variables,omitempty"`
	Trigger   Trigger           `json:"trigger,omitempty"` // default TriggerCLI
	Who       string            `json:"who"`               // who or what asked: a user, a webhook delivery
}

// StopRequest asks an execution to stop.
type StopRequest struct {
	ExecutionID string `json:"execution_id"`
	// Abandon cancels in-progress actions instead of letting them finish.
	Abandon bool   `json:"abandon,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// RetryRequest asks to rerun a failed or stopped stage.
type RetryRequest struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	All         bool   `json:"all,omitempty"` // every action of the stage, not only those that did not succeed
}

// Decision approves or rejects a manual approval.
type Decision struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage,omitempty"`  // with Action, optional: the only approval pending
	Action      string `json:"action,omitempty"` //
	Approve     bool   `json:"approve"`          // false rejects
	Who         string `json:"who"`              // required
	Comment     string `json:"comment,omitempty"`
}

// ActionRef names one action of an execution.
type ActionRef struct {
	ExecutionID string `json:"execution_id"`
	Stage       string `json:"stage"`
	Action      string `json:"action"`
}

// LogRequest asks for part of an action's log (every attempt appends to it).
type LogRequest struct {
	ActionRef
	// Offset is the byte to start at; a negative one counts from the end.
	Offset int64 `json:"offset,omitempty"`
	Limit  int   `json:"limit,omitempty"` // bytes; 0: the backend's default (1 MiB)
}

// LogChunk is part of an action's log.
type LogChunk struct {
	Text       string `json:"text"`        // masked as written; may end inside a line
	Offset     int64  `json:"offset"`      // where Text starts
	NextOffset int64  `json:"next_offset"` // where to read next
	// More is true while the log may grow or has more to read: the action has not
	// ended, or Text stopped at Limit.
	More bool `json:"more"`
}

// DeploymentQuery selects deployments.
type DeploymentQuery struct {
	Service string `json:"service,omitempty"` // "": every service
	Limit   int    `json:"limit,omitempty"`   // 0: the backend's default (20)
}

// DeploymentRequest asks for one blue-green deployment outside a pipeline. Paths
// are on the backend's machine.
type DeploymentRequest struct {
	Application string `json:"application,omitempty"` // with Group; both "": the only deployment group
	Group       string `json:"deployment_group,omitempty"`
	TaskDef     string `json:"taskdef"` // task definition (ECS JSON)
	AppSpec     string `json:"appspec"` // CodeDeploy appspec (ECS form)
	// RevisionDir is where hooks and process tasks run ("": the task
	// definition's directory).
	RevisionDir string `json:"revision_dir,omitempty"`
	Who         string `json:"who"`
}

// DeploymentCommand asks a deployment to continue, stop or roll back.
type DeploymentCommand struct {
	DeploymentID string      `json:"deployment_id,omitempty"` // "": the only active deployment
	Command      CommandName `json:"command"`
	Reason       string      `json:"reason,omitempty"`
	Who          string      `json:"who"`
}

// Alarm states and datapoints are CloudWatch's (internal/alarm).
type (
	// AlarmState is OK, ALARM or INSUFFICIENT_DATA.
	AlarmState = alarm.State
	// Datapoint is one period of an alarm's evaluation range.
	Datapoint = alarm.Datapoint
)

// AlarmStatus is one alarm evaluated now on one target group.
type AlarmStatus struct {
	Alarm       string      `json:"alarm"`
	Group       string      `json:"deployment_group"` // application/group
	Service     string      `json:"service"`
	TargetGroup string      `json:"target_group"`
	Role        string      `json:"role"` // production, or "replacement <deployment>"
	State       AlarmState  `json:"state"`
	Reason      string      `json:"reason"`
	Datapoints  []Datapoint `json:"datapoints"`
}

// MetricsQuery selects a deployment's traffic.
type MetricsQuery struct {
	DeploymentID string    `json:"deployment_id"`
	Since        time.Time `json:"since,omitzero"` // zero: all the router keeps
}

// Roles of a target group in a deployment.
const (
	RoleOriginal    = "original"    // served production when the deployment started (blue)
	RoleReplacement = "replacement" // receives the new revision (green)
)

// TargetGroupMetrics is one target group of a deployment's service: its role,
// weights and targets now, and its traffic, one point a second, oldest first.
type TargetGroupMetrics struct {
	TargetGroup      string         `json:"target_group"`
	Role             string         `json:"role,omitempty"` // RoleOriginal, RoleReplacement, "" for neither
	ProductionWeight int            `json:"production_weight"`
	Test             bool           `json:"test,omitempty"` // the test listener forwards to it
	Targets          []TargetHealth `json:"targets"`
	Points           []MetricsPoint `json:"points"`
}

// TargetHealth is one target as the router sees it now (ALB's states: initial,
// healthy, unhealthy, draining).
type TargetHealth struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"` // the last failed health check
}

// MetricsPoint is one second of a target group's traffic, as ALB's metrics
// count it.
type MetricsPoint struct {
	Time      time.Time `json:"time"`       // start of the second
	Requests  float64   `json:"requests"`   // requests per second
	ErrorRate float64   `json:"error_rate"` // fraction of requests answered 5xx, by the target or the router
	P99       float64   `json:"p99"`        // target response time, seconds (0 without requests)
}

// ChangeSet is what an execution's revision adds to the one in production.
type ChangeSet struct {
	// Production is the commit production runs ("" when nothing was released).
	Production string   `json:"production_commit,omitempty"`
	Revision   string   `json:"revision_commit"`
	Commits    []Commit `json:"commits"`             // newest first
	Truncated  bool     `json:"truncated,omitempty"` // more commits than listed
}

// Commit is one commit of a revision's history.
type Commit struct {
	ID      string    `json:"id"`
	Author  string    `json:"author"`
	Time    time.Time `json:"time"`
	Subject string    `json:"subject"`
}

// HookStatus is the result an asynchronous lifecycle hook reports.
type HookStatus string

// The results CodeDeploy's PutLifecycleEventHookExecutionStatus takes.
const (
	HookSucceeded HookStatus = "Succeeded"
	HookFailed    HookStatus = "Failed"
)

// HookResult is what PutLifecycleEventHookExecutionStatus carries.
type HookResult struct {
	DeploymentID    string     `json:"deploymentId"`
	HookExecutionID string     `json:"lifecycleEventHookExecutionId"`
	Status          HookStatus `json:"status"`
}
