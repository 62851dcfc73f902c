package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Two actions with the same run_order run at the same time; a higher run_order
// starts only after both ended.
func TestRunOrderGroupsRunInParallelThenInOrder(t *testing.T) {
	h := newHarness(t, definition("", stage("Test",
		action("Unit", "Fake", 1), action("Lint", "Fake", 1), action("Integration", "Fake", 2))))
	unitStarted, lintStarted := make(chan struct{}), make(chan struct{})
	// Each of the pair waits until the other has started: they can only both
	// finish if the engine runs them concurrently.
	meet := func(mine, other chan struct{}) script {
		return func(ctx context.Context, a *ActionRun) (Outcome, error) {
			close(mine)
			select {
			case <-other:
				return Outcome{Status: Succeeded}, nil
			case <-time.After(eventually):
				return Outcome{Status: Failed, ErrorMessage: "partner never started: not run in parallel"}, nil
			}
		}
	}
	h.fake.on("Unit", meet(unitStarted, lintStarted))
	h.fake.on("Lint", meet(lintStarted, unitStarted))

	id := h.start(StartRequest{Trigger: TriggerCLI})
	h.await(h.runAsync(id), StatusSucceeded)

	unit, lint, integ := h.fake.callsOf(id, "Unit"), h.fake.callsOf(id, "Lint"), h.fake.callsOf(id, "Integration")
	if len(unit) != 1 || len(lint) != 1 || len(integ) != 1 {
		t.Fatalf("calls: unit %d, lint %d, integration %d; want one each", len(unit), len(lint), len(integ))
	}
	if integ[0].StartSeq < unit[0].EndSeq || integ[0].StartSeq < lint[0].EndSeq {
		t.Fatalf("run_order 2 started before run_order 1 ended: %+v %+v %+v", unit[0], lint[0], integ[0])
	}
	v := h.view(id)
	if v.Status != StatusSucceeded || findStage(v, "Test").Status != StatusSucceeded {
		t.Fatalf("view: %+v", v)
	}
	got := statusesOf(h.events, id, event.KindExecution)
	if !slices.Equal(got, []string{"InProgress", "Succeeded"}) {
		t.Fatalf("execution events %v", got)
	}
	log, err := os.ReadFile(findAction(v, "Test", "Unit").LogPath)
	if err != nil || !strings.Contains(string(log), "fake Unit attempt 1") {
		t.Fatalf("action log: %q, %v", log, err)
	}
}

// A failed action fails its stage after the rest of its group finished; later
// groups and stages never run and the execution fails.
func TestFailedActionStopsLaterGroupsAndStages(t *testing.T) {
	h := newHarness(t, definition("",
		stage("Test", action("Unit", "Fake", 1), action("Slow", "Fake", 1), action("Integration", "Fake", 2)),
		stage("Deploy", action("Deploy", "Fake", 1))))
	unitDone := make(chan struct{})
	h.fake.on("Unit", func(context.Context, *ActionRun) (Outcome, error) {
		defer close(unitDone)
		return Outcome{Status: Failed, ErrorMessage: "2 tests failed"}, nil
	})
	h.fake.on("Slow", func(ctx context.Context, a *ActionRun) (Outcome, error) {
		<-unitDone // still running when its sibling failed
		return Outcome{Status: Succeeded}, nil
	})
	id := h.start(StartRequest{})
	h.await(h.runAsync(id), StatusFailed)

	if n := len(h.fake.callsOf(id, "Integration")) + len(h.fake.callsOf(id, "Deploy")); n != 0 {
		t.Fatalf("%d calls after the failure, want none", n)
	}
	v := h.view(id)
	if a := findAction(v, "Test", "Slow"); a.Status != StatusSucceeded {
		t.Fatalf("sibling of the failed action: %s, want Succeeded", a.Status)
	}
	if s := findStage(v, "Test"); s.Status != StatusFailed || !strings.Contains(s.Message, "Unit: 2 tests failed") {
		t.Fatalf("stage: %+v", s)
	}
	if findStage(v, "Deploy").Status != "" || findAction(v, "Test", "Integration").Status != "" {
		t.Fatalf("later work has a status: %+v", v.Stages)
	}
	if !strings.Contains(v.StatusSummary, "Unit: 2 tests failed") {
		t.Fatalf("summary %q", v.StatusSummary)
	}
}

