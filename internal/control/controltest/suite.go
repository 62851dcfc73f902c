// Package controltest is the contract suite of the control surface: one set of
// tests every control.Backend passes, so that every verb behaves the same on
// every backend.
package controltest

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
)

// Eventually bounds every wait of the suite: generous, for a loaded machine.
const Eventually = 90 * time.Second

// The pipeline every backend under test serves.
const (
	// StageSource, StageBuild and StageApproval are its stages, in order.
	StageSource   = "Source"
	StageBuild    = "Build"
	StageApproval = "Approval"
	// ActionBuild is the Build stage's only action: it writes BuildLogLine to its
	// log and reports ReportGroup, a JUnit group of two passing tests.
	ActionBuild = "Build"
	// ActionReview is the Approval stage's manual approval.
	ActionReview = "Review"
	BuildLogLine = "hello from the build"
	ReportGroup  = "unit"
)

// Harness is what the suite needs from an implementation.
type Harness struct {
	// New returns a backend with no execution yet whose only pipeline is:
	// StageSource (one source action producing the revision), StageBuild
	// (ActionBuild), StageApproval (ActionReview, a manual approval), with no
	// deployment groups and no alarms. The suite closes it.
	New func(t *testing.T) control.Backend
	// Identity is who the backend records as having started an execution and
	// decided an approval, and Trigger what it records as an execution's
	// trigger; "" for both: the request's Who and control.TriggerCLI. AWS records
	// the caller's IAM identity and StartPipelineExecution instead.
	Identity string
	Trigger  control.Trigger
}

// Run runs the contract against the backend h makes. The subtests share one
// backend and run in order.
func Run(t *testing.T, h Harness) {
	b := h.New(t)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := b.Close(); err != nil {
			t.Errorf("Close again (must be idempotent): %v", err)
		}
	})
	s := &suite{b: b, identity: h.Identity, trigger: cmp.Or(h.Trigger, control.TriggerCLI)}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"ListPipelines", s.listPipelines},
		{"UnknownThingsAreNotFound", s.notFound},
		{"StartRunsToTheApprovalWithLogsAndReports", s.startToApproval},
		{"ReadLogFromOffsets", s.readLog},
		{"DecisionsNothingWaitsForAreRefusedWithAReason", s.refusedDecisions},
		{"ApproveEndsTheExecution", s.approve},
		{"FinishedExecutionsRefuseStopAndRetry", s.finishedRefuses},
		{"RejectFailsTheExecution", s.reject},
		{"ListExecutionsPages", s.listExecutions},
		{"EventsAfterASequenceNumber", s.events},
		{"ResumeFindsNothingToResume", s.resume},
		{"DeploymentsWithoutAnyAreEmptyAndCommandsRefused", s.deployments},
		{"AlarmsWithoutGroups", s.alarms},
		{"MetricsOfAnUnknownDeploymentAreNotFound", s.metrics},
		{"HookResultsForUnknownDeploymentsAreNotFound", s.hookResults},
		{"ChangesSinceProductionAreTheRevisionsHistory", s.changes},
	} {
		if !t.Run(tc.name, tc.run) {
			return // later subtests build on earlier ones
		}
	}
}

type suite struct {
	b        control.Backend
	identity string          // Harness.Identity
	trigger  control.Trigger // what StartExecution's executions record
	approved string          // the execution approved (Succeeded)
	rejected string          // the execution rejected (Failed)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), Eventually)
	t.Cleanup(cancel)
	return c
}

// wantCode fails unless err is a control.Error of code (and reason, when given).
func wantCode(t *testing.T, what string, err error, code control.Code, reason string) {
	t.Helper()
	var ce *control.Error
	if !errors.As(err, &ce) || ce.Code != code || (reason != "" && ce.Reason != reason) {
		t.Errorf("%s: %v (code %q, reason %q), want code %q reason %q", what, err, control.CodeOf(err), control.ReasonOf(err), code, reason)
	}
}

