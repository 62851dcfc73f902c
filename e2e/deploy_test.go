package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/store"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// deployProject is a greenlight.yaml with one blue-green deployment group whose
// every hook pauses, and revisions of the example service built in the test.
type deployProject struct {
	*project
	revisions map[string]string // version -> revision directory
}

const deployDefinition = `version: 1
pipeline:
  name: web
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Deploy
      actions:
        - {name: Deploy, category: Deploy, provider: CodeDeployToECS, input_artifacts: [src], configuration: {ApplicationName: web, DeploymentGroupName: production}}
services:
  web:
    driver: process
    desired_count: 2
    listeners: {production: "PROD", test: "TEST"}
    health_check: {path: /health, interval: 250ms, timeout: 200ms, healthy_threshold: 2, unhealthy_threshold: 2, matcher: "200"}
    deregistration_delay: 2s
    process: {command: [./orders-service]}
applications:
  web:
    deployment_groups:
      production:
        service: web
        deployment_config: Linear50PercentEvery1Second
        termination_wait: WAIT
        auto_rollback: {enabled: true, events: [DEPLOYMENT_FAILURE, DEPLOYMENT_STOP_ON_ALARM, DEPLOYMENT_STOP_ON_REQUEST]}
        hooks:
          pause: {command: [sleep, "0.5"], timeout: 30s}
deployment_configs:
  Linear50PercentEvery1Second: {type: TimeBasedLinear, percentage: 50, interval: 1s}
`

const deployAppSpec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: api, ContainerPort: 3000}
Hooks:
  - BeforeInstall: pause
  - AfterInstall: pause
  - AfterAllowTestTraffic: pause
  - BeforeAllowTraffic: pause
  - AfterAllowTraffic: pause
