package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

func stopDefinition() *manifest.Definition {
	return definition("",
		stage("Deploy", action("Deploy", "Fake", 1), action("Smoke", "Fake", 2)),
		stage("Notify", action("Notify", "Fake", 1)))
}

// Stop and wait: the in-progress action finishes (Succeeded), nothing new starts,
// the execution ends Stopped; the stop comes from another engine on the same file.
func TestStopAndWaitLetsInProgressActionsFinish(t *testing.T) {
	h := newHarness(t, stopDefinition())
	hold, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded, Summary: "deployed"})
	h.fake.on("Deploy", hold)
	id := h.start(pipeline.StartRequest{})
	run := h.runAsync(id)
	h.waitFor("deploy running", func() bool { return len(h.fake.callsOf(id, "Deploy")) == 1 })

	other := h.newEngine(h.fake, event.Discard)
	if err := other.Stop(context.Background(), id, false, "wrong branch"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	h.waitFor("Stopping", func() bool { return h.view(id).Status == pipeline.StatusStopping })
	release()
	h.await(run, pipeline.StatusStopped)

	v := h.view(id)
	if a := findAction(v, "Deploy", "Deploy"); a.Status != pipeline.StatusSucceeded {
		t.Fatalf("in-progress action ended %s, want Succeeded", a.Status)
	}
	if n := len(h.fake.callsOf(id, "Smoke")) + len(h.fake.callsOf(id, "Notify")); n != 0 {
		t.Fatalf("%d actions started after the stop", n)
	}
	if s := findStage(v, "Deploy"); s.Status != pipeline.StatusStopped {
		t.Fatalf("stage %s, want Stopped", s.Status)
	}
	if !strings.Contains(v.StatusSummary, "wrong branch") {
		t.Fatalf("summary %q", v.StatusSummary)
	}
	if err := h.engine.Stop(context.Background(), id, true, ""); !errors.Is(err, pipeline.ErrNotStoppable) {
		t.Fatalf("stopping a stopped execution: %v", err)
	}
	if got := statusesOf(h.events, id, event.KindExecution); !slices.Equal(got, []string{"InProgress", "Stopped"}) {
		t.Fatalf("execution events of the running engine %v", got)
	}
}

// Stop and abandon: in-progress actions see their context cancelled and end
// Abandoned; the stopped stage can then be retried.
func TestStopAndAbandonCancelsInProgressActions(t *testing.T) {
	h := newHarness(t, stopDefinition())
	cancelled := make(chan error, 1)
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if a.Attempt > 1 {
			return pipeline.Outcome{Status: pipeline.Succeeded}, nil
		}
		<-ctx.Done()
		cancelled <- context.Cause(ctx)
		return pipeline.Outcome{}, ctx.Err()
	})
	id := h.start(pipeline.StartRequest{})
	run := h.runAsync(id)
	h.waitFor("deploy running", func() bool { return len(h.fake.callsOf(id, "Deploy")) == 1 })
	// Stop-and-wait first, then change our mind: abandon upgrades it.
	if err := h.engine.Stop(context.Background(), id, false, ""); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := h.engine.Stop(context.Background(), id, true, "hotfix"); err != nil {
		t.Fatalf("stop and abandon: %v", err)
	}
	h.await(run, pipeline.StatusStopped)
	if err := <-cancelled; !errors.Is(err, pipeline.ErrAbandoned) {
		t.Fatalf("action context cause %v", err)
	}
	v := h.view(id)
	if a := findAction(v, "Deploy", "Deploy"); a.Status != pipeline.StatusAbandoned {
		t.Fatalf("action %s, want Abandoned", a.Status)
	}
	if got := statusesOf(h.events, id, event.KindAction); !slices.Equal(got, []string{"InProgress", "Abandoned"}) {
		t.Fatalf("action events %v", got)
	}

	if err := h.engine.RetryStage(context.Background(), id, "Deploy", pipeline.RetryFailedActions); err != nil {
		t.Fatalf("retry the stopped stage: %v", err)
	}
	h.await(h.runAsync(id), pipeline.StatusSucceeded)
	if len(h.fake.callsOf(id, "Smoke")) != 1 || len(h.fake.callsOf(id, "Notify")) != 1 {
		t.Fatal("the retried execution did not continue")
	}
}

// Retry is refused while another execution runs in the stage.
func TestRetryRefusedWhileStageLocked(t *testing.T) {
	h := newHarness(t, definition("", stage("Deploy", action("Deploy", "Fake", 1))))
	hold, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded})
	h.fake.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if len(h.fake.callsOf("", "Deploy")) == 1 {
			return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "boom"}, nil
		}
		return hold(ctx, a)
	})
	a := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(a), pipeline.StatusFailed)
	b := h.start(pipeline.StartRequest{})
	runB := h.runAsync(b)
	h.waitFor("B deploying", func() bool { return len(h.fake.callsOf(b, "Deploy")) == 1 })
	if err := h.engine.RetryStage(context.Background(), a, "Deploy", pipeline.RetryAllActions); !errors.Is(err, pipeline.ErrStageLocked) {
		t.Fatalf("retry into a locked stage: %v, want ErrStageLocked", err)
	}
	release()
	h.await(runB, pipeline.StatusSucceeded)
	if err := h.engine.RetryStage(context.Background(), a, "Deploy", "SOME_ACTIONS"); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("bad retry mode: %v", err)
	}
}