func (s *suite) listPipelines(t *testing.T) {
	ps, err := s.b.ListPipelines(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !slices.Equal(ps[0].Stages, []string{StageSource, StageBuild, StageApproval}) || ps[0].Latest != nil {
		t.Fatalf("pipelines %+v", ps)
	}
}

func (s *suite) notFound(t *testing.T) {
	c := ctx(t)
	_, err := s.b.GetExecution(c, "00000000-0000-0000-0000-000000000000")
	wantCode(t, "GetExecution(unknown)", err, control.CodeNotFound, "")
	if !errors.Is(err, control.ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = false", err)
	}
	_, err = s.b.GetDeployment(c, "d-NOSUCHONE")
	wantCode(t, "GetDeployment(unknown)", err, control.CodeNotFound, "")
	_, err = s.b.ListExecutions(c, control.ExecutionQuery{Pipeline: "no-such-pipeline"})
	wantCode(t, "ListExecutions(unknown pipeline)", err, control.CodeNotFound, "")
	_, err = s.b.ListExecutions(c, control.ExecutionQuery{PageToken: "garbage"})
	wantCode(t, "ListExecutions(bad page token)", err, control.CodeBadRequest, "")
}

// startToApproval starts an execution and follows its events until the approval
// asks for a decision.
func (s *suite) startToApproval(t *testing.T) {
	c := ctx(t)
	id, err := s.b.StartExecution(c, control.StartRequest{Who: "contract-suite"})
	if err != nil {
		t.Fatal(err)
	}
	s.approved = id
	waitForEvent(t, s.b, id, func(e event.Event) bool {
		return e.Kind == event.KindApproval && e.Status == string(control.ApprovalNeeded)
	})
	v, err := s.b.GetExecution(c, id)
	if err != nil {
		t.Fatal(err)
	}
	build, review := v.Action(StageBuild, ActionBuild), v.Action(StageApproval, ActionReview)
	if v.Status != control.StatusInProgress || v.Trigger != s.trigger || v.TriggerDetail != cmp.Or(s.identity, "contract-suite") ||
		v.Source.CommitID == "" || build == nil || build.Status != control.StatusSucceeded || review == nil ||
		review.Approval == nil || review.Approval.Status != control.ApprovalNeeded {
		t.Fatalf("execution at the approval: %+v", v)
	}
	reports, err := s.b.Reports(c, control.ActionRef{ExecutionID: id, Stage: StageBuild, Action: ActionBuild})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Group != ReportGroup || reports[0].Tests == nil || reports[0].Tests.Passed != 2 {
		t.Fatalf("reports %+v", reports)
	}
}

func (s *suite) readLog(t *testing.T) {
	c := ctx(t)
	ref := control.ActionRef{ExecutionID: s.approved, Stage: StageBuild, Action: ActionBuild}
	all, err := s.b.ReadLog(c, control.LogRequest{ActionRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all.Text, BuildLogLine) || all.Offset != 0 || all.NextOffset != int64(len(all.Text)) {
		t.Fatalf("whole log: offset %d next %d more %v:\n%s", all.Offset, all.NextOffset, all.More, all.Text)
	}
	if !all.More {
		t.Error("More = false while the execution goes on (a retry may append)")
	}
	rest, err := s.b.ReadLog(c, control.LogRequest{ActionRef: ref, Offset: all.NextOffset})
	if err != nil || rest.Text != "" || rest.NextOffset != all.NextOffset {
		t.Fatalf("read at the end: %+v, %v", rest, err)
	}
	part, err := s.b.ReadLog(c, control.LogRequest{ActionRef: ref, Offset: 1, Limit: 5})
	if err != nil || part.Text != all.Text[1:6] || part.NextOffset != 6 || !part.More {
		t.Fatalf("5 bytes from 1: %+v, %v", part, err)
	}
	tail, err := s.b.ReadLog(c, control.LogRequest{ActionRef: ref, Offset: -10})
	if err != nil || tail.Text != all.Text[len(all.Text)-10:] || tail.Offset != int64(len(all.Text)-10) {
		t.Fatalf("last 10 bytes: %+v, %v", tail, err)
	}
	_, err = s.b.ReadLog(c, control.LogRequest{ActionRef: control.ActionRef{ExecutionID: s.approved, Stage: StageBuild, Action: "Nope"}})
	wantCode(t, "ReadLog(unknown action)", err, control.CodeNotFound, "")
}

func (s *suite) refusedDecisions(t *testing.T) {
	c := ctx(t)
	err := s.b.Decide(c, control.Decision{ExecutionID: s.approved, Approve: true})
	wantCode(t, "a decision without who", err, control.CodeBadRequest, "")
	err = s.b.Decide(c, control.Decision{ExecutionID: s.approved, Stage: StageBuild, Action: ActionBuild, Approve: true, Who: "suite"})
	wantCode(t, "a decision where nothing waits", err, control.CodeConflict, control.ReasonNotWaiting)
	err = s.b.Decide(c, control.Decision{ExecutionID: "00000000-0000-0000-0000-000000000000", Approve: true, Who: "suite"})
	wantCode(t, "a decision on no execution", err, control.CodeNotFound, "")
}

func (s *suite) approve(t *testing.T) {
	c := ctx(t)
	err := s.b.Decide(c, control.Decision{ExecutionID: s.approved, Approve: true, Who: "suite", Comment: "looks good"})
	if err != nil {
		t.Fatal(err)
	}
	v := waitFinal(t, s.b, s.approved)
	review := v.Action(StageApproval, ActionReview)
	if v.Status != control.StatusSucceeded || review.Approval.DecidedBy != cmp.Or(s.identity, "suite") || review.Approval.Summary != "looks good" {
		t.Fatalf("approved execution: %s, approval %+v", v.Status, review.Approval)
	}
	err = s.b.Decide(c, control.Decision{ExecutionID: s.approved, Approve: false, Who: "late"})
	wantCode(t, "a decision after the end", err, control.CodeConflict, control.ReasonFinished)
}

func (s *suite) finishedRefuses(t *testing.T) {
	c := ctx(t)
	err := s.b.StopExecution(c, control.StopRequest{ExecutionID: s.approved, Reason: "too late"})
	wantCode(t, "stop of a finished execution", err, control.CodeConflict, control.ReasonFinished)
	err = s.b.RetryStage(c, control.RetryRequest{ExecutionID: s.approved, Stage: StageBuild})
	wantCode(t, "retry of a stage that succeeded", err, control.CodeConflict, control.ReasonNotRetryable)
}

func (s *suite) reject(t *testing.T) {
	c := ctx(t)
	id, err := s.b.StartExecution(c, control.StartRequest{Who: "contract-suite"})
	if err != nil {
		t.Fatal(err)
	}
	s.rejected = id
	waitForEvent(t, s.b, id, func(e event.Event) bool {
		return e.Kind == event.KindApproval && e.Status == string(control.ApprovalNeeded)
	})
	if err := s.b.Decide(c, control.Decision{ExecutionID: id, Stage: StageApproval, Action: ActionReview, Who: "suite", Comment: "no"}); err != nil {
		t.Fatal(err)
	}
	if v := waitFinal(t, s.b, id); v.Status != control.StatusFailed {
		t.Fatalf("rejected execution is %s", v.Status)
	}
}

func (s *suite) listExecutions(t *testing.T) {
	c := ctx(t)
	first, err := s.b.ListExecutions(c, control.ExecutionQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Executions) != 1 || first.Executions[0].ID != s.rejected || first.NextPageToken == "" {
		t.Fatalf("first page %+v", first)
	}
	second, err := s.b.ListExecutions(c, control.ExecutionQuery{Limit: 1, PageToken: first.NextPageToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Executions) != 1 || second.Executions[0].ID != s.approved {
		t.Fatalf("second page %+v", second)
	}
	all, err := s.b.ListExecutions(c, control.ExecutionQuery{})
	if err != nil || len(all.Executions) != 2 || all.NextPageToken != "" {
		t.Fatalf("all: %+v, %v", all, err)
	}
	ps, err := s.b.ListPipelines(c)
	if err != nil || ps[0].Latest == nil || ps[0].Latest.ID != s.rejected {
		t.Fatalf("latest execution of the pipeline: %+v, %v", ps, err)
	}
}

func (s *suite) events(t *testing.T) {
	c := ctx(t)
	all, err := s.b.Events(c, event.Query{ExecutionID: s.approved})
	if err != nil || len(all) < 4 {
		t.Fatalf("events of the approved execution: %d, %v", len(all), err)
	}
	for i, e := range all {
		if e.ExecutionID != s.approved || (i > 0 && e.Seq <= all[i-1].Seq) {
			t.Fatalf("event %d: %+v (after seq %d)", i, e, all[max(i-1, 0)].Seq)
		}
	}
	mid := all[len(all)/2].Seq
	later, err := s.b.Events(c, event.Query{ExecutionID: s.approved, AfterSeq: mid})
	if err != nil || len(later) == 0 || later[0].Seq <= mid {
		t.Fatalf("events after %d: %+v, %v", mid, later, err)
	}
	kinds, err := s.b.Events(c, event.Query{ExecutionID: s.approved, Kinds: []event.Kind{event.KindApproval}, Limit: 1})
	if err != nil || len(kinds) != 1 || kinds[0].Kind != event.KindApproval {
		t.Fatalf("one approval event: %+v, %v", kinds, err)
	}
}

func (s *suite) resume(t *testing.T) {
	ids, err := s.b.ResumeExecutions(ctx(t))
	if err != nil || len(ids) != 0 {
		t.Fatalf("resume: %v, %v", ids, err)
	}
}

func (s *suite) deployments(t *testing.T) {
	c := ctx(t)
	ds, err := s.b.ListDeployments(c, control.DeploymentQuery{})
	if err != nil || len(ds) != 0 {
		t.Fatalf("deployments %v, %v", ds, err)
	}
	_, err = s.b.CommandDeployment(c, control.DeploymentCommand{Command: control.CommandRollback, Who: "suite"})
	wantCode(t, "rollback with nothing active", err, control.CodeNotFound, "")
	_, err = s.b.CommandDeployment(c, control.DeploymentCommand{Command: "explode", Who: "suite"})
	wantCode(t, "an unknown command", err, control.CodeBadRequest, "")
}

func (s *suite) alarms(t *testing.T) {
	as, err := s.b.Alarms(ctx(t))
	if err != nil && !errors.Is(err, control.ErrUnavailable) {
		t.Fatalf("alarms: %v", err)
	}
	if len(as) != 0 {
		t.Fatalf("alarms of a pipeline without any: %+v", as)
	}
}

func (s *suite) metrics(t *testing.T) {
	_, err := s.b.DeploymentMetrics(ctx(t), control.MetricsQuery{DeploymentID: "d-NOSUCHONE"})
	skipIfNotSupported(t, err)
	wantCode(t, "DeploymentMetrics(unknown)", err, control.CodeNotFound, "")
}

// hookResults: a result for a deployment that does not exist is NotFound, and
// one with a status CodeDeploy does not take is a BadRequest.
func (s *suite) hookResults(t *testing.T) {
	c := ctx(t)
	err := s.b.PutHookResult(c, control.HookResult{DeploymentID: "d-NOSUCHONE", HookExecutionID: "d-NOSUCHONE-AfterInstall", Status: control.HookSucceeded})
	skipIfNotSupported(t, err)
	wantCode(t, "PutHookResult(unknown deployment)", err, control.CodeNotFound, "")
	err = s.b.PutHookResult(c, control.HookResult{DeploymentID: "d-NOSUCHONE", HookExecutionID: "d-NOSUCHONE-AfterInstall", Status: "Done"})
	wantCode(t, "PutHookResult(status Done)", err, control.CodeBadRequest, "")
}

// changes: with nothing released, the changes of an execution are its
// revision's history, newest first, starting with the revision itself.
func (s *suite) changes(t *testing.T) {
	c := ctx(t)
	v, err := s.b.GetExecution(c, s.approved)
	if err != nil {
		t.Fatal(err)
	}
	set, err := s.b.ChangesSinceProduction(c, s.approved)
	skipIfNotSupported(t, err)
	if err != nil {
		t.Fatal(err)
	}
	if set.Production != "" || set.Revision != v.Source.CommitID || len(set.Commits) == 0 ||
		set.Commits[0].ID != v.Source.CommitID || set.Commits[0].Subject == "" || set.Commits[0].Time.IsZero() {
		t.Fatalf("changes of %s (revision %s): %+v", s.approved, v.Source.CommitID, set)
	}
	_, err = s.b.ChangesSinceProduction(c, "00000000-0000-0000-0000-000000000000")
	wantCode(t, "ChangesSinceProduction(unknown)", err, control.CodeNotFound, "")
}

// waitForEvent follows an execution's events until one matches.
func waitForEvent(t *testing.T, b control.Backend, id string, match func(event.Event) bool) {
	t.Helper()
	found := false
	err := control.Tail(ctx(t), b, event.Query{ExecutionID: id}, 50*time.Millisecond, func(e event.Event) {
		found = found || match(e)
	}, func() bool { return found })
	if err != nil {
		t.Fatalf("follow %s: %v", id, err)
	}
}

// waitFinal waits until an execution is final and returns it.
func waitFinal(t *testing.T, b control.Backend, id string) *control.Execution {
	t.Helper()
	deadline := time.Now().Add(Eventually)
	for {
		v, err := b.GetExecution(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Status.Final() {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s still %s after %s", id, v.Status, Eventually)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// skipIfNotSupported ends a case for a verb the backend says it does not have: the
// contract allows that answer (and only that one) for the console's optional reads.
func skipIfNotSupported(t *testing.T, err error) {
	t.Helper()
	if errors.Is(err, control.ErrNotSupported) {
		t.Skipf("not supported on this backend: %v", err)
	}
}
