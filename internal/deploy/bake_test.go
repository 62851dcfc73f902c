package deploy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// withBakeAlarms gives a release the error-rate alarm (1 of 1 one-second
// periods) and the default bake window that follows from it.
func withBakeAlarms(c *deploy.Config) {
	c.TerminationWait = jsontime.Duration(time.Minute)
	c.Alarms = []*manifest.Alarm{errorRateAlarm()}
	c.BakeTime = jsontime.Duration(deploy.DefaultBakeTime(c.Alarms))
}

// statusEvents lists the deployment statuses d went through, in order.
func (h *harness) statusEvents(id string) []string {
	var out []string
	for _, e := range h.events.Events() {
		if e.Kind == event.KindDeployment && e.DeploymentID == id {
			out = append(out, e.Status)
		}
	}
	return out
}

// TestBadReleaseIsRolledBackInsideTheBakeWindow is issue 8's first item: a
// release whose hooks pass but which fails half its requests must never be
// reported released. The alarm fires inside the bake window; the deployment
// stops there, is rolled back, and never reaches Baking.
func TestBadReleaseIsRolledBackInsideTheBakeWindow(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	d := h.create(release{version: "bad", env: map[string]string{"FAIL_RATE": "0.5"}, config: withBakeAlarms})
	if d.Config.BakeTime.D() != time.Second {
		t.Fatalf("bake window %s, want the alarm's evaluation range: 1 × 1s", d.Config.BakeTime)
	}
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.Status.Done() && d.Rollback != nil })
	l.Stop()
	if d.Status != deploy.StatusStopped || d.ErrorCode != deploy.CodeAlarmActive || !strings.Contains(d.ErrorMessage, "alarm error-rate entered ALARM") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	if s := d.Step(deploy.StepBakeTime); s.Status != deploy.StepFailed || d.Step(deploy.StepAllowTraffic).Status != deploy.StepSucceeded {
		t.Errorf("BakeTime %s after AllowTraffic %s: want the stop inside the bake window", s.Status, d.Step(deploy.StepAllowTraffic).Status)
	}
	for _, st := range h.statusEvents(d.ID) {
		if deploy.Status(st).Released() {
			t.Errorf("the bad release was reported %s before its rollback (statuses %v)", st, h.statusEvents(d.ID))
		}
	}
	h.assertOnlyVersionServes("v1")
}

// TestGoodReleaseIsReleasedOnlyAfterItsBakeWindow: the same alarms on a good
// release; it is released once the window has passed with the alarm OK, and
// followers saw the window's progress.
func TestGoodReleaseIsReleasedOnlyAfterItsBakeWindow(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 2)
	d := h.create(release{version: "v2", config: func(c *deploy.Config) {
		withBakeAlarms(c)
		c.BakeTime = jsontime.Duration(2 * time.Second)
	}})
	d = h.wait(d.ID, "released", released)
	l.Stop()
	if d.Status != deploy.StatusBaking || l.Failed() != 0 {
		t.Fatalf("good release: %s %s; load %s", d.Status, d.ErrorMessage, l)
	}
	shifted, baked := d.Step(deploy.StepAllowTraffic).End, d.Step(deploy.StepBakeTime)
	if baked.Status != deploy.StepSucceeded || baked.End.Sub(shifted) < 2*time.Second || !strings.Contains(baked.Message, "alarms OK") {
		t.Errorf("BakeTime %s %q ended %s after the shift, want Succeeded after the 2s window", baked.Status, baked.Message, baked.End.Sub(shifted))
	}
	var progress []string
	for _, e := range h.events.Events() {
		if e.Kind == event.KindProgress && e.DeploymentID == d.ID && e.Name == string(deploy.StepBakeTime) {
			progress = append(progress, e.Message)
		}
	}
	if len(progress) < 2 || !strings.HasPrefix(progress[0], "baking ") || !strings.Contains(progress[0], "/2s") || progress[len(progress)-1] != "baking 2s/2s, alarms OK" {
		t.Errorf("bake progress %q, want lines from baking 0s/2s to baking 2s/2s, alarms OK", progress)
	}
}

