package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestFirstDeploymentThenCutoverUnderLoadLosesNoRequest(t *testing.T) {
	h := newHarness(t)
	v1 := h.deployAndRelease(release{version: "v1", config: noWait})
	waitFor(t, h.prod, "v1")
	if v1.OriginalTargetGroup != "" || v1.ReplacementTargetGroup != "web-1" {
		t.Fatalf("first deployment: original %q replacement %q, want none and web-1", v1.OriginalTargetGroup, v1.ReplacementTargetGroup)
	}
	l := startLoad(h.prod, 4)
	for i, version := range []string{"v2", "v3", "v4"} {
		d := h.wait(h.create(release{version: version, config: noWait}).ID, "succeeded", done)
		if d.Status != deploy.StatusSucceeded {
			t.Fatalf("%s: %s %s", version, d.Status, d.ErrorMessage)
		}
		// The target groups swap roles every deployment.
		wantReplacement := []string{"web-2", "web-1", "web-2"}[i]
		if d.ReplacementTargetGroup != wantReplacement {
			t.Errorf("%s went to %s, want %s", version, d.ReplacementTargetGroup, wantReplacement)
		}
		waitFor(t, h.prod, version)
	}
	time.Sleep(300 * time.Millisecond)
	l.Stop()
	if l.Failed() != 0 || l.Total() < 50 {
		t.Fatalf("cutovers under load: %s", l)
	}
	// Only v4's two tasks still run: every original was terminated.
	running := h.running()
	if len(running) != 2 {
		t.Errorf("running tasks %v, want only v4's two", running)
	}
}

func noWait(c *deploy.Config) { c.TerminationWait = 0 }

func TestLifecycleRecordsEveryStepInOrder(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.TerminationWait = 0
		c.Hooks[manifest.HookAfterInstall] = &manifest.Hook{Name: "check", Command: []string{"sh", "-c", `test -n "$GREENLIGHT_TEST_URL" && echo after install $GREENLIGHT_DEPLOYMENT_ID`}}
	}}).ID, "done", done)
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("%s: %s", d.Status, d.ErrorMessage)
	}
	var got []string
	for _, s := range d.Steps {
		got = append(got, string(s.Name)+"="+string(s.Status))
	}
	want := "BeforeInstall=Skipped Install=Succeeded AfterInstall=Succeeded AllowTestTraffic=Succeeded AfterAllowTestTraffic=Skipped BeforeAllowTraffic=Skipped ReadyWait=Skipped AllowTraffic=Succeeded AfterAllowTraffic=Skipped BakeTime=Skipped TerminationWait=Succeeded TerminateOriginal=Succeeded"
	if strings.Join(got, " ") != want {
		t.Errorf("steps\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	for i := 1; i < len(d.Steps); i++ {
		if d.Steps[i].Start.Before(d.Steps[i-1].End) && d.Steps[i].Status != deploy.StepSkipped && d.Steps[i-1].Status != deploy.StepSkipped {
			t.Errorf("step %s started before %s ended", d.Steps[i].Name, d.Steps[i-1].Name)
		}
	}
	var lifecycle int
	for _, e := range h.events.Events() {
		if e.Kind == event.KindLifecycle && e.DeploymentID == d.ID {
			lifecycle++
		}
	}
	if lifecycle < len(d.Steps) {
		t.Errorf("%d lifecycle events for %d steps", lifecycle, len(d.Steps))
	}
}

func TestUnhealthyReplacementIsRemovedAndProductionNeverSeesIt(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 2)
	d := h.wait(h.create(release{version: "bad", env: map[string]string{"UNHEALTHY": "1"}, config: func(c *deploy.Config) {
		c.InstallTimeout = jsontime.Duration(3 * time.Second)
	}}).ID, "done", done)
	l.Stop()
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHealthConstraints || !strings.Contains(d.ErrorMessage, "not healthy") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	if l.Failed() != 0 || l.Bodies()["bad"] != 0 {
		t.Fatalf("production saw the bad release: %s", l)
	}
	h.assertOnlyVersionServes("v1")
	rb := h.wait(d.RolledBackBy, "done", done)
	if rb.Kind != deploy.KindRollback || rb.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback %s: %s %s", rb.ID, rb.Status, rb.ErrorMessage)
	}
}

