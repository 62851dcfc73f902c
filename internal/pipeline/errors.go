package pipeline

import "errors"

// Errors of the engine's operations, for errors.Is.
var (
	// ErrNotFound: no such execution, stage or action.
	ErrNotFound = errors.New("not found")
	// ErrNotRetryable: the stage is not a failed or stopped stage of a finished
	// execution.
	ErrNotRetryable = errors.New("stage not retryable")
	// ErrStageLocked: another execution is running in the stage.
	ErrStageLocked = errors.New("stage locked by another execution")
	// ErrNotStoppable: the execution already finished.
	ErrNotStoppable = errors.New("execution not stoppable")
	// ErrNoPendingApproval: nothing waits for an approval there; the
	// *ApprovalRefusedError that wraps it says why.
	ErrNoPendingApproval = errors.New("no pending approval")
	// ErrOwnedElsewhere: a live process already drives the execution.
	ErrOwnedElsewhere = errors.New("execution is run by another live process")
	// ErrBadRequest: the request names something the pipeline does not have.
	ErrBadRequest = errors.New("bad request")
)

// ErrAbandoned is the cause (context.Cause) of an action's context cancelled
// because its execution was stopped and abandoned.
var ErrAbandoned = errors.New("execution stopped and abandoned")

// errOwnershipLost is the cause of a run's end when another process took over the
// execution.
var errOwnershipLost = errors.New("another process took over the execution")

// RefusalReason says why a decision on an approval was refused.
type RefusalReason string

// Reasons a decision is refused: nothing waits for it.
const (
	RefusedSuperseded RefusalReason = "superseded"      // a newer execution replaced this one
	RefusedFinished   RefusalReason = "finished"        // the execution ended
	RefusedDecided    RefusalReason = "already_decided" // someone approved or rejected it already
	RefusedNotWaiting RefusalReason = "not_waiting"     // the execution does not wait there (yet)
)

// ApprovalRefusedError is a decision nothing waits for; it wraps
// ErrNoPendingApproval.
type ApprovalRefusedError struct {
	Reason RefusalReason
	Detail string
}

func (e *ApprovalRefusedError) Error() string { return e.Detail }

// Unwrap makes the error match ErrNoPendingApproval.
func (e *ApprovalRefusedError) Unwrap() error { return ErrNoPendingApproval }
