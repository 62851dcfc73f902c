package aws_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control/controltest"
)

// Operations of the fake services, as the SDK names them on the wire.
const (
	opGetPipeline        = "CodePipeline_20150709.GetPipeline"
	opGetPipelineState   = "CodePipeline_20150709.GetPipelineState"
	opListExecutions     = "CodePipeline_20150709.ListPipelineExecutions"
	opGetExecution       = "CodePipeline_20150709.GetPipelineExecution"
	opListActions        = "CodePipeline_20150709.ListActionExecutions"
	opStartExecution     = "CodePipeline_20150709.StartPipelineExecution"
	opStopExecution      = "CodePipeline_20150709.StopPipelineExecution"
	opRetryStage         = "CodePipeline_20150709.RetryStageExecution"
	opPutApprovalResult  = "CodePipeline_20150709.PutApprovalResult"
	opBatchGetBuilds     = "CodeBuild_20161006.BatchGetBuilds"
	opBatchGetReports    = "CodeBuild_20161006.BatchGetReports"
	opGetLogEvents       = "Logs_20140328.GetLogEvents"
	opGetDeployment      = "CodeDeploy_20141006.GetDeployment"
	opListDeployments    = "CodeDeploy_20141006.ListDeployments"
	opBatchGetDeployment = "CodeDeploy_20141006.BatchGetDeployments"
	opListTargets        = "CodeDeploy_20141006.ListDeploymentTargets"
	opBatchGetTargets    = "CodeDeploy_20141006.BatchGetDeploymentTargets"
	opStopDeployment     = "CodeDeploy_20141006.StopDeployment"
	opContinueDeployment = "CodeDeploy_20141006.ContinueDeployment"
	opDescribeTD         = "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition"
	opDescribeAlarms     = "GraniteServiceVersion20100801.DescribeAlarms"
	opGetMetricData      = "GraniteServiceVersion20100801.GetMetricData"
)

const (
	pipelineName = "contract"
	principal    = "arn:aws:sts::123456789012:assumed-role/deployer/suite"
	commit       = "0d1a26e5b7c0c1f2a3b4c5d6e7f8091a2b3c4d5e"
	stepTime     = 30 * time.Millisecond // how long the fake's Source and Build actions run
)

// fakePipeline is CodePipeline running the contract suite's pipeline (Source,
// Build, Approval), with the CodeBuild build and its CloudWatch Logs stream:
// actions advance on the clock as requests come in, approvals wait for
// PutApprovalResult with the token GetPipelineState shows.
type fakePipeline struct {
	t   *testing.T
	srv *awsfake.Server

	mu         sync.Mutex
	executions []*fakeExecution // oldest first
}

type fakeExecution struct {
	id, status string
	start      time.Time
	variables  map[string]string
	actions    []*fakeAction // in the order they started
}

type fakeAction struct {
	stage, name, id, status     string
	start, last                 time.Time
	externalID, summary, byWhom string
	token                       string
}

// stagesOf the fake pipeline: stage, action, category, provider.
var stagesOf = [][4]string{
	{controltest.StageSource, "Source", "Source", "CodeStarSourceConnection"},
	{controltest.StageBuild, controltest.ActionBuild, "Build", "CodeBuild"},
	{controltest.StageApproval, controltest.ActionReview, "Approval", "Manual"},
}

func newFakePipeline(t *testing.T, srv *awsfake.Server) *fakePipeline {
	f := &fakePipeline{t: t, srv: srv}
	for op, h := range map[string]awsfake.Handler{
		opGetPipeline: f.getPipeline, opGetPipelineState: f.getPipelineState, opListExecutions: f.listExecutions,
		opGetExecution: f.getExecution, opListActions: f.listActions, opStartExecution: f.startExecution,
		opStopExecution: f.stopExecution, opRetryStage: f.retryStage, opPutApprovalResult: f.putApprovalResult,
		opBatchGetBuilds: f.batchGetBuilds, opBatchGetReports: f.batchGetReports, opGetLogEvents: f.getLogEvents,
	} {
		srv.Handle(op, f.locked(h))
	}
	return f
}

// locked runs h under the lock, after advancing every execution to now.
func (f *fakePipeline) locked(h awsfake.Handler) awsfake.Handler {
	return func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, ex := range f.executions {
			f.advance(ex, time.Now())
		}
		if name, ok := in["pipelineName"]; ok && name != pipelineName {
			return nil, &awsfake.Error{Status: 400, Type: "PipelineNotFoundException", Message: fmt.Sprintf("pipeline %v not found", name)}
		}
		return h(in)
	}
}

