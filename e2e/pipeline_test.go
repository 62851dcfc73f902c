package e2e

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestPipelineReleasesTwoCommitsWithoutAFailedRequest is the README's promise: the
// whole pipeline takes a commit to production, and the next commit replaces it
// while clients keep getting answers. It runs on Docker where an engine answers.
func TestPipelineReleasesTwoCommitsWithoutAFailedRequest(t *testing.T) {
	p := newProject(t, "")
	first := p.git("rev-parse", "--short=7", "HEAD")
	sum, events, code := p.pipeline()
	if code != 0 || sum.Status != "Succeeded" {
		t.Fatalf("first execution: exit %d, %s: %s", code, sum.Status, sum.StatusSummary)
	}
	assertStages(t, sum, "Source", "Build", "Test", "DeployStaging", "Approval", "DeployProduction")
	if sum.ProductionURL != "http://"+p.production || sum.StagingURL != "http://"+p.staging {
		t.Errorf("urls: staging %q production %q", sum.StagingURL, sum.ProductionURL)
	}
	if !hasEvent(events, "approval", "Approved") || !hasEvent(events, "traffic", "") {
		t.Errorf("events lack the approval or the traffic shift")
	}
	for _, addr := range []string{p.staging, p.production} {
		if v, err := version(addr); err != nil || v != first {
			t.Fatalf("%s serves %q (%v), want %s", addr, v, err, first)
		}
	}

	l := startLoad(p.production, "/orders", 4)
	p.edit("README.md", func(s string) string { return s + "\nA second release.\n" })
	second := p.commit("Second release")
	sum, _, code = p.pipeline()
	time.Sleep(500 * time.Millisecond)
	l.Stop()
	if code != 0 || sum.Status != "Succeeded" {
		t.Fatalf("second execution: exit %d, %s: %s", code, sum.Status, sum.StatusSummary)
	}
	if v, err := version(p.production); err != nil || v != second {
		t.Fatalf("production serves %q (%v), want %s", v, err, second)
	}
	if l.Failed() != 0 || l.Total() < 100 {
		t.Fatalf("load through the second release: %s", l)
	}
	if files := p.git("ls-files", ".greenlight"); files != "" {
		t.Errorf("the state directory was committed: %s", files)
	}
	t.Logf("second release under load: %s; lead time %s", l, time.Duration(sum.DurationMS)*time.Millisecond)
}

// TestBadReleasesRollBack releases two bad commits after a good one. The first
// fails half its requests: the deployment's smoke-test hooks or its error-rate
// alarm catch it. The second answers slowly, which only the p99 latency alarm
// catches once production traffic reaches it. Each execution fails at the
// production deployment, which is rolled back, and production keeps serving the
// good commit.
func TestBadReleasesRollBack(t *testing.T) {
	p := newProject(t, "process")
	good := p.git("rev-parse", "--short=7", "HEAD")
	if sum, _, code := p.pipeline(); code != 0 {
		t.Fatalf("first execution: exit %d, %s: %s", code, sum.Status, sum.StatusSummary)
	}
	for _, bad := range []struct{ name, env, alarm string }{
		{"errors", `{ "name": "FAIL_RATE", "value": "0.5" }`, ""},
		{"latency", `{ "name": "LATENCY_MS", "value": "800" }`, "orders-p99-latency"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			p.edit("taskdef-template.json", func(s string) string {
				s = strings.Replace(s, `{ "name": "FAIL_RATE", "value": "0.5" }`, `{ "name": "FAIL_RATE", "value": "0" }`, 1)
				name := strings.Split(bad.env, `"`)[3]
				return strings.Replace(s, `{ "name": "`+name+`", "value": "0" }`, bad.env, 1)
			})
			p.commit("Bad release: " + bad.env)
			l := startLoad(p.production, "/orders", 4)
			sum, events, code := p.pipeline()
			l.Stop()
			if code == 0 || sum.Status != "Failed" {
				t.Fatalf("bad release: exit %d, status %s", code, sum.Status)
			}
			if !strings.Contains(sum.StatusSummary, "DeployProduction") || !strings.Contains(sum.StatusSummary, "rolled back") {
				t.Errorf("status summary %q should name the production deployment and its rollback", sum.StatusSummary)
			}
			if bad.alarm != "" && !hasAlarm(events, bad.alarm) {
				t.Errorf("no ALARM event of %s in the execution's events", bad.alarm)
			}
			if v, err := version(p.production); err != nil || v != good {
				t.Fatalf("production serves %q (%v) after the rollback, want %s", v, err, good)
			}
			t.Logf("%s release under load: %s; %s", bad.name, l, sum.StatusSummary)
		})
	}
	out, code := p.run(context.Background(), "deployments")
	if code != 0 || strings.Count(out, "rolled back by") != 2 || !strings.Contains(out, "ROLLBACK") {
		t.Errorf("greenlight deployments (exit %d) does not show both rollbacks:\n%s", code, out)
	}
	// greenlight alarms evaluates both alarms on production now and lists the
	// state changes that rolled the releases back.
	out, code = p.run(context.Background(), "alarms")
	if code != 0 || !strings.Contains(out, "orders-error-rate") || !strings.Contains(out, "orders-p99-latency") ||
		!strings.Contains(out, "(production)") || !strings.Contains(out, "alarm orders-p99-latency ALARM") {
		t.Errorf("greenlight alarms (exit %d):\n%s", code, out)
	}
}

