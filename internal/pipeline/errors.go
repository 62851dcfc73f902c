package pipeline

import (
	"errors"

	"github.com/greenlight-ci/greenlight/internal/store"
)

var (
	// ErrNotFound: no such execution, stage or action.
	ErrNotFound = store.ErrNotFound
	// ErrNotRetryable: the stage is not a failed or stopped stage of a finished
	// execution.
	ErrNotRetryable = errors.New("stage not retryable")
	// ErrStageLocked: another execution is running in the stage.
	ErrStageLocked = errors.New("stage locked by another execution")
	// ErrNotStoppable: the execution already finished.
	ErrNotStoppable = errors.New("execution not stoppable")
	// ErrNoPendingApproval: nothing waits for an approval there.
	ErrNoPendingApproval = errors.New("no pending approval")
	// ErrOwnedElsewhere: a live process already drives the execution.
	ErrOwnedElsewhere = errors.New("execution is run by another live process")
	// ErrBadRequest: the request names something the pipeline does not have.
	ErrBadRequest = errors.New("bad request")
)

// Causes of cancellation, so that the engine can tell what ended an action.
var (
	errAbandoned     = errors.New("execution stopped and abandoned")
	errOwnershipLost = errors.New("another process took over the execution")
)
