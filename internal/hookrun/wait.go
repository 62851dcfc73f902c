package hookrun

import (
	"context"
	"errors"
	"time"
)

// WaitState is where a hook execution that answered 202 (Accepted) stands.
type WaitState string

// The states of a wait. Only a waiting hook execution takes a result.
const (
	WaitWaiting   WaitState = "waiting"   // answered 202; no result yet
	WaitSucceeded WaitState = "succeeded" // reported Succeeded (or answered a 2xx other than 202)
	WaitFailed    WaitState = "failed"    // reported Failed (or its request failed)
	WaitTimedOut  WaitState = "timed_out" // the hook's timeout passed first
	WaitCancelled WaitState = "cancelled" // the deployment stopped, or the controller, while it waited
)

// Done reports whether the wait no longer takes a result.
func (s WaitState) Done() bool { return s != WaitWaiting }

// Wait is one hook execution waiting for its result, as CodeDeploy's
// lifecycle event hook execution.
type Wait struct {
	DeploymentID   string
	ExecutionID    string // LifecycleEventHookExecutionId
	LifecycleEvent string
	Hook           string // the hook's name in the appspec
	Started        time.Time
}

// Waits records hook executions that wait for a result reported later
// (control.HookResults), shared by the controller, which waits, and whoever
// records the report (another process). internal/store implements it on
// SQLite; each call is one transaction.
type Waits interface {
	// OpenWait records that the hook execution waits from now on: a new
	// record, or the one an earlier attempt left (a controller that restarted
	// runs the hook again, under the same id) reset to waiting.
	OpenWait(ctx context.Context, w Wait) error
	// WaitState returns the state of a hook execution's wait; an error wrapping
	// ErrNoWait when none is recorded.
	WaitState(ctx context.Context, deploymentID, executionID string) (WaitState, error)
	// FinishWait moves a waiting hook execution to state (one that is Done): an
	// error wrapping ErrNoWait when none is recorded, ErrNoLongerWaiting when
	// it is Done already (a second report, or one after the timeout).
	FinishWait(ctx context.Context, deploymentID, executionID string, state WaitState) error
}

// Errors of Waits.
var (
	// ErrNoWait means no hook execution of that id waits or waited.
	ErrNoWait = errors.New("no such hook execution")
	// ErrNoLongerWaiting means the hook execution has its result already.
	ErrNoLongerWaiting = errors.New("the hook execution no longer waits for a result")
)