// TestBakeGivesUpOnAlarmsThatNeverJudge: an alarm that stays INSUFFICIENT_DATA
// (missing data, no traffic) cannot say the release is good; the bake waits past
// its window, then fails the deployment, which rolls back.
func TestBakeGivesUpOnAlarmsThatNeverJudge(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
		withBakeAlarms(c)
		c.Alarms[0].TreatMissingData = manifest.MissingDataMissing
	}}).ID, "done", done)
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeTimeout || !strings.Contains(d.ErrorMessage, "error-rate INSUFFICIENT_DATA") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	h.wait(d.RolledBackBy, "done", done)
	h.assertOnlyVersionServes("v1")
}

// TestContinueDeploymentIgnoresTheWaitTime: CodeDeploy's wait time applies to
// STOP_DEPLOYMENT only; CONTINUE_DEPLOYMENT reroutes at once.
func TestContinueDeploymentIgnoresTheWaitTime(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	started := time.Now()
	d := h.deployAndRelease(release{version: "v2", config: func(c *deploy.Config) {
		c.ReadyAction, c.ReadyWait = manifest.ReadyContinue, jsontime.Duration(time.Minute)
	}})
	if took := time.Since(started); took > 30*time.Second || d.Step(deploy.StepReadyWait).Status != deploy.StepSkipped {
		t.Fatalf("released after %s with ReadyWait %s: want at once, the wait skipped", took, d.Step(deploy.StepReadyWait).Status)
	}
}

// createStandard records an ECS standard deployment of the test app whose new
// tasks must be healthy and switched within timeout.
func (h *harness) createStandard(r release, timeout time.Duration) *deploy.Deployment {
	h.t.Helper()
	cfg := h.config()
	cfg.Hooks, cfg.AutoRollback = nil, manifest.AutoRollback{}
	cfg.DeploymentTimeout, cfg.InstallTimeout = jsontime.Duration(timeout), jsontime.Duration(timeout)
	d, err := deploy.Create(h.t.Context(), h.st, deploy.Request{Kind: deploy.KindStandard, Application: "staging", Group: h.service, Config: cfg, Revision: h.revision(r)})
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

// TestStandardDeploymentTimeoutKeepsTheOldTasksServing: new tasks that are not
// healthy within the ECS action's DeploymentTimeout fail the deployment, and, as
// ECS rolls back, the old tasks keep serving every request.
func TestStandardDeploymentTimeoutKeepsTheOldTasksServing(t *testing.T) {
	h := newHarness(t)
	if d := h.wait(h.createStandard(release{version: "v1"}, 30*time.Second).ID, "done", done); d.Status != deploy.StatusSucceeded {
		t.Fatalf("v1: %s %s", d.Status, d.ErrorMessage)
	}
	oldTasks := h.running()
	l := startLoad(h.prod, 2)
	started := time.Now()
	d := h.wait(h.createStandard(release{version: "bad", env: map[string]string{"UNHEALTHY": "1"}}, 2*time.Second).ID, "done", done)
	l.Stop()
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeTimeout || !strings.Contains(d.ErrorMessage, "DeploymentTimeout of 2s") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	if took := time.Since(started); took > 20*time.Second {
		t.Errorf("the deployment failed after %s, want soon after its 2s DeploymentTimeout", took)
	}
	if l.Failed() != 0 || l.Bodies()["bad"] != 0 || l.Total() == 0 {
		t.Fatalf("production during the failed deployment: %s", l)
	}
	h.assertOnlyVersionServes("v1")
	if running := h.running(); len(running) != len(oldTasks) {
		t.Errorf("running tasks %v, want only the old ones %v", running, oldTasks)
	}
}
