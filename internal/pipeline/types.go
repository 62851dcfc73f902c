package pipeline

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Provider runs one action kind (CodeBuild, ECS, CodeDeployToECS, Git, Manual, ...).
//
// Run performs one attempt of an action and may be called concurrently for
// different actions. ctx is cancelled on "stop and abandon", when the action's
// timeout passes and when the process shuts down; on a plain "stop" the engine lets
// in-progress actions finish. A returned error is an infrastructure failure (the
// action fails with it); an action that ran and failed returns Outcome{Status:
// Failed}.
type Provider interface {
	Run(ctx context.Context, a *ActionRun) (Outcome, error)
}

// DefaultTimeouter is implemented by providers whose actions have a timeout when the
// definition sets none (CodePipeline's Manual approval: 7 days).
type DefaultTimeouter interface {
	DefaultTimeout() time.Duration
}

// ActionRun is what a provider gets for one attempt of one action.
type ActionRun struct {
	Pipeline, ExecutionID, Stage, Action string
	Attempt                              int
	Def                                  *manifest.Action
	Config                               map[string]string // configuration with #{...} variables resolved
	Inputs                               []Artifact        // read-only directories, in input_artifacts order
	Outputs                              []Artifact        // empty directories to fill, in output_artifacts order
	Source                               Revision          // the execution's source revision (from the Source stage)
	// RequestedRevision is StartRequest.Revision (a commit or ref): a source
	// provider fetches it instead of the head of its branch.
	RequestedRevision string
	Log               io.Writer  // the action's log (file + live); providers write lines
	Events            event.Sink // progress/lifecycle events, pipeline/execution/stage/action pre-filled
	StateDir          string     // the state directory (.greenlight/)
	DefinitionDir     string     // where relative paths of the definition resolve
	Logger            *slog.Logger
	// ExternalID is what an earlier attempt of THIS action (in a process that
	// crashed) recorded with SetExternalID, e.g. a deployment id; a provider resumes
	// it instead of starting over. SetExternalID persists before it returns, so a
	// provider records the id before it acts on it.
	ExternalID    string
	SetExternalID func(id string) error
	// RecordProcessGroup records, durably, a process group the provider started
	// on this host (a build's shell leads one) before the group runs anything.
	// Should this process die, the process that resumes the attempt, or gives it
	// up, kills what is left of the group first. Safe for concurrent use.
	RecordProcessGroup func(g ProcessGroup) error
}

// ProcessGroup is a process group an action attempt started: its id, its
// leader's start time (with the id, it names one group for good) and the
// KEY=VALUE its processes inherit, which tells them once the leader is gone
// (internal/procfs.Group says how). Host is where it runs.
type ProcessGroup struct {
	PGID  int    `json:"pgid"`
	Start uint64 `json:"start"`
	Env   string `json:"env,omitempty"`
	Host  string `json:"host"`
}

// Artifact is a named directory of an execution's artifact store.
type Artifact struct{ Name, Dir string }

// Revision is the source revision an execution carries.
type Revision struct {
	CommitID   string `json:"commit_id,omitempty"`
	Branch     string `json:"branch,omitempty"`
	Message    string `json:"message,omitempty"`
	Author     string `json:"author,omitempty"`
	Repository string `json:"repository,omitempty"`
}

// Action outcome statuses a provider returns.
const (
	Succeeded = StatusSucceeded
	Failed    = StatusFailed
)

// Outcome is what one attempt of an action produced.
type Outcome struct {
	Status          Status            // Succeeded | Failed
	Summary         string            // one line shown next to the action
	ErrorMessage    string            // why it failed
	ExternalURL     string            // where to look at it elsewhere
	OutputVariables map[string]string // into the action's namespace
	Data            map[string]any    // e.g. report summaries, deployment id: stored with the action
}

// Options configure an Engine.
type Options struct {
	StateDir  string              // required: artifacts/<exec>/<name>/, logs/<exec>/<stage>.<action>.log
	Providers map[string]Provider // by provider name; "Manual" defaults to the built-in approval
	Events    event.Sink          // every event also goes to the store
	Logger    *slog.Logger
	// LogOutput optionally mirrors action logs live (nil: file only).
	LogOutput func(stage, action string) io.Writer
	Now       func() time.Time // default time.Now
	// PollInterval is how often a running execution looks for decisions other
	// processes write (stop, approvals, free stages). Default 150ms.
	PollInterval time.Duration
	// HeartbeatInterval is how often the owner of an execution says it is alive.
	// Default 2s.
	HeartbeatInterval time.Duration
	// Processes tells whether the process owning an execution still runs (nil:
	// only heartbeats tell, after staleHeartbeats missed ones).
	Processes ProcessTable
}

// Trigger is what started an execution (CodePipeline's trigger types plus the CLI).
type Trigger string

// Triggers of an execution.
const (
	TriggerStart   Trigger = "StartPipelineExecution"
	TriggerWebhook Trigger = "Webhook"
	TriggerCLI     Trigger = "CLI"
)

// StartRequest asks for a new execution.
type StartRequest struct {
	Trigger       Trigger // TriggerStart (default), TriggerWebhook, TriggerCLI
	TriggerDetail string  // who or what: a user, a webhook delivery id
	Revision      string  // a commit or ref for the source actions; "" for the branch head
	// Ref is the ref whose push (or pull request) started the execution:
	// refs/tags/v1.2.0, refs/heads/main; "" when nothing says.
	Ref       string
	Variables map[string]string // overrides of pipeline variable defaults
}

// Status is the status of an execution, a stage or an action.
type Status string

// Execution, stage and action statuses (CodePipeline's names).
const (
	StatusInProgress Status = "InProgress"
	StatusStopping   Status = "Stopping"
	StatusStopped    Status = "Stopped"
	StatusSucceeded  Status = "Succeeded"
	StatusSuperseded Status = "Superseded"
	StatusFailed     Status = "Failed"
	StatusAbandoned  Status = "Abandoned" // actions only
)

// Final reports whether an execution in status s is done.
func (s Status) Final() bool {
	switch s {
	case StatusStopped, StatusSucceeded, StatusSuperseded, StatusFailed:
		return true
	}
	return false
}

// RetryMode says which actions RetryStage runs again.
type RetryMode string

// Retry modes (CodePipeline's).
const (
	RetryFailedActions RetryMode = "FAILED_ACTIONS"
	RetryAllActions    RetryMode = "ALL_ACTIONS"
)

// ApprovalStatus is the state of a manual approval, as approval events carry it.
type ApprovalStatus string

// Approval statuses.
const (
	ApprovalNeeded    ApprovalStatus = "Needed"
	ApprovalApproved  ApprovalStatus = "Approved"
	ApprovalRejected  ApprovalStatus = "Rejected"
	ApprovalFailed    ApprovalStatus = "Failed" // timed out
	ApprovalAbandoned ApprovalStatus = "Abandoned"
)

// StopMode is how an execution is being stopped.
type StopMode string

// Stop modes: let in-progress actions finish, or abandon them.
const (
	StopWait    StopMode = "wait"
	StopAbandon StopMode = "abandon"
)

// statusPending marks an attempt that RetryStage scheduled and nobody started yet.
const statusPending Status = "Pending"

// statusResumed is the status of the event that says an execution or stage goes
// on after a crash or a retry.
const statusResumed Status = "Resumed"