func TestCrashingReplacementFailsWithExitStatus(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.wait(h.create(release{version: "crash", env: map[string]string{"CRASH_AFTER_MS": "100", "UNHEALTHY": "1"}}).ID, "done", done)
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeTaskCrashed || !strings.Contains(d.ErrorMessage, "exited with status 3") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	h.assertOnlyVersionServes("v1")
}

func TestFailingHookRollsBack(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 2)
	d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.Hooks[manifest.HookAfterAllowTraffic] = &manifest.Hook{Name: "smoke", Command: []string{"sh", "-c", "echo smoke test failed >&2; exit 7"}}
	}}).ID, "done", done)
	l.Stop()
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHookFailed || !strings.Contains(d.ErrorMessage, "exit status 7") || !strings.Contains(d.ErrorMessage, "smoke test failed") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	if l.Failed() != 0 {
		t.Fatalf("requests failed during the rollback: %s", l)
	}
	h.wait(d.RolledBackBy, "done", done)
	h.assertOnlyVersionServes("v1")
}

func TestHookTimeout(t *testing.T) {
	h := newHarness(t)
	d := h.wait(h.create(release{version: "v1", config: func(c *deploy.Config) {
		c.Hooks[manifest.HookBeforeInstall] = &manifest.Hook{Name: "slow", Command: []string{"sleep", "30"}, Timeout: manifest.Duration(300 * time.Millisecond)}
	}}).ID, "done", done)
	if d.Status != deploy.StatusFailed || !strings.Contains(d.ErrorMessage, "timed out after 300ms") {
		t.Fatalf("got %s %q", d.Status, d.ErrorMessage)
	}
	if len(h.running()) != 0 {
		t.Errorf("a BeforeInstall failure started tasks: %v", h.running())
	}
}

func TestRollbackDuringTerminationWaitIsInstant(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.deployAndRelease(release{version: "v2", config: func(c *deploy.Config) { c.TerminationWait = jsontime.Duration(time.Hour) }})
	if d.Status != deploy.StatusBaking {
		t.Fatalf("v2 is %s, want Baking", d.Status)
	}
	waitFor(t, h.prod, "v2")
	l := startLoad(h.prod, 4)
	if err := h.st.AddCommand(context.Background(), d.ID, deploy.Command{Name: deploy.CommandRollback, Who: "test", Reason: "bad release"}); err != nil {
		t.Fatal(err)
	}
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.RolledBackBy != "" && d.Rollback != nil })
	rb := h.wait(d.RolledBackBy, "done", done)
	l.Stop()
	if d.Status != deploy.StatusStopped || rb.Status != deploy.StatusSucceeded || rb.Creator != deploy.CreatorRollback {
		t.Fatalf("deployment %s, rollback %s (%s)", d.Status, rb.Status, rb.Creator)
	}
	if l.Failed() != 0 {
		t.Fatalf("rollback under load: %s", l)
	}
	// Restore is measured from the request to the atomic weight change: the
	// controller polls commands every 50ms here, so well under a second.
	if rb.Rollback.Restore <= 0 || rb.Rollback.Restore.D() > 2*time.Second {
		t.Errorf("restore time %s", rb.Rollback.Restore)
	}
	if _, told := h.rolledBack.Load(d.ID); !told {
		t.Error("AfterRollback was not told of the rollback")
	}
	h.assertOnlyVersionServes("v1")
}

