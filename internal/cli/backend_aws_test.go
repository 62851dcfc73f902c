package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
)

// fakeAWSForCLI points the SDK's default configuration at a fake AWS holding one
// execution of the example's pipeline, waiting at its approval.
func fakeAWSForCLI(t *testing.T) *awsfake.Server {
	srv := awsfake.New(t)
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("GREENLIGHT_BACKEND", "")
	started := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	srv.Answer("CodePipeline_20150709.ListPipelineExecutions", map[string]any{"pipelineExecutionSummaries": []any{map[string]any{
		"pipelineExecutionId": "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d", "status": "InProgress", "startTime": awsfake.Time(started),
		"lastUpdateTime": awsfake.Time(started.Add(time.Minute)), "executionMode": "SUPERSEDED",
		"trigger":         map[string]any{"triggerType": "WebhookV2", "triggerDetail": "arn:aws:codeconnections:eu-west-1:123456789012:connection/x"},
		"sourceRevisions": []any{map[string]any{"actionName": "Source", "revisionId": "0d1a26e5b7c0c1f2a3b4c5d6e7f8091a2b3c4d5e"}},
	}}})
	srv.Answer("CodePipeline_20150709.GetPipeline", map[string]any{"pipeline": map[string]any{"name": "orders-service", "stages": []any{
		map[string]any{"name": "Source", "actions": []any{map[string]any{"name": "Source", "actionTypeId": map[string]any{"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}}}},
		map[string]any{"name": "Approval", "actions": []any{map[string]any{"name": "ManualApproval", "actionTypeId": map[string]any{"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}}}},
	}}})
	srv.Answer("CodePipeline_20150709.GetPipelineExecution", map[string]any{"pipelineExecution": map[string]any{
		"pipelineName": "orders-service", "pipelineExecutionId": "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d", "status": "InProgress",
		"artifactRevisions": []any{map[string]any{"name": "source_output", "revisionId": "0d1a26e5b7c0c1f2a3b4c5d6e7f8091a2b3c4d5e"}},
		"trigger":           map[string]any{"triggerType": "WebhookV2"},
	}})
	srv.Answer("CodePipeline_20150709.ListActionExecutions", map[string]any{"actionExecutionDetails": []any{
		map[string]any{"stageName": "Source", "actionName": "Source", "status": "Succeeded", "startTime": awsfake.Time(started), "lastUpdateTime": awsfake.Time(started.Add(5 * time.Second))},
		map[string]any{"stageName": "Approval", "actionName": "ManualApproval", "status": "InProgress", "startTime": awsfake.Time(started.Add(time.Minute)),
			"input": map[string]any{"configuration": map[string]any{"CustomData": "check staging"}}},
	}})
	srv.Answer("CodePipeline_20150709.GetPipelineState", map[string]any{"stageStates": []any{map[string]any{"stageName": "Approval",
		"latestExecution": map[string]any{"pipelineExecutionId": "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d", "status": "InProgress"},
		"actionStates":    []any{map[string]any{"actionName": "ManualApproval", "latestExecution": map[string]any{"status": "InProgress", "token": "tok-1"}}},
	}}})
	srv.Answer("CodePipeline_20150709.PutApprovalResult", map[string]any{"approvedAt": awsfake.Time(started.Add(2 * time.Minute))})
	return srv
}

// TestBackendAWSSelectsTheAWSBackend: --backend aws (or GREENLIGHT_BACKEND=aws)
// drives CodePipeline with the same commands and output as locally.
func TestBackendAWSSelectsTheAWSBackend(t *testing.T) {
	srv := fakeAWSForCLI(t)
	dir := t.TempDir()
	out, err := greenlight(t, dir, "-f", exampleDefinition, "--backend", "aws", "--json", "history")
	var line map[string]any
	if err != nil || json.Unmarshal([]byte(out), &line) != nil || line["execution_id"] != "5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d" ||
		line["status"] != "InProgress" || line["trigger"] != "WebhookV2" {
		t.Fatalf("history --json: %v\n%s", err, out)
	}
	if in := srv.Calls("CodePipeline_20150709.ListPipelineExecutions")[0].Input; in["pipelineName"] != "orders-service" {
		t.Errorf("ListPipelineExecutions %v: the pipeline is greenlight.yaml's", in)
	}

	t.Setenv("GREENLIGHT_BACKEND", "aws")
	out, err = greenlight(t, dir, "-f", exampleDefinition, "status")
	if err != nil || !strings.Contains(out, "execution 5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d of orders-service: InProgress") ||
		!strings.Contains(out, "waiting for approval: check staging") || !strings.Contains(out, "revision 0d1a26e") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	out, err = greenlight(t, dir, "-f", exampleDefinition, "approve", "5f1c2b7e", "--comment", "staging looks good")
	if err != nil || !strings.Contains(out, "approved 5f1c2b7e-8a9d-4c3b-9e21-0f6d5a4b3c2d") {
		t.Fatalf("approve: %v\n%s", err, out)
	}
	put := srv.Calls("CodePipeline_20150709.PutApprovalResult")
	if len(put) != 1 || put[0].Input["token"] != "tok-1" || put[0].Input["stageName"] != "Approval" {
		t.Fatalf("PutApprovalResult %v", put)
	}
	if _, err := greenlight(t, dir, "-f", exampleDefinition, "--backend", "gcp", "history"); err == nil || !strings.Contains(err.Error(), "want local or aws") {
		t.Fatalf("--backend gcp: %v", err)
	}
}