// advance runs an execution's actions as time passes: Source and Build take
// stepTime each, then the approval waits.
func (f *fakePipeline) advance(ex *fakeExecution, now time.Time) {
	for ex.status == "InProgress" {
		last := ex.actions[len(ex.actions)-1]
		if last.status == "InProgress" && (last.name == controltest.ActionReview || now.Sub(last.start) < stepTime) {
			return
		}
		if last.status == "InProgress" {
			last.status, last.last = "Succeeded", last.start.Add(stepTime)
		}
		if last.status != "Succeeded" || len(ex.actions) == len(stagesOf) {
			return
		}
		f.startAction(ex, len(ex.actions), last.last)
	}
}

func (f *fakePipeline) startAction(ex *fakeExecution, i int, at time.Time) {
	a := &fakeAction{stage: stagesOf[i][0], name: stagesOf[i][1], id: uuid.NewString(), status: "InProgress", start: at, last: at}
	switch a.name {
	case "Source":
		a.externalID, a.summary = commit, "Fix rounding in totals"
	case controltest.ActionBuild:
		a.externalID = "unit:" + uuid.NewString()
	case controltest.ActionReview:
		a.token = uuid.NewString()
	}
	ex.actions = append(ex.actions, a)
}

func (f *fakePipeline) execution(in map[string]any) (*fakeExecution, error) {
	for _, ex := range f.executions {
		if ex.id == in["pipelineExecutionId"] {
			return ex, nil
		}
	}
	return nil, &awsfake.Error{Status: 400, Type: "PipelineExecutionNotFoundException", Message: fmt.Sprintf("execution %v of pipeline contract not found", in["pipelineExecutionId"])}
}

func (f *fakePipeline) getPipeline(in map[string]any) (any, error) {
	if in["name"] != pipelineName {
		return nil, &awsfake.Error{Status: 400, Type: "PipelineNotFoundException", Message: "no such pipeline"}
	}
	var stages []any
	for _, s := range stagesOf {
		stages = append(stages, map[string]any{"name": s[0], "actions": []any{map[string]any{
			"name": s[1], "runOrder": 1,
			"actionTypeId": map[string]any{"category": s[2], "owner": "AWS", "provider": s[3], "version": "1"},
		}}})
	}
	return map[string]any{"pipeline": map[string]any{"name": pipelineName, "pipelineType": "V2", "executionMode": "SUPERSEDED", "version": 1,
		"roleArn": "arn:aws:iam::123456789012:role/pipeline", "stages": stages}}, nil
}

func (f *fakePipeline) getPipelineState(in map[string]any) (any, error) {
	if in["name"] != pipelineName {
		return nil, &awsfake.Error{Status: 400, Type: "PipelineNotFoundException", Message: "no such pipeline"}
	}
	var states []any
	for _, s := range stagesOf {
		state := map[string]any{"stageName": s[0]}
		for _, ex := range slices.Backward(f.executions) {
			if a := ex.action(s[1]); a != nil {
				state["latestExecution"] = map[string]any{"pipelineExecutionId": ex.id, "status": a.status}
				latest := map[string]any{"actionExecutionId": a.id, "status": a.status, "lastStatusChange": awsfake.Time(a.last)}
				if a.token != "" && a.status == "InProgress" {
					latest["token"] = a.token
				}
				state["actionStates"] = []any{map[string]any{"actionName": s[1], "latestExecution": latest}}
				break
			}
		}
		states = append(states, state)
	}
	return map[string]any{"pipelineName": pipelineName, "pipelineVersion": 1, "stageStates": states}, nil
}

func (ex *fakeExecution) action(name string) *fakeAction {
	for _, a := range slices.Backward(ex.actions) {
		if a.name == name {
			return a
		}
	}
	return nil
}