// The brief's scenario: A waits at Approval; B finishes Build and waits in front
// of Approval; C arrives there and supersedes B; approving A (from another engine
// on the same file) lets C in.
func TestSupersededAtStageBoundaryWithWaitingApproval(t *testing.T) {
	h := newHarness(t, definition("",
		stage("Build", action("Build", "Fake", 1)),
		stage("Approval", approval("Approve")),
		stage("Deploy", action("Deploy", "Fake", 1))))

	a := h.start(StartRequest{})
	runA := h.runAsync(a)
	h.waitApprovalNeeded(a, "Approval", "Approve")

	b := h.start(StartRequest{})
	runB := h.runAsync(b)
	h.waitWaitingAt(b, "Approval")

	c := h.start(StartRequest{})
	runC := h.runAsync(c)
	h.await(runB, StatusSuperseded)
	h.waitWaitingAt(c, "Approval")

	other := h.newEngine(h.fake, event.Discard) // another process on the same state file
	if err := other.Approve(context.Background(), a, "", "", "alice", "staging looks good"); err != nil {
		t.Fatalf("approve A: %v", err)
	}
	h.await(runA, StatusSucceeded)
	h.waitApprovalNeeded(c, "Approval", "Approve")
	if err := other.Approve(context.Background(), c, "Approval", "Approve", "bob", ""); err != nil {
		t.Fatalf("approve C: %v", err)
	}
	h.await(runC, StatusSucceeded)

	deployed := []string{}
	for _, c := range h.fake.callsOf("", "Deploy") {
		deployed = append(deployed, c.Exec)
	}
	if !slices.Equal(deployed, []string{a, c}) {
		t.Fatalf("deployed %v, want A then C (%s, %s)", deployed, a, c)
	}
	vb := h.view(b)
	if vb.Status != StatusSuperseded || findStage(vb, "Approval").Status != "" || !strings.Contains(vb.StatusSummary, c) {
		t.Fatalf("B: %+v", vb)
	}
	ap := findAction(h.view(a), "Approval", "Approve").Approval
	if ap.Status != ApprovalApproved || ap.DecidedBy != "alice" || ap.Summary != "staging looks good" || ap.DecidedAt.IsZero() ||
		ap.CustomData != "check staging" {
		t.Fatalf("approval of A: %+v", ap)
	}
	approvals := statusesOf(h.events, a, event.KindApproval)
	if !slices.Equal(approvals, []string{"Needed", "Approved"}) {
		t.Fatalf("approval events of A: %v", approvals)
	}
	if got := statusesOf(h.events, b, event.KindExecution); !slices.Equal(got, []string{"InProgress", "Superseded"}) {
		t.Fatalf("execution events of B: %v", got)
	}
}

// QUEUED: executions wait their turn in start order, none is superseded.
func TestQueuedExecutionsRunInOrder(t *testing.T) {
	h := newHarness(t, definition(manifest.ExecutionModeQueued,
		stage("Build", action("Build", "Fake", 1)),
		stage("Deploy", action("Deploy", "Fake", 1))))
	hold, release := blockUntilReleased(Outcome{Status: Succeeded})
	h.fake.on("Deploy", func(ctx context.Context, a *ActionRun) (Outcome, error) {
		if len(h.fake.callsOf("", "Deploy")) == 1 {
			return hold(ctx, a) // the first deploy holds the stage
		}
		return Outcome{Status: Succeeded}, nil
	})
	a := h.start(StartRequest{})
	runA := h.runAsync(a)
	h.waitFor("A deploying", func() bool { return len(h.fake.callsOf(a, "Deploy")) == 1 })
	b := h.start(StartRequest{})
	c := h.start(StartRequest{})
	runC := h.runAsync(c) // driven first, yet B, started before it, goes first
	h.waitFor("C queued behind B at Build", func() bool {
		return slices.Contains(statusesOf(h.events, c, event.KindProgress), "Waiting")
	})
	if got := h.view(c); got.Stage != "Build" || !got.Waiting {
		t.Fatalf("C overtook B: %+v", got.ExecutionSummary)
	}
	runB := h.runAsync(b)
	h.waitWaitingAt(b, "Deploy")
	h.waitWaitingAt(c, "Deploy")
	release()
	for _, ch := range []<-chan runResult{runA, runB, runC} {
		h.await(ch, StatusSucceeded)
	}
	var order []string
	for _, call := range h.fake.callsOf("", "Deploy") {
		order = append(order, call.Exec)
	}
	if !slices.Equal(order, []string{a, b, c}) {
		t.Fatalf("deploy order %v, want %v", order, []string{a, b, c})
	}
}