func TestCanaryShiftsThenCompletes(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	d := h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.TerminationWait = 0
		c.DeploymentConfig = manifest.DeploymentConfig{Name: "Canary20Percent5Seconds", Type: manifest.TrafficTimeBasedCanary, Percentage: 20, Interval: manifest.Duration(5 * time.Second)}
	}})
	h.wait(d.ID, "at 20%", func(d *deploy.Deployment) bool { return d.ReplacementWeight == 20 })
	// During the canary both versions answer, v1 about four times as often. Sample
	// for at most two seconds, well inside the canary's five.
	client := &http.Client{Timeout: 2 * time.Second}
	counts, n := map[string]int{}, 0
	for stop := time.Now().Add(2 * time.Second); n < 200 && time.Now().Before(stop); n++ {
		_, body, err := get(client, h.prod)
		if err != nil {
			t.Fatal(err)
		}
		counts[body]++
	}
	if now, _ := h.st.Deployment(context.Background(), d.ID); now.ReplacementWeight != 20 {
		t.Fatalf("canary ended while sampling: the machine is too slow for this test's timing")
	}
	d = h.wait(d.ID, "done", done)
	l.Stop()
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("%s: %s", d.Status, d.ErrorMessage)
	}
	// 20% of n, with a margin of four standard deviations of the binomial.
	want, margin := 0.2*float64(n), 4*math.Sqrt(float64(n)*0.2*0.8)
	if n < 50 || math.Abs(float64(counts["v2"])-want) > margin || counts["v1"]+counts["v2"] != n {
		t.Errorf("canary split over %d requests: %v (want %.0f±%.0f v2)", n, counts, want, margin)
	}
	if l.Failed() != 0 {
		t.Fatalf("canary under load: %s", l)
	}
}

func TestStopDeploymentWaitsForContinue(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.TerminationWait = 0
		c.ReadyAction, c.ReadyWait = manifest.ReadyStop, jsontime.Duration(time.Minute)
	}})
	h.wait(d.ID, "ready", func(d *deploy.Deployment) bool { return d.Status == deploy.StatusReady })
	// Test traffic already reaches green; production is still v1.
	waitFor(t, h.test, "v2")
	h.assertOnlyVersionServes("v1")
	if err := h.st.AddCommand(context.Background(), d.ID, deploy.Command{Name: deploy.CommandContinue}); err != nil {
		t.Fatal(err)
	}
	if d = h.wait(d.ID, "done", done); d.Status != deploy.StatusSucceeded {
		t.Fatalf("%s: %s", d.Status, d.ErrorMessage)
	}
	h.assertOnlyVersionServes("v2")
}

func TestOneDeploymentAtATimePerService(t *testing.T) {
	h := newHarness(t)
	first := h.create(release{version: "v1", config: func(c *deploy.Config) {
		c.Hooks[manifest.HookBeforeInstall] = &manifest.Hook{Name: "slow", Command: []string{"sleep", "1"}}
	}})
	_, err := deploy.Create(t.Context(), h.st, deploy.Request{Kind: deploy.KindBlueGreen, Config: h.config(), Revision: first.Revision})
	if !errors.Is(err, deploy.ErrServiceBusy) {
		t.Fatalf("second deployment while %s is in progress: %v, want ErrServiceBusy", first.ID, err)
	}
}

func TestNewDeploymentEndsTheTerminationWaitOfTheLastOne(t *testing.T) {
	h := newHarness(t)
	v1 := h.deployAndRelease(release{version: "v1", config: func(c *deploy.Config) { c.TerminationWait = jsontime.Duration(time.Hour) }})
	v2 := h.deployAndRelease(release{version: "v2", config: noWait})
	v1 = h.wait(v1.ID, "done", done)
	if v1.Status != deploy.StatusSucceeded {
		t.Fatalf("v1 %s: %s", v1.Status, v1.ErrorMessage)
	}
	if d := h.wait(v2.ID, "done", done); d.Status != deploy.StatusSucceeded {
		t.Fatalf("v2 %s: %s", d.Status, d.ErrorMessage)
	}
	h.assertOnlyVersionServes("v2")
}