func (f *fakePipeline) listExecutions(in map[string]any) (any, error) {
	from := 0
	if tok, ok := in["nextToken"].(string); ok {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if !strings.HasPrefix(tok, "page-") || err != nil {
			return nil, &awsfake.Error{Status: 400, Type: "InvalidNextTokenException", Message: "The next token was specified in an invalid format."}
		}
		from = n
	}
	size := 100
	if n, ok := in["maxResults"].(float64); ok {
		size = int(n)
	}
	newest := slices.Clone(f.executions)
	slices.Reverse(newest)
	out := map[string]any{}
	var list []any
	for i := from; i < len(newest) && i < from+size; i++ {
		ex := newest[i]
		list = append(list, map[string]any{"pipelineExecutionId": ex.id, "status": ex.status, "startTime": awsfake.Time(ex.start),
			"lastUpdateTime": awsfake.Time(ex.actions[len(ex.actions)-1].last), "executionMode": "SUPERSEDED",
			"trigger":         map[string]any{"triggerType": "StartPipelineExecution", "triggerDetail": principal},
			"sourceRevisions": []any{map[string]any{"actionName": "Source", "revisionId": commit, "revisionSummary": `{"ProviderType":"GitHub","CommitMessage":"Fix rounding in totals"}`}}})
	}
	out["pipelineExecutionSummaries"] = list
	if from+size < len(newest) {
		out["nextToken"] = "page-" + strconv.Itoa(from+size)
	}
	return out, nil
}

func (f *fakePipeline) getExecution(in map[string]any) (any, error) {
	ex, err := f.execution(in)
	if err != nil {
		return nil, err
	}
	var vars []any
	for k, v := range ex.variables {
		vars = append(vars, map[string]any{"name": k, "resolvedValue": v})
	}
	return map[string]any{"pipelineExecution": map[string]any{
		"pipelineName": pipelineName, "pipelineExecutionId": ex.id, "pipelineVersion": 1, "status": ex.status, "executionMode": "SUPERSEDED",
		"trigger":           map[string]any{"triggerType": "StartPipelineExecution", "triggerDetail": principal},
		"artifactRevisions": []any{map[string]any{"name": "src", "revisionId": commit, "revisionSummary": `{"ProviderType":"GitHub","CommitMessage":"Fix rounding in totals"}`}},
		"variables":         vars,
	}}, nil
}

func (f *fakePipeline) listActions(in map[string]any) (any, error) {
	filter, _ := in["filter"].(map[string]any)
	ex, err := f.execution(map[string]any{"pipelineExecutionId": filter["pipelineExecutionId"]})
	if err != nil {
		return nil, err
	}
	var details []any
	for _, a := range slices.Backward(ex.actions) { // newest first, as CodePipeline lists them
		d := map[string]any{"pipelineExecutionId": ex.id, "actionExecutionId": a.id, "stageName": a.stage, "actionName": a.name,
			"startTime": awsfake.Time(a.start), "lastUpdateTime": awsfake.Time(a.last), "status": a.status,
			"input": map[string]any{"configuration": map[string]any{"CustomData": "review it"}}}
		result := map[string]any{}
		if a.externalID != "" {
			result["externalExecutionId"] = a.externalID
		}
		if a.summary != "" {
			result["externalExecutionSummary"] = a.summary
		}
		d["output"] = map[string]any{"executionResult": result}
		if a.byWhom != "" {
			d["updatedBy"] = a.byWhom
		}
		details = append(details, d)
	}
	return map[string]any{"actionExecutionDetails": details}, nil
}

func (f *fakePipeline) startExecution(in map[string]any) (any, error) {
	if in["name"] != pipelineName {
		return nil, &awsfake.Error{Status: 400, Type: "PipelineNotFoundException", Message: "no such pipeline"}
	}
	if tok, _ := in["clientRequestToken"].(string); tok == "" {
		f.t.Errorf("StartPipelineExecution without the idempotency token the SDK fills: %v", in)
	}
	ex := &fakeExecution{id: uuid.NewString(), status: "InProgress", start: time.Now(), variables: map[string]string{}}
	if vars, ok := in["variables"].([]any); ok {
		for _, v := range vars {
			m := v.(map[string]any)
			ex.variables[m["name"].(string)] = m["value"].(string)
		}
	}
	for _, old := range f.executions {
		if old.status == "InProgress" {
			f.t.Errorf("the contract suite starts an execution while %s runs", old.id)
		}
	}
	f.startAction(ex, 0, ex.start)
	f.executions = append(f.executions, ex)
	return map[string]any{"pipelineExecutionId": ex.id}, nil
}

func (f *fakePipeline) stopExecution(in map[string]any) (any, error) {
	ex, err := f.execution(in)
	if err != nil {
		return nil, err
	}
	if ex.status != "InProgress" {
		return nil, &awsfake.Error{Status: 400, Type: "PipelineExecutionNotStoppableException", Message: "Pipeline execution is not stoppable: it is " + ex.status}
	}
	ex.status = "Stopped"
	return map[string]any{"pipelineExecutionId": ex.id}, nil
}

