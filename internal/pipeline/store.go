package pipeline

import (
	"context"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// Store is the durable state the engine works on, shared by every greenlight
// process of a state directory. internal/store implements it on SQLite.
//
// Contract: every decision the engine makes reads state and changes it inside one
// Update, so processes sharing the store agree (stage locks, superseding, retries,
// approvals). Updates are serialized across processes; a View sees a consistent
// snapshot and does not block writers. A record that does not exist is reported as
// an error wrapping ErrNotFound. All methods are safe for concurrent use.
type Store interface {
	// Update runs fn in one write transaction: committed when fn returns nil,
	// rolled back otherwise. fn may run again only if the caller calls Update
	// again; it must not keep the Tx.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// AppendEvent stores an event on its own and returns it with its sequence
	// number.
	AppendEvent(ctx context.Context, e event.Event) (event.Event, error)
	// Events returns the stored events q selects, in the order they happened.
	Events(ctx context.Context, q event.Query) ([]event.Event, error)
}

// Tx is the reads and writes of one transaction (see Store).
type Tx interface {
	ExecutionTx
	StageTx
	ActionTx
	ApprovalTx
	// AppendEvent stores e with the transaction's changes: both commit or neither.
	AppendEvent(e event.Event) (event.Event, error)
}

// ExecutionTx reads and writes executions.
type ExecutionTx interface {
	// InsertExecution records a new execution and sets its Seq.
	InsertExecution(ex *ExecutionRecord) error
	// UpdateExecution writes every mutable field of ex.
	UpdateExecution(ex *ExecutionRecord) error
	// Heartbeat records that ownerID still drives execution id; false when another
	// owner took it over.
	Heartbeat(id, ownerID string, at time.Time) (bool, error)
	Execution(id string) (*ExecutionRecord, error)
	// ExecutionsWithStatus returns the executions of pipeline in one of statuses,
	// oldest first.
	ExecutionsWithStatus(pipeline string, statuses ...Status) ([]*ExecutionRecord, error)
	// ListExecutions returns up to limit executions of pipeline (every pipeline's
	// when ""), newest first, older than beforeSeq when it is not 0.
	ListExecutions(pipeline string, beforeSeq int64, limit int) ([]*ExecutionRecord, error)
}

// StageTx reads and writes stage runs.
type StageTx interface {
	// PutStageRun inserts or replaces the run of (ExecutionID, Stage).
	PutStageRun(r *StageRecord) error
	StageRun(executionID, stage string) (*StageRecord, error)
	// StageRuns returns the stage runs of an execution in stage order.
	StageRuns(executionID string) ([]*StageRecord, error)
	// StageRunsWithStatus returns the runs of one stage of pipeline, of every
	// execution, in one of statuses.
	StageRunsWithStatus(pipeline, stage string, statuses ...Status) ([]*StageRecord, error)
}

// ActionTx reads and writes action attempts and artifacts.
type ActionTx interface {
	// PutActionRun inserts or replaces the attempt (ExecutionID, Stage, Action,
	// Attempt).
	PutActionRun(r *ActionRecord) error
	SetActionExternalID(executionID, stage, action string, attempt int, externalID string) error
	// SetActionProcesses replaces the process groups recorded on an attempt.
	SetActionProcesses(executionID, stage, action string, attempt int, groups []ProcessGroup) error
	// ActionRuns returns every attempt of every action of an execution, by stage,
	// action and attempt.
	ActionRuns(executionID string) ([]*ActionRecord, error)
	// PutArtifact records (or, after a retry, replaces) an artifact.
	PutArtifact(a *ArtifactRecord) error
	DeleteArtifact(executionID, name string) error
	// Artifacts returns an execution's sealed artifacts by name.
	Artifacts(executionID string) ([]*ArtifactRecord, error)
}

// ApprovalTx reads and writes manual approvals.
type ApprovalTx interface {
	// PutApproval inserts or replaces the approval of one action attempt.
	PutApproval(a *ApprovalRecord) error
	// CloseApprovals sets to on the approvals of one action attempt still in from.
	CloseApprovals(executionID, stage, action string, attempt int, from, to ApprovalStatus) error
	// Approvals returns an execution's approvals, oldest first.
	Approvals(executionID string) ([]*ApprovalRecord, error)
	Approval(executionID, stage, action string, attempt int) (*ApprovalRecord, error)
}

// ExecutionRecord is one execution as stored.
type ExecutionRecord struct {
	Seq               int64 // creation order: a higher Seq is a newer execution
	ID                string
	Pipeline          string
	Mode              string // execution mode the execution started under
	Status            Status
	StatusSummary     string
	Trigger           Trigger
	TriggerDetail     string
	RequestedRevision string
	Ref               string // the ref that started it (StartRequest.Ref)
	SourceRevision    map[string]string
	Variables         map[string]string
	// StageIndex is the stage the execution is in or, when Waiting, in front of.
	StageIndex   int
	Waiting      bool
	WaitingSince time.Time
	StopMode     StopMode
	StopReason   string
	Owner        Owner
	StartedAt    time.Time
	UpdatedAt    time.Time
	EndedAt      time.Time
}

// Owner identifies the process driving an execution.
type Owner struct {
	ID        string // one engine instance
	PID       int
	Start     uint64 // process start time (clock ticks since boot)
	Host      string
	Heartbeat time.Time
}

// StageRecord is one execution's run of one stage (retries bump Attempt).
type StageRecord struct {
	ExecutionID string
	Pipeline    string
	Stage       string
	Index       int
	Attempt     int
	Status      Status
	Message     string
	RetryMode   RetryMode
	StartedAt   time.Time
	EndedAt     time.Time
}

// ActionRecord is one attempt of one action.
type ActionRecord struct {
	ExecutionID     string
	Stage           string
	Action          string
	Attempt         int
	RunOrder        int
	Provider        string
	Status          Status
	Summary         string
	ErrorMessage    string
	ExternalID      string
	ExternalURL     string
	OutputVariables map[string]string
	Data            map[string]any
	LogPath         string
	// Processes are the process groups the attempt started that may still run
	// (cleared when it ends): killed before it is resumed or given up after a
	// crash.
	Processes []ProcessGroup
	StartedAt time.Time
	EndedAt   time.Time
}

// ArtifactRecord is a sealed output artifact of an execution.
type ArtifactRecord struct {
	ExecutionID string
	Name        string
	Stage       string
	Action      string
	Attempt     int
	Dir         string
	SealedAt    time.Time
}

// ApprovalRecord is the request and decision of one Manual approval attempt.
type ApprovalRecord struct {
	ExecutionID        string
	Stage              string
	Action             string
	Attempt            int
	Status             ApprovalStatus
	CustomData         string
	ExternalEntityLink string
	NotificationArn    string
	RequestedAt        time.Time
	ExpiresAt          time.Time
	DecidedBy          string
	DecidedAt          time.Time
	Summary            string
}

// ProcessTable tells whether a process of this host still runs, so that the engine
// can tell an execution whose owner crashed from one a live process drives.
// internal/procfs implements it from /proc.
type ProcessTable interface {
	// StartTime returns when process pid started; an error when it does not run.
	StartTime(pid int) (uint64, error)
	// Alive reports whether pid runs and is the process that started at start.
	Alive(pid int, start uint64) bool
	// KillGroup SIGKILLs what is left of process group pgid, whose leader
	// started at start (env tells its processes once the leader is gone), waits
	// until none of them runs or ctx ends, and returns how many it signalled. It
	// never signals a process of another group that took the same id.
	KillGroup(ctx context.Context, pgid int, start uint64, env string) (int, error)
}