// PARALLEL: executions do not wait for each other, even inside one stage.
func TestParallelExecutionsAreIndependent(t *testing.T) {
	h := newHarness(t, definition(manifest.ExecutionModeParallel, stage("Deploy", action("Deploy", "Fake", 1))))
	both := make(chan struct{})
	h.fake.on("Deploy", func(ctx context.Context, a *ActionRun) (Outcome, error) {
		if len(h.fake.callsOf("", "Deploy")) == 2 {
			close(both)
		}
		select {
		case <-both:
			return Outcome{Status: Succeeded}, nil
		case <-time.After(eventually):
			return Outcome{Status: Failed, ErrorMessage: "the other execution never entered the stage"}, nil
		}
	})
	a, b := h.start(StartRequest{}), h.start(StartRequest{})
	runA, runB := h.runAsync(a), h.runAsync(b)
	h.await(runA, StatusSucceeded)
	h.await(runB, StatusSucceeded)
}

func TestRetryFailedActionsOnly(t *testing.T) {
	h := newHarness(t, retryDefinition())
	scriptRetry(h.fake)
	id := h.start(StartRequest{})
	h.await(h.runAsync(id), StatusFailed)

	if err := h.engine.RetryStage(context.Background(), id, "Build", RetryFailedActions); !errors.Is(err, ErrNotRetryable) {
		t.Fatalf("retry of a stage that succeeded: %v, want ErrNotRetryable", err)
	}
	if err := h.engine.RetryStage(context.Background(), id, "Test", RetryFailedActions); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.await(h.runAsync(id), StatusSucceeded)

	if n := len(h.fake.callsOf(id, "Unit")); n != 1 {
		t.Fatalf("Unit ran %d times, want 1 (it had succeeded)", n)
	}
	integ := h.fake.callsOf(id, "Integration")
	if len(integ) != 2 || integ[1].Attempt != 2 {
		t.Fatalf("Integration calls %+v, want attempts 1 and 2", integ)
	}
	if len(h.fake.callsOf(id, "Deploy")) != 1 {
		t.Fatal("the stage after the retried one did not run")
	}
	v := h.view(id)
	ia := findAction(v, "Test", "Integration")
	if ia.Attempt != 2 || ia.Status != StatusSucceeded || len(ia.Attempts) != 1 || ia.Attempts[0].Status != StatusFailed {
		t.Fatalf("integration view %+v", ia)
	}
	if s := findStage(v, "Test"); s.Attempt != 2 || s.RetryMode != string(RetryFailedActions) {
		t.Fatalf("stage view %+v", s)
	}
	if got := statusesOf(h.events, id, event.KindExecution); !slices.Equal(got, []string{"InProgress", "Failed", "Resumed", "Succeeded"}) {
		t.Fatalf("execution events %v", got)
	}
}

func TestRetryAllActionsGetsFreshOutputs(t *testing.T) {
	h := newHarness(t, retryDefinition())
	scriptRetry(h.fake)
	id := h.start(StartRequest{})
	h.await(h.runAsync(id), StatusFailed)
	if err := h.engine.RetryStage(context.Background(), id, "Test", RetryAllActions); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.await(h.runAsync(id), StatusSucceeded)
	unit := h.fake.callsOf(id, "Unit")
	if len(unit) != 2 || unit[1].Attempt != 2 {
		t.Fatalf("Unit calls %+v, want attempts 1 and 2", unit)
	}
	// Unit writes attempt-N.txt: the retry started from an empty directory.
	entries, err := os.ReadDir(unit[1].Outputs[0].Dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "attempt-2.txt" {
		t.Fatalf("report artifact after retry: %v, %v", entries, err)
	}
}

// retryDefinition: Build, then Test (Unit succeeds, Integration fails on its first
// attempt), then Deploy.
func retryDefinition() *manifest.Definition {
	return definition("",
		stage("Build", action("Build", "Fake", 1)),
		stage("Test", action("Unit", "Fake", 1, outputs("unit_reports")), action("Integration", "Fake", 1)),
		stage("Deploy", action("Deploy", "Fake", 1)))
}

// scriptRetry makes Unit write attempt-N.txt into its output and Integration fail
// its first attempt.
func scriptRetry(f *fake) {
	f.on("Unit", func(ctx context.Context, a *ActionRun) (Outcome, error) {
		name := filepath.Join(a.Outputs[0].Dir, fmt.Sprintf("attempt-%d.txt", a.Attempt))
		return Outcome{Status: Succeeded}, os.WriteFile(name, []byte("ok"), 0o644)
	})
	f.on("Integration", func(ctx context.Context, a *ActionRun) (Outcome, error) {
		if a.Attempt == 1 {
			return Outcome{Status: Failed, ErrorMessage: "flaky"}, nil
		}
		return Outcome{Status: Succeeded}, nil
	})
}
