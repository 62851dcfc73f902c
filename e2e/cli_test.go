package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// approvalDefinition is a pipeline whose source holds a built revision: Source,
// a manual approval, then a blue-green deployment of what the source holds.
const approvalDefinition = `version: 1
pipeline:
  name: web
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], namespace: SourceVariables, configuration: {Repository: .}}
    - name: Approval
      actions:
        - {name: Review, category: Approval, provider: Manual, configuration: {CustomData: "review #{SourceVariables.CommitId}"}}
    - name: Deploy
      actions:
        - name: Deploy
          category: Deploy
          provider: CodeDeployToECS
          input_artifacts: [src]
          configuration: {ApplicationName: web, DeploymentGroupName: production, TaskDefinitionTemplatePath: revisions/a/taskdef.json, AppSpecTemplatePath: revisions/a/appspec.yaml}
services:
  web:
    driver: process
    listeners: {production: "PROD"}
    health_check: {path: /health, interval: 250ms, timeout: 200ms, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200"}
    deregistration_delay: 1s
    process: {command: [./revisions/a/orders-service]}
applications:
  web:
    deployment_groups:
      production:
        service: web
        termination_wait: 0s
        hooks:
          pause: {command: [sleep, "0.1"]}
`

// syncBuffer is a bytes.Buffer a child process writes while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestApprovalFromAnotherTerminalAfterTheRunCrashed kills `greenlight run` while
// it waits for an approval, approves from another process, and resumes: the
// execution carries on from where it was and releases the revision.
func TestApprovalFromAnotherTerminalAfterTheRunCrashed(t *testing.T) {
	p := newDeployProject(t, "0s", "a")
	def := strings.ReplaceAll(approvalDefinition, "PROD", p.production)
	if err := os.WriteFile(filepath.Join(p.repo, "greenlight.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	p.git("init", "-q", "-b", "main")
	p.commit("revision a")

	run := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "run")
	var out syncBuffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	var status struct {
		ID     string `json:"execution_id"`
		Status string `json:"status"`
		Stages []struct {
			Name    string `json:"name"`
			Actions []struct {
				Approval *struct {
					Status     string `json:"status"`
					CustomData string `json:"custom_data"`
					DecidedBy  string `json:"decided_by"`
					Summary    string `json:"summary"`
				} `json:"approval"`
			} `json:"actions"`
		} `json:"stages"`
	}
	var lastStatus string
	readStatus := func() {
		o, code := p.run(context.Background(), "status", "--json")
		lastStatus = o
		if code != 0 || json.Unmarshal([]byte(o), &status) != nil {
			status.ID = ""
		}
	}
	approval := func() string {
		if len(status.Stages) < 2 || len(status.Stages[1].Actions) == 0 || status.Stages[1].Actions[0].Approval == nil {
			return ""
		}
		return status.Stages[1].Actions[0].Approval.Status
	}
	deadline := time.Now().Add(60 * time.Second)
	for readStatus(); approval() != "Needed"; readStatus() {
		if time.Now().After(deadline) {
			t.Fatalf("the approval was never requested; last status:\n%s\nrun output:\n%s", lastStatus, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if custom := status.Stages[1].Actions[0].Approval.CustomData; !strings.HasPrefix(custom, "review ") || len(custom) < 20 {
		t.Errorf("custom data %q: want the commit resolved into it", custom)
	}
	// The command prints the request as it tails the events (within ~100 ms).
	eventually(t, 10*time.Second, "run to say how to approve", func() bool { return strings.Contains(out.String(), "greenlight approve "+status.ID) })
	_ = run.Process.Signal(syscall.SIGKILL)
	_ = run.Wait() // killed: its status says nothing

	if o, code := p.run(context.Background(), "approve", status.ID[:8], "--comment", "staging looks good"); code != 0 {
		t.Fatalf("approve: exit %d\n%s", code, o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if o, code := p.run(ctx, "resume"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, o)
	}
	readStatus()
	if status.Status != "Succeeded" || approval() != "Approved" || status.Stages[1].Actions[0].Approval.Summary != "staging looks good" || status.Stages[1].Actions[0].Approval.DecidedBy == "" {
		t.Fatalf("after resume: %+v", status)
	}
	if v, err := version(p.production); err != nil || v != "a" {
		t.Fatalf("production serves %q (%v)", v, err)
	}
	if o, code := p.run(context.Background(), "history"); code != 0 || !strings.Contains(o, status.ID) || !strings.Contains(o, "Succeeded") {
		t.Errorf("history (exit %d):\n%s", code, o)
	}
	if o, code := p.run(context.Background(), "logs", status.ID, "Deploy/Deploy"); code != 0 || !strings.Contains(o, "AllowTraffic: Succeeded") {
		t.Errorf("logs (exit %d):\n%s", code, o)
	}
}