func (f *fakePipeline) retryStage(in map[string]any) (any, error) {
	ex, err := f.execution(in)
	if err != nil {
		return nil, err
	}
	if mode := in["retryMode"]; mode != "FAILED_ACTIONS" && mode != "ALL_ACTIONS" {
		f.t.Errorf("RetryStageExecution retryMode %v", mode)
	}
	for _, s := range stagesOf {
		if s[0] == in["stageName"] {
			if a := ex.action(s[1]); a != nil && a.status == "Failed" {
				return map[string]any{"pipelineExecutionId": ex.id}, nil
			}
			return nil, &awsfake.Error{Status: 400, Type: "StageNotRetryableException", Message: "Stage is not retryable: it did not fail"}
		}
	}
	return nil, &awsfake.Error{Status: 400, Type: "StageNotFoundException", Message: "no such stage"}
}

func (f *fakePipeline) putApprovalResult(in map[string]any) (any, error) {
	result, _ := in["result"].(map[string]any)
	for _, ex := range f.executions {
		a := ex.action(controltest.ActionReview)
		if a == nil || a.token != in["token"] || in["stageName"] != a.stage || in["actionName"] != a.name {
			continue
		}
		if a.status != "InProgress" {
			return nil, &awsfake.Error{Status: 400, Type: "ApprovalAlreadyCompletedException", Message: "already completed"}
		}
		a.status, a.last, a.byWhom = "Succeeded", time.Now(), principal
		a.summary, _ = result["summary"].(string)
		ex.status = "Succeeded"
		if result["status"] == "Rejected" {
			a.status, ex.status = "Failed", "Failed"
		}
		return map[string]any{"approvedAt": awsfake.Time(a.last)}, nil
	}
	return nil, &awsfake.Error{Status: 400, Type: "InvalidApprovalTokenException", Message: "The approval action cannot be found or the token is invalid"}
}

func (f *fakePipeline) build(id string) map[string]any {
	_, stream, _ := strings.Cut(id, ":")
	return map[string]any{"id": id, "projectName": "unit", "buildStatus": "SUCCEEDED",
		"logs":       map[string]any{"groupName": "/codebuild/unit", "streamName": stream},
		"reportArns": []any{"arn:aws:codebuild:eu-west-1:123456789012:report/unit-unit:" + stream}}
}

func (f *fakePipeline) batchGetBuilds(in map[string]any) (any, error) {
	var builds []any
	for _, id := range in["ids"].([]any) {
		builds = append(builds, f.build(id.(string)))
	}
	return map[string]any{"builds": builds}, nil
}

func (f *fakePipeline) batchGetReports(in map[string]any) (any, error) {
	var reports []any
	for _, arn := range in["reportArns"].([]any) {
		reports = append(reports, map[string]any{"arn": arn, "type": "TEST", "status": "SUCCEEDED",
			"reportGroupArn": "arn:aws:codebuild:eu-west-1:123456789012:report-group/unit-unit",
			"testSummary":    map[string]any{"total": 2, "statusCounts": map[string]any{"SUCCEEDED": 2}, "durationInNanoSeconds": 1500000}})
	}
	return map[string]any{"reports": reports}, nil
}

// buildLog is the build's log in CloudWatch Logs, two events a page.
var buildLog = []string{
	"[Container] 2026/12/05 10:00:00.000000 Running command echo " + controltest.BuildLogLine + "\n",
	controltest.BuildLogLine + "\n",
	"[Container] 2026/12/05 10:00:00.100000 Running command mkdir -p reports\n",
	"[Container] 2026/12/05 10:00:00.200000 Phase complete: BUILD State: SUCCEEDED\n",
	"[Container] 2026/12/05 10:00:00.300000 Phase complete: UPLOAD_ARTIFACTS State: SUCCEEDED\n",
}

func (f *fakePipeline) getLogEvents(in map[string]any) (any, error) {
	if in["logGroupName"] != "/codebuild/unit" || in["startFromHead"] != true {
		f.t.Errorf("GetLogEvents %v", in)
	}
	from := 0
	if tok, ok := in["nextToken"].(string); ok {
		from, _ = strconv.Atoi(strings.TrimPrefix(tok, "f/"))
	}
	var events []any
	for i := from; i < len(buildLog) && i < from+2; i++ {
		events = append(events, map[string]any{"timestamp": 1764928800000 + i, "message": buildLog[i], "ingestionTime": 1764928800000 + i})
	}
	next := min(from+2, len(buildLog))
	return map[string]any{"events": events, "nextForwardToken": "f/" + strconv.Itoa(next), "nextBackwardToken": "b/0"}, nil
}

// mustJSON is v as JSON, for error messages.
func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