// TestControllerCrashAtEveryStepResumes stops the controller dead right after it
// records each step as started (nothing cleaned up, as a SIGKILL would leave it),
// starts a new one, and checks the deployment completes with production never
// failing a request.
func TestControllerCrashAtEveryStepResumes(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	steps := []deploy.StepName{deploy.StepBeforeInstall, deploy.StepInstall, deploy.StepAfterInstall, deploy.StepAllowTestTraffic, deploy.StepAfterAllowTestTraffic,
		deploy.StepBeforeAllowTraffic, deploy.StepReadyWait, deploy.StepAllowTraffic, deploy.StepAfterAllowTraffic, deploy.StepBakeTime, deploy.StepTerminationWait, deploy.StepTerminateOriginal}
	hook := &manifest.Hook{Name: "pause", Command: []string{"sleep", "0.2"}}
	l := startLoad(h.prod, 3)
	for i, step := range steps {
		version := []string{"a", "b"}[i%2] + string(step)
		h.crashWhen(func(d *deploy.Deployment) bool {
			s := d.Step(step)
			return d.Revision.CommitID == version && s != nil && s.Status == deploy.StepInProgress
		})
		d := h.create(release{version: version, config: func(c *deploy.Config) {
			c.TerminationWait = jsontime.Duration(500 * time.Millisecond)
			c.ReadyWait = jsontime.Duration(300 * time.Millisecond)
			c.BakeTime = jsontime.Duration(500 * time.Millisecond)
			c.DeploymentConfig = manifest.DeploymentConfig{Name: "Linear50Percent1Second", Type: manifest.TrafficTimeBasedLinear, Percentage: 50, Interval: manifest.Duration(time.Second)}
			for _, ev := range manifest.ECSHookEvents {
				c.Hooks[ev] = hook
			}
		}})
		<-h.finished // the controller crashed inside the step
		if got, _ := h.st.Deployment(context.Background(), d.ID); got.Step(step).Status != deploy.StepInProgress {
			t.Fatalf("crash in %s: step recorded %s", step, got.Step(step).Status)
		}
		time.Sleep(100 * time.Millisecond)
		h.start()
		d = h.wait(d.ID, "done", done)
		if d.Status != deploy.StatusSucceeded {
			t.Fatalf("crash in %s: %s %s", step, d.Status, d.ErrorMessage)
		}
		waitFor(t, h.prod, version)
	}
	l.Stop()
	if l.Failed() != 0 {
		t.Fatalf("controller crashes under load: %s", l)
	}
	if running := h.running(); len(running) != 2 {
		t.Errorf("running tasks after all deployments: %v, want the last release's two", running)
	}
}

// TestCrashDuringRollbackStillRestoresProduction crashes the controller right
// after it records the rollback deployment: the next controller finishes it.
func TestCrashDuringRollbackStillRestoresProduction(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	d := h.deployAndRelease(release{version: "v2", config: func(c *deploy.Config) { c.TerminationWait = jsontime.Duration(time.Hour) }})
	h.crashWhen(func(d *deploy.Deployment) bool {
		return d.Kind == deploy.KindRollback && d.Status == deploy.StatusInProgress
	})
	if err := h.st.AddCommand(context.Background(), d.ID, deploy.Command{Name: deploy.CommandRollback}); err != nil {
		t.Fatal(err)
	}
	<-h.finished
	h.start()
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.RolledBackBy != "" })
	if rb := h.wait(d.RolledBackBy, "done", done); rb.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback after a crash: %s %s", rb.Status, rb.ErrorMessage)
	}
	h.assertOnlyVersionServes("v1")
}