func TestValidateNamesTheFileLineAndColumn(t *testing.T) {
	p := newProject(t, "process")
	p.edit("greenlight.yaml", func(s string) string {
		return strings.Replace(s, "deployment_config: CodeDeployDefault.ECSAllAtOnce", "deployment_config: CodeDeployDefault.ECSAllAtOnce2", 1)
	})
	out, code := p.run(context.Background(), "validate")
	if code == 0 || !strings.Contains(out, "greenlight.yaml:") || !strings.Contains(out, `"CodeDeployDefault.ECSAllAtOnce2"`) || !strings.Contains(out, "CodeDeployDefault.ECSLinear10PercentEvery1Minutes") {
		t.Fatalf("validate (exit %d):\n%s", code, out)
	}
	if _, err := os.Stat(p.stateDir()); err == nil {
		entries, _ := os.ReadDir(p.stateDir())
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "agent") {
				t.Errorf("validate started the agent (%s)", e.Name())
			}
		}
	}
}

func assertStages(t *testing.T, sum summary, names ...string) {
	t.Helper()
	if len(sum.Stages) != len(names) {
		t.Fatalf("stages %+v, want %v", sum.Stages, names)
	}
	for i, st := range sum.Stages {
		if st.Name != names[i] || st.Status != "Succeeded" {
			t.Errorf("stage %d: %s %s, want %s Succeeded", i, st.Name, st.Status, names[i])
		}
	}
}

func hasEvent(events []map[string]any, kind, status string) bool {
	for _, e := range events {
		if e["kind"] == kind && (status == "" || e["status"] == status) {
			return true
		}
	}
	return false
}

func hasAlarm(events []map[string]any, name string) bool {
	for _, e := range events {
		if e["kind"] == "alarm" && e["status"] == "ALARM" && e["name"] == name {
			return true
		}
	}
	return false
}

// TestStagingPortTakenFailsTheRunPromptly: another program holds the staging
// service's port (a second demo, say). The staging deploy's Install fails with
// the bind error, and `greenlight run` ends Failed at once with that reason in
// the Deploy action's summary. It used to keep the action running until the
// ECS action's DeploymentTimeout.
func TestStagingPortTakenFailsTheRunPromptly(t *testing.T) {
	p := newProject(t, "process")
	ln, err := net.Listen("tcp", p.staging)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, code := p.run(ctx, "run", "--auto-approve", "--json")
	if ctx.Err() != nil {
		t.Fatalf("greenlight run still ran after 3 minutes:\n%s", out)
	}
	var sum summary
	installFailed := false
	for _, line := range strings.Split(out, "\n") {
		var obj map[string]any
		if json.Unmarshal([]byte(line), &obj) != nil {
			continue
		}
		if obj["kind"] == "summary" {
			_ = json.Unmarshal([]byte(line), &sum)
		}
		if obj["kind"] == "lifecycle" && obj["name"] == "Install" && obj["status"] == "Failed" {
			if msg, _ := obj["message"].(string); !strings.Contains(msg, "address already in use") {
				t.Errorf("Install failed with %q, want the bind error", msg)
			}
			installFailed = true
		}
	}
	if code == 0 || sum.Status != "Failed" {
		t.Fatalf("exit %d, status %q:\n%s", code, sum.Status, out)
	}
	if !installFailed {
		t.Errorf("no lifecycle event of Install failing")
	}
	if !strings.Contains(sum.StatusSummary, "DeployStaging") || !strings.Contains(sum.StatusSummary, "address already in use") {
		t.Errorf("status summary %q should name the staging deploy and the bind error", sum.StatusSummary)
	}
	for _, s := range sum.Stages {
		if s.Name == "DeployStaging" && (s.Status != "Failed" || s.DurationMS > 30_000) {
			t.Errorf("DeployStaging: %s after %dms, want Failed within seconds", s.Status, s.DurationMS)
		}
	}
	status, code := p.run(context.Background(), "status")
	if code != 0 || !strings.Contains(status, "address already in use") {
		t.Errorf("greenlight status (exit %d) does not show the reason:\n%s", code, status)
	}
	t.Logf("%s", sum.StatusSummary)
}
