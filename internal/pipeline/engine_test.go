package pipeline_test

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
	"github.com/greenlight-ci/greenlight/internal/pipeline"
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
		return func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
			close(mine)
			select {
			case <-other:
				return pipeline.Outcome{Status: pipeline.Succeeded}, nil
			case <-time.After(eventually):
				return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "partner never started: not run in parallel"}, nil
			}
		}
	}
	h.fake.on("Unit", meet(unitStarted, lintStarted))
	h.fake.on("Lint", meet(lintStarted, unitStarted))

	id := h.start(pipeline.StartRequest{Trigger: pipeline.TriggerCLI})
	h.await(h.runAsync(id), pipeline.StatusSucceeded)

	unit, lint, integ := h.fake.callsOf(id, "Unit"), h.fake.callsOf(id, "Lint"), h.fake.callsOf(id, "Integration")
	if len(unit) != 1 || len(lint) != 1 || len(integ) != 1 {
		t.Fatalf("calls: unit %d, lint %d, integration %d; want one each", len(unit), len(lint), len(integ))
	}
	if integ[0].StartSeq < unit[0].EndSeq || integ[0].StartSeq < lint[0].EndSeq {
		t.Fatalf("run_order 2 started before run_order 1 ended: %+v %+v %+v", unit[0], lint[0], integ[0])
	}
	v := h.view(id)
	if v.Status != pipeline.StatusSucceeded || findStage(v, "Test").Status != pipeline.StatusSucceeded {
		t.Fatalf("view: %+v", v)
	}
	got := statusesOf(h.events, id, event.KindExecution)
	if !slices.Equal(got, []string{"InProgress", "Succeeded"}) {
		t.Fatalf("execution events %v", got)
	}
	path, err := h.engine.LogPath(context.Background(), id, "Test", "Unit")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(log), "fake Unit attempt 1") {
		t.Fatalf("action log: %q, %v", log, err)
	}
	// A log may show what a build printed: it is its user's alone.
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want mode %#o", p, info.Mode().Perm(), err, want)
		}
	}
}

// A failed action fails its stage after the rest of its group finished; later
// groups and stages never run and the execution fails.
func TestFailedActionStopsLaterGroupsAndStages(t *testing.T) {
	h := newHarness(t, definition("",
		stage("Test", action("Unit", "Fake", 1), action("Slow", "Fake", 1), action("Integration", "Fake", 2)),
		stage("Deploy", action("Deploy", "Fake", 1))))
	unitDone := make(chan struct{})
	h.fake.on("Unit", func(context.Context, *pipeline.ActionRun) (pipeline.Outcome, error) {
		defer close(unitDone)
		return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "2 tests failed"}, nil
	})
	h.fake.on("Slow", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		<-unitDone // still running when its sibling failed
		return pipeline.Outcome{Status: pipeline.Succeeded}, nil
	})
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)

	if n := len(h.fake.callsOf(id, "Integration")) + len(h.fake.callsOf(id, "Deploy")); n != 0 {
		t.Fatalf("%d calls after the failure, want none", n)
	}
	v := h.view(id)
	if a := findAction(v, "Test", "Slow"); a.Status != pipeline.StatusSucceeded {
		t.Fatalf("sibling of the failed action: %s, want Succeeded", a.Status)
	}
	if s := findStage(v, "Test"); s.Status != pipeline.StatusFailed || !strings.Contains(s.Message, "Unit: 2 tests failed") {
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

	a := h.start(pipeline.StartRequest{})
	runA := h.runAsync(a)
	h.waitApprovalNeeded(a, "Approval", "Approve")

	b := h.start(pipeline.StartRequest{})
	runB := h.runAsync(b)
	h.waitWaitingAt(b, "Approval")

	c := h.start(pipeline.StartRequest{})
	runC := h.runAsync(c)
	h.await(runB, pipeline.StatusSuperseded)
	h.waitWaitingAt(c, "Approval")
	// B never reached the approval: a decision on it says why.
	var refused *pipeline.ApprovalRefusedError
	err := h.engine.Approve(context.Background(), b, "", "", "alice", "")
	if !errors.As(err, &refused) || refused.Reason != pipeline.RefusedSuperseded || !errors.Is(err, pipeline.ErrNoPendingApproval) {
		t.Fatalf("approve the superseded B: %v, want refused as superseded", err)
	}
	// C waits in front of the stage, not at the approval yet.
	if err := h.engine.Approve(context.Background(), c, "", "", "alice", ""); !errors.As(err, &refused) || refused.Reason != pipeline.RefusedNotWaiting {
		t.Fatalf("approve C before its approval: %v, want refused as not waiting", err)
	}

	other := h.newEngine(h.fake, event.Discard) // another process on the same state file
	if err := other.Approve(context.Background(), a, "", "", "alice", "staging looks good"); err != nil {
		t.Fatalf("approve A: %v", err)
	}
	h.await(runA, pipeline.StatusSucceeded)
	h.waitApprovalNeeded(c, "Approval", "Approve")
	if err := other.Approve(context.Background(), c, "Approval", "Approve", "bob", ""); err != nil {
		t.Fatalf("approve C: %v", err)
	}
	h.await(runC, pipeline.StatusSucceeded)

	deployed := []string{}
	for _, c := range h.fake.callsOf("", "Deploy") {
		deployed = append(deployed, c.Exec)
	}
	if !slices.Equal(deployed, []string{a, c}) {
		t.Fatalf("deployed %v, want A then C (%s, %s)", deployed, a, c)
	}
	vb := h.view(b)
	if vb.Status != pipeline.StatusSuperseded || findStage(vb, "Approval").Status != "" || !strings.Contains(vb.StatusSummary, c) {
		t.Fatalf("B: %+v", vb)
	}
	ap := findAction(h.view(a), "Approval", "Approve").Approval
	if ap.Status != pipeline.ApprovalApproved || ap.DecidedBy != "alice" || ap.Summary != "staging looks good" || ap.DecidedAt.IsZero() ||
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
	hold, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded})
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if len(h.fake.callsOf("", "Deploy")) == 1 {
			return hold(ctx, a) // the first deploy holds the stage
		}
		return pipeline.Outcome{Status: pipeline.Succeeded}, nil
	})
	a := h.start(pipeline.StartRequest{})
	runA := h.runAsync(a)
	h.waitFor("A deploying", func() bool { return len(h.fake.callsOf(a, "Deploy")) == 1 })
	b := h.start(pipeline.StartRequest{})
	c := h.start(pipeline.StartRequest{})
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
		h.await(ch, pipeline.StatusSucceeded)
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
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if len(h.fake.callsOf("", "Deploy")) == 2 {
			close(both)
		}
		select {
		case <-both:
			return pipeline.Outcome{Status: pipeline.Succeeded}, nil
		case <-time.After(eventually):
			return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "the other execution never entered the stage"}, nil
		}
	})
	a, b := h.start(pipeline.StartRequest{}), h.start(pipeline.StartRequest{})
	runA, runB := h.runAsync(a), h.runAsync(b)
	h.await(runA, pipeline.StatusSucceeded)
	h.await(runB, pipeline.StatusSucceeded)
}

