package aws_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control"
	awsbackend "github.com/greenlight-ci/greenlight/internal/control/aws"
	"github.com/greenlight-ci/greenlight/internal/event"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// wantError fails unless err is a control.Error of code and reason whose text
// holds every one of says.
func wantError(t *testing.T, err error, code control.Code, reason string, says ...string) {
	t.Helper()
	if control.CodeOf(err) != code || control.ReasonOf(err) != reason {
		t.Fatalf("error %v: code %q reason %q, want %q %q", err, control.CodeOf(err), control.ReasonOf(err), code, reason)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// startToApproval starts an execution and waits until its approval waits.
func startToApproval(t *testing.T, b control.Backend) string {
	t.Helper()
	id, err := b.StartExecution(ctx(t), control.StartRequest{Who: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		v, err := b.GetExecution(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if a := v.Stages[2].Actions[0].Approval; a != nil && a.Status == control.ApprovalNeeded {
			return id
		}
	}
	t.Fatalf("execution %s never reached its approval", id)
	return ""
}

func TestApproveSendsTheTokenGetPipelineStateShows(t *testing.T) {
	srv := awsfake.New(t)
	f := newFakePipeline(t, srv)
	b := newBackend(srv)
	id := startToApproval(t, b)
	token := f.executions[0].action("Review").token
	if err := b.Decide(ctx(t), control.Decision{ExecutionID: id, Approve: true, Who: "ada", Comment: "staging looks good"}); err != nil {
		t.Fatal(err)
	}
	calls := srv.Calls(opPutApprovalResult)
	if len(calls) != 1 {
		t.Fatalf("PutApprovalResult called %d times", len(calls))
	}
	in := calls[0].Input
	result, _ := in["result"].(map[string]any)
	if in["token"] != token || in["stageName"] != "Approval" || in["actionName"] != "Review" || in["pipelineName"] != pipelineName ||
		result["status"] != "Approved" || result["summary"] != "staging looks good" {
		t.Fatalf("PutApprovalResult %s, want token %s", mustJSON(in), token)
	}
	v, err := b.GetExecution(ctx(t), id)
	if err != nil || v.Status != control.StatusSucceeded || v.Stages[2].Actions[0].Approval.DecidedBy != principal {
		t.Fatalf("after the approval: %+v, %v", v, err)
	}
}

func TestExpiredApprovalTokenIsExplained(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	b := newBackend(srv)
	id := startToApproval(t, b)
	srv.Fail(opPutApprovalResult, &awsfake.Error{Status: 400, Type: "InvalidApprovalTokenException", Message: "The token is no longer valid"})
	err := b.Decide(ctx(t), control.Decision{ExecutionID: id, Approve: true, Who: "ada"})
	wantError(t, err, control.CodeConflict, awsbackend.ReasonApprovalExpired, "InvalidApprovalTokenException", "expired", "greenlight status")
}

// TestThrottlingIsRetriedByTheSDK: CodePipeline throttles twice, then answers;
// the SDK's retryer makes the third attempt, the caller sees one success.
func TestThrottlingIsRetriedByTheSDK(t *testing.T) {
	srv := awsfake.New(t)
	f := newFakePipeline(t, srv)
	b := newBackend(srv)
	id := startToApproval(t, b)
	var mu sync.Mutex
	throttled := 0
	srv.Handle(opGetExecution, f.locked(func(in map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if throttled < 2 {
			throttled++
			return nil, &awsfake.Error{Status: 400, Type: "ThrottlingException", Message: "Rate exceeded"}
		}
		return f.getExecution(in)
	}))
	before := len(srv.Calls(opGetExecution))
	v, err := b.GetExecution(ctx(t), id)
	if err != nil || v.ID != id {
		t.Fatalf("GetExecution after two throttles: %v", err)
	}
	if n := len(srv.Calls(opGetExecution)) - before; n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestThrottlingThatLastsIsExplained(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	srv.Fail(opListExecutions, &awsfake.Error{Status: 400, Type: "ThrottlingException", Message: "Rate exceeded"})
	_, err := newBackend(srv).ListExecutions(ctx(t), control.ExecutionQuery{})
	wantError(t, err, control.CodeUnavailable, "", "ThrottlingException", "AWS_MAX_ATTEMPTS")
	if n := len(srv.Calls(opListExecutions)); n != 3 {
		t.Fatalf("%d attempts, want the SDK's 3", n)
	}
}

func TestAccessDeniedIsExplained(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	srv.Fail(opListExecutions, &awsfake.Error{Status: 400, Type: "AccessDeniedException",
		Message: "User: arn:aws:iam::123456789012:user/ada is not authorized to perform: codepipeline:ListPipelineExecutions"})
	_, err := newBackend(srv).ListExecutions(ctx(t), control.ExecutionQuery{})
	if err == nil || control.CodeOf(err) != "" {
		t.Fatalf("error %v (code %q)", err, control.CodeOf(err))
	}
	for _, want := range []string{"list executions of contract", "codepipeline:ListPipelineExecutions", "credentials", "AWS_PROFILE", "docs/aws.md"} {
		if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("error %q does not say %q in one line", err, want)
		}
	}
	if n := len(srv.Calls(opListExecutions)); n != 1 {
		t.Errorf("access denied was tried %d times: it is not retryable", n)
	}
}

func TestStartSendsVariablesAndTheCommit(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	b := newBackend(srv)
	id, err := b.StartExecution(ctx(t), control.StartRequest{Who: "t", Revision: commit, Variables: map[string]string{"REGION": "eu-west-1", "COLOR": "green"}})
	if err != nil {
		t.Fatal(err)
	}
	in := srv.Calls(opStartExecution)[0].Input
	want := `{"clientRequestToken":"` + in["clientRequestToken"].(string) + `","name":"contract",` +
		`"sourceRevisions":[{"actionName":"Source","revisionType":"COMMIT_ID","revisionValue":"` + commit + `"}],` +
		`"variables":[{"name":"COLOR","value":"green"},{"name":"REGION","value":"eu-west-1"}]}`
	if mustJSON(in) != want {
		t.Fatalf("StartPipelineExecution\n got %s\nwant %s", mustJSON(in), want)
	}
	v, err := b.GetExecution(ctx(t), id)
	if err != nil || v.Variables["COLOR"] != "green" || v.Source.CommitID != commit || v.Source.Message != "Fix rounding in totals" {
		t.Fatalf("execution %+v, %v", v, err)
	}
	_, err = b.StartExecution(ctx(t), control.StartRequest{Who: "t", Revision: "main"})
	wantError(t, err, control.CodeBadRequest, "", "40-character commit id")
}

func TestDeploymentsOutsideThePipelineAreNotSupported(t *testing.T) {
	_, err := newBackend(awsfake.New(t)).CreateDeployment(ctx(t), control.DeploymentRequest{Who: "t"})
	wantError(t, err, control.CodeNotSupported, "", "greenlight run --backend aws")
	if !errors.Is(err, control.ErrNotSupported) {
		t.Fatal("not ErrNotSupported")
	}
}

// The console's live traffic charts and the commits an approval brings have no
// AWS source this backend reads: each says where to look instead.
func TestConsoleReadsSayWhereToLookOnAWS(t *testing.T) {
	b := newBackend(awsfake.New(t))
	_, err := b.DeploymentMetrics(ctx(t), control.MetricsQuery{DeploymentID: "d-1"})
	wantError(t, err, control.CodeNotSupported, "", "CloudWatch")
	_, err = b.ChangesSinceProduction(ctx(t), "e-1")
	wantError(t, err, control.CodeNotSupported, "", "GitHub")
}

// Events numbers what it observes once: asking again returns nothing new.
func TestEventsAreNumberedOnce(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	b := newBackend(srv)
	id := startToApproval(t, b)
	first, err := b.Events(ctx(t), event.Query{ExecutionID: id})
	if err != nil || len(first) == 0 {
		t.Fatalf("events %v, %v", first, err)
	}
	time.Sleep(5 * time.Millisecond)
	again, err := b.Events(ctx(t), event.Query{ExecutionID: id, AfterSeq: first[len(first)-1].Seq})
	if err != nil || len(again) != 0 {
		t.Fatalf("events after the last one: %+v, %v", again, err)
	}
	kinds := []event.Kind{}
	for _, e := range first {
		kinds = append(kinds, e.Kind)
	}
	if !slices.Contains(kinds, event.KindApproval) || first[0].Kind != event.KindExecution {
		t.Fatalf("kinds %v", kinds)
	}
}

// TestReadsAreReusedWithinHalfARefresh: followers poll every 100 ms; AWS is read
// at most twice a Refresh, and an ended build's log once.
func TestReadsAreReusedWithinHalfARefresh(t *testing.T) {
	srv := awsfake.New(t)
	newFakePipeline(t, srv)
	id := startToApproval(t, newBackend(srv))
	b := awsbackend.New(awsbackend.Options{Config: srv.Config(), Pipeline: pipelineName, Refresh: time.Hour})
	ref := control.ActionRef{ExecutionID: id, Stage: "Build", Action: "Build"}
	before, logsBefore := len(srv.Calls(opGetExecution)), len(srv.Calls(opGetLogEvents))
	for range 3 {
		if _, err := b.ReadLog(ctx(t), control.LogRequest{ActionRef: ref}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Events(ctx(t), event.Query{ExecutionID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(srv.Calls(opGetExecution)) - before; n != 1 {
		t.Errorf("GetPipelineExecution called %d times, want once", n)
	}
	if n := len(srv.Calls(opGetLogEvents)) - logsBefore; n != 4 {
		t.Errorf("GetLogEvents called %d times, want its 4 pages (the last empty) once", n)
	}
}