func (h *harness) assertOnlyVersionServes(version string) {
	h.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	for range 20 {
		status, body, err := get(client, h.prod)
		if err != nil || status != 200 || body != version {
			h.t.Fatalf("production answered %d %q %v, want %s", status, body, err, version)
		}
	}
}

func errorRateAlarm() *manifest.Alarm {
	return &manifest.Alarm{
		Name: "error-rate",
		MetricQueries: []*manifest.MetricQuery{
			{ID: "errors", MetricName: manifest.MetricTarget5XX, Stat: "Sum"},
			{ID: "requests", MetricName: manifest.MetricRequestCount, Stat: "Sum"},
			{ID: "rate", Expression: "100 * errors / requests", ReturnData: true},
		},
		Period: 1, EvaluationPeriods: 1, DatapointsToAlarm: 1, Threshold: 5,
		ComparisonOperator: manifest.GreaterThanThreshold, TreatMissingData: manifest.MissingDataNotBreaching,
	}
}

func TestAlarmRollsBackABadReleaseWithinASecond(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	d := h.create(release{version: "bad", env: map[string]string{"FAIL_RATE": "0.5"}, config: func(c *deploy.Config) {
		c.TerminationWait = jsontime.Duration(time.Minute)
		c.Alarms = []*manifest.Alarm{errorRateAlarm()}
	}})
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.Status.Done() && d.Rollback != nil })
	rb := h.wait(d.RolledBackBy, "done", done)
	l.Stop()
	if d.Status != deploy.StatusStopped || d.ErrorCode != deploy.CodeAlarmActive || !strings.Contains(d.ErrorMessage, "alarm error-rate entered ALARM: Threshold Crossed") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	if rb.Creator != deploy.CreatorAutoRollback || rb.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback %s by %s: %s", rb.Status, rb.Creator, rb.ErrorMessage)
	}
	info := rb.Rollback
	if info.Alarm != "error-rate" || info.Restore <= 0 || info.Restore.D() > time.Second || info.Detection.D() < time.Second {
		t.Errorf("rollback info %+v: want the alarm, a restore under a second and a detection of at least one period", info)
	}
	h.assertOnlyVersionServes("v1")
	var alarmed bool
	for _, e := range h.events.Events() {
		alarmed = alarmed || (e.Kind == event.KindAlarm && e.Status == "ALARM" && e.DeploymentID == d.ID)
	}
	if !alarmed {
		t.Error("no ALARM event recorded")
	}
}

func TestGoodReleaseWithAlarmsDoesNotRollBack(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 2)
	d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.TerminationWait = jsontime.Duration(2 * time.Second)
		c.Alarms = []*manifest.Alarm{errorRateAlarm()}
	}}).ID, "done", done)
	l.Stop()
	if d.Status != deploy.StatusSucceeded || d.RolledBackBy != "" {
		t.Fatalf("good release: %s %s", d.Status, d.ErrorMessage)
	}
}

func TestBadReleaseRollsBackAtTheFirstStepOfCanaryAndLinear(t *testing.T) {
	for _, cfg := range []manifest.DeploymentConfig{
		{Name: "Canary10Percent30Seconds", Type: manifest.TrafficTimeBasedCanary, Percentage: 10, Interval: manifest.Duration(30 * time.Second)},
		{Name: "Linear10PercentEvery30Seconds", Type: manifest.TrafficTimeBasedLinear, Percentage: 10, Interval: manifest.Duration(30 * time.Second)},
	} {
		t.Run(cfg.Type, func(t *testing.T) {
			h := newHarness(t)
			h.deployAndRelease(release{version: "v1", config: noWait})
			l := startLoad(h.prod, 4)
			d := h.create(release{version: "bad", env: map[string]string{"FAIL_RATE": "1"}, config: func(c *deploy.Config) {
				c.DeploymentConfig = cfg
				c.Alarms = []*manifest.Alarm{errorRateAlarm()}
			}})
			d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.Status.Done() && d.Rollback != nil })
			l.Stop()
			if d.ErrorCode != deploy.CodeAlarmActive || d.ReplacementWeight != 10 {
				t.Fatalf("%s %s at weight %d: want an alarm stop at the first 10%% step", d.Status, d.ErrorCode, d.ReplacementWeight)
			}
			if s := d.Step(deploy.StepAllowTraffic); s.Status != deploy.StepFailed {
				t.Errorf("AllowTraffic %s, want Failed (stopped inside it)", s.Status)
			}
			h.assertOnlyVersionServes("v1")
		})
	}
}

