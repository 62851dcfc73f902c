package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/hookrun"
)

// Two processes reporting one hook execution's result at once (or a report
// racing the timeout): exactly one finds it waiting, the other is told it no
// longer waits, and the state is the winner's.
func TestConcurrentResultsOfOneHookExecution(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	var waits []HookWaits
	for range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		waits = append(waits, HookWaits{DB: db})
	}
	for round := range 20 {
		id := fmt.Sprintf("d-ROUND%d-AfterAllowTestTraffic", round)
		if err := waits[0].OpenWait(ctx, hookrun.Wait{DeploymentID: "d-1", ExecutionID: id, LifecycleEvent: "AfterAllowTestTraffic", Started: time.Now()}); err != nil {
			t.Fatal(err)
		}
		states := []hookrun.WaitState{hookrun.WaitSucceeded, hookrun.WaitTimedOut}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, w := range waits {
			wg.Go(func() { errs[i] = w.FinishWait(ctx, "d-1", id, states[i]) })
		}
		wg.Wait()
		winner := slicesIndexNil(errs)
		if winner < 0 || !errors.Is(errs[1-winner], hookrun.ErrNoLongerWaiting) {
			t.Fatalf("round %d: %v", round, errs)
		}
		if got, err := waits[1].WaitState(ctx, "d-1", id); err != nil || got != states[winner] {
			t.Fatalf("round %d: state %s, %v; want %s", round, got, err, states[winner])
		}
	}
}

func slicesIndexNil(errs []error) int {
	switch {
	case errs[0] == nil && errs[1] != nil:
		return 0
	case errs[1] == nil && errs[0] != nil:
		return 1
	}
	return -1
}

func TestHookWaitsRefuseUnknownAndReopenForANewAttempt(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := HookWaits{DB: db}
	if err := w.FinishWait(ctx, "d-1", "d-1-BeforeInstall", hookrun.WaitSucceeded); !errors.Is(err, hookrun.ErrNoWait) {
		t.Errorf("unknown hook execution: %v", err)
	}
	if _, err := w.WaitState(ctx, "d-1", "d-1-BeforeInstall"); !errors.Is(err, hookrun.ErrNoWait) {
		t.Errorf("unknown hook execution: %v", err)
	}
	wait := hookrun.Wait{DeploymentID: "d-1", ExecutionID: "d-1-BeforeInstall", LifecycleEvent: "BeforeInstall", Hook: "check", Started: time.Now()}
	if err := w.OpenWait(ctx, wait); err != nil {
		t.Fatal(err)
	}
	if err := w.FinishWait(ctx, "d-2", "d-1-BeforeInstall", hookrun.WaitSucceeded); !errors.Is(err, hookrun.ErrNoWait) {
		t.Errorf("the id under another deployment: %v", err)
	}
	if err := w.FinishWait(ctx, "d-1", "d-1-BeforeInstall", hookrun.WaitWaiting); err == nil {
		t.Error("finished as waiting")
	}
	if err := w.FinishWait(ctx, "d-1", "d-1-BeforeInstall", hookrun.WaitFailed); err != nil {
		t.Fatal(err)
	}
	err = w.FinishWait(ctx, "d-1", "d-1-BeforeInstall", hookrun.WaitSucceeded)
	if !errors.Is(err, hookrun.ErrNoLongerWaiting) || !strings.Contains(fmt.Sprint(err), "failed") {
		t.Errorf("a second result: %v", err)
	}
	// A controller that restarted runs the hook again under the same id.
	if err := w.OpenWait(ctx, wait); err != nil {
		t.Fatal(err)
	}
	execs, err := w.HookExecutions(ctx, "d-1")
	if err != nil || len(execs) != 1 || execs[0].State != hookrun.WaitWaiting || execs[0].Hook != "check" || !execs[0].Finished.IsZero() {
		t.Fatalf("after a new attempt: %+v, %v", execs, err)
	}
}