`

func newDeployProject(t *testing.T, terminationWait string, versions ...string) *deployProject {
	t.Helper()
	p := &project{t: t, repo: filepath.Join(t.TempDir(), "web"), production: testnet.FreeAddr(t), test: testnet.FreeAddr(t)}
	def := strings.NewReplacer("PROD", p.production, "TEST", p.test, "WAIT", terminationWait).Replace(deployDefinition)
	if err := os.MkdirAll(p.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.repo, "greenlight.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	dp := &deployProject{project: p, revisions: map[string]string{}}
	for _, v := range versions {
		dp.revisions[v] = dp.buildRevision(v)
	}
	p.downAtCleanup()
	return dp
}

// buildRevision builds the example service reporting version into a revision
// directory with its task definition and appspec.
func (p *deployProject) buildRevision(version string) string {
	p.t.Helper()
	dir := filepath.Join(p.repo, "revisions", version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := gobuild.Build(context.Background(), ".", filepath.Join(dir, "orders-service"), gobuild.Options{Dir: "../examples/orders-service", Version: version, Static: true}); err != nil {
		p.t.Fatal(err)
	}
	taskdef := fmt.Sprintf(`{"family": "web", "containerDefinitions": [{"name": "api", "image": "orders-service:%s", "essential": true,
		"portMappings": [{"containerPort": 3000}], "environment": [{"name": "FAIL_RATE", "value": "0"}]}]}`, version)
	for name, content := range map[string]string{"taskdef.json": taskdef, "appspec.yaml": deployAppSpec} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	return dir
}

// startDeploy runs `greenlight deploy` of a version in the background.
func (p *deployProject) startDeploy(version string) (*exec.Cmd, *strings.Builder) {
	p.t.Helper()
	dir := p.revisions[version]
	cmd := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "deploy",
		"--taskdef", filepath.Join(dir, "taskdef.json"), "--appspec", filepath.Join(dir, "appspec.yaml"))
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return cmd, out
}

func (p *deployProject) deploy(version string) {
	p.t.Helper()
	cmd, out := p.startDeploy(version)
	if err := cmd.Wait(); err != nil {
		p.t.Fatalf("greenlight deploy %s: %v\n%s", version, err, out)
	}
}

// deployments reads the state file, as a second process would.
func (p *deployProject) deployments() (deploy.Store, func()) {
	p.t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(p.stateDir(), "state.db"))
	if err != nil {
		p.t.Fatal(err)
	}
	return db.Deployments(), func() { db.Close() }
}

func (p *deployProject) latest() *deploy.Deployment {
	st, closeDB := p.deployments()
	defer closeDB()
	ds, err := st.LatestDeployments(context.Background(), "web", 1)
	if err != nil || len(ds) == 0 {
		return nil
	}
	return ds[0]
}

func (p *deployProject) controllerPID() int {
	b, err := os.ReadFile(filepath.Join(p.stateDir(), "controller.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// TestControllerKilledAtEveryStepResumes SIGKILLs the controller process as each
// lifecycle step of a deployment begins (the deploy package's tests stop it exactly
// inside each step). The agent's watchdog starts a new one,
// which resumes the deployment from its recorded step; production answers every
// request throughout.
func TestControllerKilledAtEveryStepResumes(t *testing.T) {
	p := newDeployProject(t, "1s", "a", "b")
	p.deploy("a")
	eventually(t, 30*time.Second, "production serving a", func() bool { v, _ := version(p.production); return v == "a" })
	l := startLoad(p.production, "/orders", 4)
	steps := []deploy.StepName{deploy.StepBeforeInstall, deploy.StepInstall, deploy.StepAfterInstall, deploy.StepAllowTestTraffic,
		deploy.StepAfterAllowTestTraffic, deploy.StepBeforeAllowTraffic, deploy.StepAllowTraffic, deploy.StepAfterAllowTraffic,
		deploy.StepTerminationWait, deploy.StepTerminateOriginal}
	prev := p.latest().ID
	for i, step := range steps {
		v := []string{"b", "a"}[i%2]
		cmd, out := p.startDeploy(v)
		var d *deploy.Deployment
		// Steps without a wait (AllowTestTraffic) may be over before a poll sees
		// them: the kill then lands right after, at the next step's start.
		eventually(t, 60*time.Second, string(step)+" started", func() bool {
			d = p.latest()
			return d != nil && d.ID != prev && d.Step(step) != nil && d.Step(step).Status != deploy.StepPending
		})
		pid := p.controllerPID()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill controller %d: %v", pid, err)
		}
		eventually(t, 30*time.Second, "a new controller", func() bool { n := p.controllerPID(); return n != 0 && n != pid && syscall.Kill(n, 0) == nil })
		if err := cmd.Wait(); err != nil {
			t.Fatalf("deploy %s killed in %s: %v\n%s", v, step, err, out)
		}
		st, closeDB := p.deployments()
		eventually(t, 60*time.Second, d.ID+" succeeded", func() bool {
			got, err := st.Deployment(context.Background(), d.ID)
			return err == nil && got.Status == deploy.StatusSucceeded
		})
		closeDB()
		if got, _ := version(p.production); got != v {
			t.Fatalf("after the crash in %s production serves %q, want %s", step, got, v)
		}
		prev = d.ID
	}
	l.Stop()
	if l.Failed() != 0 {
		t.Fatalf("controller crashes under load: %s", l)
	}
	t.Logf("%d controller crashes under load: %s", len(steps), l)
}

// TestRollbackFromTheCommandLineDuringTheTerminationWait deploys a second revision
// and rolls it back with `greenlight rollback` while the first one is kept warm.
func TestRollbackFromTheCommandLineDuringTheTerminationWait(t *testing.T) {
	p := newDeployProject(t, "1h", "a", "b")
	p.deploy("a")
	p.deploy("b")
	if v, _ := version(p.production); v != "b" {
		t.Fatalf("production serves %q, want b", v)
	}
	l := startLoad(p.production, "/orders", 4)
	out, code := p.run(context.Background(), "rollback", "--reason", "e2e")
	l.Stop()
	if code != 0 || !strings.Contains(out, "rolled back by") {
		t.Fatalf("greenlight rollback: exit %d\n%s", code, out)
	}
	if v, _ := version(p.production); v != "a" {
		t.Fatalf("production serves %q after the rollback, want a", v)
	}
	if l.Failed() != 0 {
		t.Fatalf("rollback under load: %s", l)
	}
	out, code = p.run(context.Background(), "deployments", "--json")
	if code != 0 || !strings.Contains(out, `"kind":"ROLLBACK"`) || !strings.Contains(out, `"restore"`) {
		t.Errorf("deployments --json (exit %d) lacks the rollback record:\n%s", code, out)
	}
}

// TestRollbackOfAFirstDeploymentIsRefused rolls back a service's first
// deployment during its termination wait: there is no original to go back to,
// so `greenlight rollback` refuses and production keeps serving.
func TestRollbackOfAFirstDeploymentIsRefused(t *testing.T) {
	p := newDeployProject(t, "1h", "a")
	cmd, deployed := p.startDeploy("a")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("greenlight deploy a: %v\n%s", err, deployed)
	}
	if strings.Contains(deployed.String(), "greenlight rollback") {
		t.Errorf("greenlight deploy of a first deployment suggests a rollback it would refuse:\n%s", deployed)
	}
	out, code := p.run(context.Background(), "rollback", "--reason", "e2e")
	if code == 0 || !strings.Contains(out, "no original revision to roll back to") {
		t.Fatalf("greenlight rollback of a first deployment: exit %d, want a refusal\n%s", code, out)
	}
	if v, err := version(p.production); v != "a" {
		t.Fatalf("production serves %q (%v) after the refused rollback, want a", v, err)
	}
	if d := p.latest(); d == nil || d.Status != deploy.StatusBaking || d.RolledBackBy != "" {
		t.Fatalf("deployment after the refused rollback: %+v, want it Baking and not rolled back", d)
	}
}

// TestProductionOutlivesTheCommandAndTheAgentRestarts checks the data plane is
// its own process: production answers after `greenlight deploy` exits, and when
// the agent is killed the controller brings it back with the routes it had.
func TestProductionOutlivesTheCommandAndTheAgentRestarts(t *testing.T) {
	p := newDeployProject(t, "1h", "a")
	p.deploy("a")
	if v, err := version(p.production); err != nil || v != "a" {
		t.Fatalf("production after deploy exited: %q %v", v, err)
	}
	b, err := os.ReadFile(filepath.Join(p.stateDir(), "agent.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "production back after the agent was killed", func() bool {
		v, err := version(p.production)
		return err == nil && v == "a"
	})
}

// TestContinueOnlyWhileTheDeploymentWaitsForIt: `greenlight deploy continue`
// is refused, as CodeDeploy's ContinueDeployment is on AWS (conflict,
// not_ready), unless the deployment waits in its STOP_DEPLOYMENT ready wait:
// before it got there and once its traffic moved. It used to be accepted and
// recorded at any time, so a pipeline that continued early passed here and
// failed on AWS.
func TestContinueOnlyWhileTheDeploymentWaitsForIt(t *testing.T) {
	p := newDeployProject(t, "1h", "a")
	p.edit("greenlight.yaml", func(s string) string {
		s = strings.Replace(s, "termination_wait: 1h\n", "termination_wait: 1h\n        deployment_ready: {action_on_timeout: STOP_DEPLOYMENT, wait_time: 5m}\n", 1)
		return strings.Replace(s, `sleep, "0.5"`, `sleep, "2"`, 1) // each hook: time to send a continue too early
	})
	cmd, deployOut := p.startDeploy("a")
	t.Cleanup(func() {
		if cmd.ProcessState == nil { // the test failed before it ended
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	var d *deploy.Deployment
	eventually(t, 30*time.Second, "the deployment", func() bool { d = p.latest(); return d != nil })

	out, code := p.run(context.Background(), "deploy", "continue", d.ID)
	if code == 0 || !strings.Contains(out, "not waiting for a continue") || !strings.Contains(out, "not reached its ready wait") {
		t.Fatalf("continue before the ready wait: exit %d\n%s", code, out)
	}
	if got := p.latest(); got.ContinueRequested || got.Status == deploy.StatusReady {
		t.Fatalf("after the early continue: %s, continue requested %v (the test was too slow?)", got.Status, got.ContinueRequested)
	}

	eventually(t, 60*time.Second, "the ready wait", func() bool { return p.latest().Status == deploy.StatusReady })
	if out, code := p.run(context.Background(), "deploy", "continue", d.ID, "--reason", "e2e"); code != 0 {
		t.Fatalf("continue in the ready wait: exit %d\n%s", code, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("greenlight deploy: %v\n%s", err, deployOut)
	}
	if got := p.latest(); got.Status != deploy.StatusBaking {
		t.Fatalf("after the continue: %s %s", got.Status, got.ErrorMessage)
	}

	out, code = p.run(context.Background(), "deploy", "continue", "--json")
	if code == 0 || !strings.Contains(out, "is Baking at TerminationWait") || !strings.Contains(out, "ready wait is over") {
		t.Fatalf("continue in the termination wait: exit %d\n%s", code, out)
	}
	t.Logf("refused: %s", strings.TrimSpace(out))
}