func TestLatencyRegressionTripsThePercentileAlarm(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	p99 := &manifest.Alarm{Name: "p99-latency", MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: "p99",
		Period: 1, EvaluationPeriods: 2, DatapointsToAlarm: 2, Threshold: 0.2,
		ComparisonOperator: manifest.GreaterThanThreshold, TreatMissingData: manifest.MissingDataNotBreaching}
	d := h.create(release{version: "slow", env: map[string]string{"LATENCY_MS": "300"}, config: func(c *deploy.Config) {
		c.TerminationWait = jsontime.Duration(time.Minute)
		c.Alarms = []*manifest.Alarm{p99}
	}})
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.Status.Done() && d.Rollback != nil })
	l.Stop()
	if d.Stop == nil || d.Stop.Alarm != "p99-latency" || !strings.Contains(d.ErrorMessage, "greater than the threshold (0.2)") {
		t.Fatalf("got %s: %s", d.Status, d.ErrorMessage)
	}
	h.assertOnlyVersionServes("v1")
}

func TestAlarmAlreadyInAlarmBlocksOrWarnsPerPolicy(t *testing.T) {
	for _, policy := range []string{manifest.ExistingAlarmBlock, manifest.ExistingAlarmIgnore} {
		t.Run(policy, func(t *testing.T) {
			h := newHarness(t)
			// Production itself is failing: the alarm is in ALARM on it already.
			h.deployAndRelease(release{version: "v1", env: map[string]string{"FAIL_RATE": "0.5"}, config: noWait})
			l := startLoad(h.prod, 2)
			time.Sleep(1500 * time.Millisecond) // a full period of failing production traffic
			d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
				c.TerminationWait = 0
				c.Alarms = []*manifest.Alarm{errorRateAlarm()}
				c.OnExistingAlarm = policy
			}}).ID, "done", done)
			l.Stop()
			switch policy {
			case manifest.ExistingAlarmBlock:
				if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeAlarmActive || !strings.Contains(d.ErrorMessage, "on_existing_alarm: block") {
					t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
				}
				if d.Step(deploy.StepInstall).Status != deploy.StepSkipped {
					t.Errorf("Install %s: a blocked deployment must not start tasks", d.Step(deploy.StepInstall).Status)
				}
			case manifest.ExistingAlarmIgnore:
				if d.Status != deploy.StatusSucceeded {
					t.Fatalf("got %s %q", d.Status, d.ErrorMessage)
				}
				warned := false
				for _, e := range h.events.Events() {
					warned = warned || (e.DeploymentID == d.ID && e.Status == "Warning" && strings.Contains(e.Message, "alarms in ALARM"))
				}
				if !warned {
					t.Error("no warning event for the alarm that was ignored")
				}
			}
		})
	}
}

