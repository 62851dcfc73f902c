package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// bakeDefinition is deployDefinition releasing all at once to a deployment group
// whose hooks all pass (/bin/true), watched by an error-rate alarm of one
// one-second period: its bake window is one second.
var bakeDefinition = strings.NewReplacer(
	"deployment_config: Linear50PercentEvery1Second", "deployment_config: CodeDeployDefault.ECSAllAtOnce",
	"termination_wait: WAIT", "termination_wait: 1h\n        alarms: {enabled: true, names: [error-rate]}",
	`pause: {command: [sleep, "0.5"], timeout: 30s}`, "pause: {command: [/bin/true]}",
).Replace(deployDefinition) + `alarms:
  error-rate:
    metric_queries:
      - {id: errors, metric_name: HTTPCode_Target_5XX_Count, stat: Sum}
      - {id: requests, metric_name: RequestCount, stat: Sum}
      - {id: rate, expression: "100 * errors / requests", return_data: true}
    period: 1
    evaluation_periods: 1
    datapoints_to_alarm: 1
    threshold: 5
    comparison_operator: GreaterThanThreshold
    treat_missing_data: notBreaching
`

const bakeTaskDef = `{"family": "web", "containerDefinitions": [{"name": "api", "image": "orders-service:e2e", "essential": true,
  "portMappings": [{"containerPort": 3000}], "environment": [{"name": "FAIL_RATE", "value": "<FAIL_RATE>"}]}]}`

// newBakeProject is a repository holding bakeDefinition, the example service's
// binary and its revision files, releasing FAIL_RATE 0.
func newBakeProject(t *testing.T) *deployProject {
	t.Helper()
	p := &project{t: t, repo: filepath.Join(t.TempDir(), "web"), production: testnet.FreeAddr(t), test: testnet.FreeAddr(t)}
	if err := os.MkdirAll(p.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"greenlight.yaml": strings.NewReplacer("PROD", p.production, "TEST", p.test).Replace(bakeDefinition),
		"appspec.yaml":    deployAppSpec,
		".gitignore":      ".greenlight/\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(p.repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := gobuild.Build(context.Background(), ".", filepath.Join(p.repo, "orders-service"), gobuild.Options{Dir: "../examples/orders-service", Version: "e2e", Static: true}); err != nil {
		t.Fatal(err)
	}
	dp := &deployProject{project: p}
	dp.setFailRate("0")
	p.git("init", "-q", "-b", "main")
	p.commit("web")
	p.downAtCleanup()
	return dp
}