func TestRejectFailsTheExecution(t *testing.T) {
	h := newHarness(t, definition("", stage("Approval", approval("Approve")), stage("Deploy", action("Deploy", "Fake", 1))))
	id := h.start(pipeline.StartRequest{})
	run := h.runAsync(id)
	h.waitApprovalNeeded(id, "Approval", "Approve")
	if err := h.engine.Approve(context.Background(), id, "Approval", "Other", "alice", ""); !errors.Is(err, pipeline.ErrNoPendingApproval) {
		t.Fatalf("approve the wrong action: %v", err)
	}
	if err := h.engine.Reject(context.Background(), id, "", "", "", "no"); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Fatalf("reject without a name: %v", err)
	}
	if err := h.engine.Reject(context.Background(), id, "", "", "carol", "error rate on staging"); err != nil {
		t.Fatalf("reject: %v", err)
	}
	h.await(run, pipeline.StatusFailed)
	v := h.view(id)
	a := findAction(v, "Approval", "Approve")
	if a.Status != pipeline.StatusFailed || !strings.Contains(a.ErrorMessage, "rejected by carol: error rate on staging") {
		t.Fatalf("approval action %+v", a)
	}
	if len(h.fake.callsOf(id, "Deploy")) != 0 {
		t.Fatal("deployed after a rejection")
	}
	if got := statusesOf(h.events, id, event.KindApproval); !slices.Equal(got, []string{"Needed", "Rejected"}) {
		t.Fatalf("approval events %v", got)
	}
	var refused *pipeline.ApprovalRefusedError
	if err := h.engine.Approve(context.Background(), id, "", "", "alice", ""); !errors.As(err, &refused) || refused.Reason != pipeline.RefusedFinished {
		t.Fatalf("approve after the rejection: %v, want refused as finished", err)
	}
}

// With no timeout_in_minutes the approval times out after CodePipeline's 7 days.
// The clock is shifted so that those 7 days end a second from now.
func TestApprovalTimesOutAfterSevenDays(t *testing.T) {
	shift := pipeline.DefaultApprovalTimeout - time.Second
	h := newHarness(t, definition("", stage("Approval", approval("Approve"))), func(o *pipeline.Options) {
		o.Now = func() time.Time { return time.Now().Add(-shift) }
	})
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)
	v := h.view(id)
	a := findAction(v, "Approval", "Approve")
	if a.ErrorMessage != "approval timed out" || a.Approval.Status != pipeline.ApprovalFailed {
		t.Fatalf("approval %+v / %+v", a, a.Approval)
	}
	if got := a.Approval.ExpiresAt.Sub(a.Approval.RequestedAt); got < pipeline.DefaultApprovalTimeout-time.Minute || got > pipeline.DefaultApprovalTimeout {
		t.Fatalf("approval expires %s after its request, want 7 days", got)
	}
}

func TestStartRejectsUndeclaredVariables(t *testing.T) {
	h := newHarness(t, definition("", stage("Build", action("Build", "Fake", 1))))
	_, err := h.engine.Start(context.Background(), pipeline.StartRequest{Variables: map[string]string{"Nope": "1"}})
	if !errors.Is(err, pipeline.ErrBadRequest) || !strings.Contains(err.Error(), `"Nope"`) {
		t.Fatalf("start with an undeclared variable: %v", err)
	}
}

// A second decision while the execution goes on says who decided already.
func TestADecidedApprovalRefusesAnotherDecision(t *testing.T) {
	h := newHarness(t, definition("", stage("Approval", approval("Approve")), stage("Deploy", action("Deploy", "Fake", 1))))
	hold, release := blockUntilReleased(pipeline.Outcome{Status: pipeline.Succeeded})
	h.fake.on("Deploy", hold)
	id := h.start(pipeline.StartRequest{})
	run := h.runAsync(id)
	h.waitApprovalNeeded(id, "Approval", "Approve")
	if err := h.engine.Approve(context.Background(), id, "", "", "alice", "ship it"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("deploy running", func() bool { return len(h.fake.callsOf(id, "Deploy")) == 1 })
	var refused *pipeline.ApprovalRefusedError
	err := h.engine.Reject(context.Background(), id, "Approval", "Approve", "bob", "wait")
	if !errors.As(err, &refused) || refused.Reason != pipeline.RefusedDecided || !strings.Contains(err.Error(), "approved by alice") {
		t.Fatalf("second decision: %v, want refused as already decided by alice", err)
	}
	release()
	h.await(run, pipeline.StatusSucceeded)
}