// TestRollbackRefusedOnceTheOriginalIsBeingTerminated: a rollback that arrives as
// the original task set is being terminated has nothing warm to go back to; it is
// refused, and production stays on the replacement instead of an empty group.
func TestRollbackRefusedOnceTheOriginalIsBeingTerminated(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	var sent atomic.Bool
	h.crashWhen(func(d *deploy.Deployment) bool {
		if s := d.Step(deploy.StepTerminateOriginal); d.Revision.CommitID == "v2" && s.Status == deploy.StepInProgress && !sent.Swap(true) {
			if err := h.st.AddCommand(context.Background(), d.ID, deploy.Command{Name: deploy.CommandRollback, Reason: "too late"}); err != nil {
				t.Error(err)
			}
		}
		return false
	})
	d := h.wait(h.create(release{version: "v2", config: noWait}).ID, "done", done)
	time.Sleep(300 * time.Millisecond)
	l.Stop()
	if !sent.Load() {
		t.Fatal("the rollback was never sent")
	}
	if d.Status != deploy.StatusSucceeded || d.RolledBackBy != "" {
		t.Fatalf("got %s, rolled back by %q: %s", d.Status, d.RolledBackBy, d.ErrorMessage)
	}
	if l.Failed() != 0 {
		t.Fatalf("requests failed: %s", l)
	}
	refused := false
	for _, e := range h.events.Events() {
		refused = refused || (e.DeploymentID == d.ID && e.Status == "Refused")
	}
	if !refused {
		t.Error("no Refused event")
	}
	h.assertOnlyVersionServes("v2")
}

// TestHTTPHooksGetTheLifecycleEventAndTheirStatusDecides: an HTTP hook is POSTed
// CodeDeploy's hook event as JSON; a 2xx passes, anything else fails the
// deployment with the answer in the reason.
func TestHTTPHooksGetTheLifecycleEventAndTheirStatusDecides(t *testing.T) {
	type call struct {
		DeploymentID string            `json:"DeploymentId"`
		ExecutionID  string            `json:"LifecycleEventHookExecutionId"`
		Event        string            `json:"LifecycleEvent"`
		Env          map[string]string `json:"Environment"`
	}
	calls := make(chan call, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c call
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			t.Error(err)
		}
		calls <- c
		if c.Event == manifest.HookAfterAllowTraffic && c.Env["GREENLIGHT_COMMIT_ID"] == "v3" {
			http.Error(w, "smoke tests failed", http.StatusBadGateway)
		}
	}))
	defer hook.Close()
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	withHooks := func(c *deploy.Config) {
		c.TerminationWait = 0
		for _, ev := range []string{manifest.HookBeforeAllowTraffic, manifest.HookAfterAllowTraffic} {
			c.Hooks[ev] = &manifest.Hook{Name: "http", HTTP: hook.URL}
		}
	}
	d := h.wait(h.create(release{version: "v2", config: withHooks}).ID, "done", done)
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("v2: %s %s", d.Status, d.ErrorMessage)
	}
	first := <-calls
	if first.DeploymentID != d.ID || first.Event != manifest.HookBeforeAllowTraffic || first.ExecutionID == "" || first.Env["GREENLIGHT_TEST_URL"] != "http://"+h.test {
		t.Errorf("hook event %+v", first)
	}
	<-calls
	d = h.wait(h.create(release{version: "v3", config: withHooks}).ID, "done", done)
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHookFailed || !strings.Contains(d.ErrorMessage, "502 Bad Gateway: smoke tests failed") {
		t.Fatalf("v3: %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	h.wait(d.RolledBackBy, "done", done)
	h.assertOnlyVersionServes("v2")
}

// The controller changes routing with conditional writes: a write that lost a
// race with another writer reads the routing again and redoes its change.
func TestRoutingChangesRetryAfterLosingARace(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	h.races.Store(3)
	d := h.wait(h.create(release{version: "v2", config: noWait}).ID, "done", done)
	if d.Status != deploy.StatusSucceeded {
		t.Fatalf("%s: %s", d.Status, d.ErrorMessage)
	}
	if left := h.races.Load(); left > 0 {
		t.Fatalf("%d races were never run", left)
	}
	log, err := os.ReadFile(filepath.Join(h.dir, "logs", d.ID+".log"))
	if err != nil || strings.Count(string(log), "reading it again") != 3 {
		t.Fatalf("deployment log (%v):\n%s", err, log)
	}
	waitFor(t, h.prod, "v2")
}