func (p *deployProject) setFailRate(rate string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.repo, "taskdef.json"), []byte(strings.Replace(bakeTaskDef, "<FAIL_RATE>", rate, 1)), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestBadReleaseIsRolledBackInsideTheBakeWindowAndRunFails is issue 8's first
// item end to end: a release failing half its requests passes every hook, takes
// production, and its error-rate alarm rolls it back inside the bake window;
// `greenlight run` exits non-zero with the alarm's reason instead of reporting
// success. A good release with the same alarm succeeds after its window.
func TestBadReleaseIsRolledBackInsideTheBakeWindowAndRunFails(t *testing.T) {
	p := newBakeProject(t)
	if sum, _, code := p.pipeline(); code != 0 || sum.Status != "Succeeded" {
		t.Fatalf("first release: exit %d, %s: %s", code, sum.Status, sum.StatusSummary)
	}

	l := startLoad(p.production, "/orders", 4)
	p.setFailRate("0.5")
	p.commit("Bad release: FAIL_RATE 0.5")
	sum, events, code := p.pipeline()
	time.Sleep(300 * time.Millisecond)
	l.Stop()
	first, last := l.FirstFailure(), l.LastFailure()
	t.Logf("bad release under load: %s; failed responses from first to last a client saw: %s (%s to %s)",
		l, last.Sub(first).Round(time.Millisecond), first.Format("15:04:05.000"), last.Format("15:04:05.000"))
	if code == 0 || sum.Status != "Failed" || !strings.Contains(sum.StatusSummary, "alarm error-rate entered ALARM") {
		t.Fatalf("bad release: exit %d, %s: %q; want a failure naming the alarm", code, sum.Status, sum.StatusSummary)
	}
	if first.IsZero() {
		t.Fatal("no client saw a failed response: the bad release never took production")
	}
	d := p.latestBlueGreen()
	if s := d.Step(deploy.StepBakeTime); s == nil || s.Status != deploy.StepFailed || d.Status != deploy.StatusStopped {
		t.Fatalf("bad release %s %s: want it stopped inside its bake window (steps %+v)", d.ID, d.Status, d.Steps)
	}
	if hasEvent(events, "deployment", string(deploy.StatusBaking)) {
		t.Error("the bad release was reported released (Baking) before its rollback")
	}

	l = startLoad(p.production, "/orders", 4)
	p.setFailRate("0")
	p.commit("Good release")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, code := p.run(ctx, "run", "--auto-approve")
	l.Stop()
	if code != 0 || !strings.Contains(out, "baking 1s/1s, alarms OK") {
		t.Fatalf("good release: exit %d, want success after a bake line:\n%s", code, out)
	}
	if l.Failed() != 0 {
		t.Errorf("good release under load: %s", l)
	}
	if d := p.latestBlueGreen(); d.Status != deploy.StatusBaking || d.Step(deploy.StepBakeTime).Status != deploy.StepSucceeded {
		t.Errorf("good release %s: %s, BakeTime %s", d.ID, d.Status, d.Step(deploy.StepBakeTime).Status)
	}
}

// latestBlueGreen is the newest deployment that is not a rollback.
func (p *deployProject) latestBlueGreen() *deploy.Deployment {
	p.t.Helper()
	st, closeDB := p.deployments()
	defer closeDB()
	ds, err := st.LatestDeployments(context.Background(), "web", 5)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, d := range ds {
		if d.Kind == deploy.KindBlueGreen {
			return d
		}
	}
	p.t.Fatalf("no blue-green deployment among %d", len(ds))
	return nil
}

// TestRollbackAfterReleaseWhileRunIsAttached: a release that baked is rolled
// back later, in its termination wait, while `greenlight run` still follows the
// execution (it waits at an approval after the deploy): run says the deploy
// action failed after its release, and the execution ends Failed.
func TestRollbackAfterReleaseWhileRunIsAttached(t *testing.T) {
	p := newBakeProject(t)
	p.edit("greenlight.yaml", func(s string) string {
		return strings.Replace(s, "services:", `    - name: Verify
      actions:
        - {name: Review, category: Approval, provider: Manual}
services:`, 1)
	})
	p.commit("with a review after production")
	if sum, _, code := p.pipeline(); code != 0 || sum.Status != "Succeeded" {
		t.Fatalf("first release: exit %d, %s: %s", code, sum.Status, sum.StatusSummary)
	}
	p.commit("second release")
	out := &syncBuffer{}
	cmd := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "run")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	eventually(t, 2*time.Minute, "the approval after production", func() bool { return strings.Contains(out.String(), "approval needed") })
	if o, code := p.run(context.Background(), "rollback", "--reason", "e2e"); code != 0 {
		t.Fatalf("rollback: exit %d\n%s", code, o)
	}
	eventually(t, time.Minute, "run to say the release was rolled back", func() bool {
		return strings.Contains(out.String(), "Deploy Failed") && strings.Contains(out.String(), "rolled back after release: rollback requested")
	})
	m := regexp.MustCompile(`greenlight approve (\S+) --comment`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("run did not say how to approve:\n%s", out.String())
	}
	if o, code := p.run(context.Background(), "approve", m[1], "--comment", "e2e"); code != 0 {
		t.Fatalf("approve: exit %d\n%s", code, o)
	}
	err := cmd.Wait()
	if err == nil || !strings.Contains(out.String(), "failed after release") {
		t.Fatalf("run after a rollback in the termination wait: %v, want a non-zero exit saying so:\n%s", err, out.String())
	}
}