func TestRetryFailedActionsOnly(t *testing.T) {
	h := newHarness(t, retryDefinition())
	scriptRetry(h.fake)
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)

	if err := h.engine.RetryStage(context.Background(), id, "Build", pipeline.RetryFailedActions); !errors.Is(err, pipeline.ErrNotRetryable) {
		t.Fatalf("retry of a stage that succeeded: %v, want ErrNotRetryable", err)
	}
	if err := h.engine.RetryStage(context.Background(), id, "Test", pipeline.RetryFailedActions); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.await(h.runAsync(id), pipeline.StatusSucceeded)

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
	if ia.Attempt != 2 || ia.Status != pipeline.StatusSucceeded || len(ia.Attempts) != 1 || ia.Attempts[0].Status != pipeline.StatusFailed {
		t.Fatalf("integration view %+v", ia)
	}
	if s := findStage(v, "Test"); s.Attempt != 2 || s.RetryMode != pipeline.RetryFailedActions {
		t.Fatalf("stage view %+v", s)
	}
	if got := statusesOf(h.events, id, event.KindExecution); !slices.Equal(got, []string{"InProgress", "Failed", "Resumed", "Succeeded"}) {
		t.Fatalf("execution events %v", got)
	}
}

func TestRetryAllActionsGetsFreshOutputs(t *testing.T) {
	h := newHarness(t, retryDefinition())
	scriptRetry(h.fake)
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)
	if err := h.engine.RetryStage(context.Background(), id, "Test", pipeline.RetryAllActions); err != nil {
		t.Fatalf("retry: %v", err)
	}
	h.await(h.runAsync(id), pipeline.StatusSucceeded)
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
	f.on("Unit", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		name := filepath.Join(a.Outputs[0].Dir, fmt.Sprintf("attempt-%d.txt", a.Attempt))
		return pipeline.Outcome{Status: pipeline.Succeeded}, os.WriteFile(name, []byte("ok"), 0o644)
	})
	f.on("Integration", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if a.Attempt == 1 {
			return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "flaky"}, nil
		}
		return pipeline.Outcome{Status: pipeline.Succeeded}, nil
	})
}
