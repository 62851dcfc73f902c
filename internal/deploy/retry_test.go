package deploy_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// errInjected is the failure the tests inject into the runtime and the router.
var errInjected = errors.New("injected: no answer")

// faultyDrivers serves drivers whose Stop fails while the harness's stopFault
// says so: a runtime that cannot stop a task (an engine restarting or gone).
type faultyDrivers struct {
	deploy.Drivers
	h *harness
}

func (f faultyDrivers) Driver(ctx context.Context, name string) (runtime.Driver, error) {
	d, err := f.Drivers.Driver(ctx, name)
	if err != nil {
		return nil, err
	}
	return faultyDriver{d, f.h}, nil
}

type faultyDriver struct {
	runtime.Driver
	h *harness
}

func (f faultyDriver) Stop(ctx context.Context, id string, grace time.Duration) error {
	f.h.faultMu.Lock()
	fault := f.h.stopFault
	f.h.faultMu.Unlock()
	if fault != nil {
		if err := fault(id); err != nil {
			return err
		}
	}
	return f.Driver.Stop(ctx, id, grace)
}

// faultyRouter fails Apply while the harness's applyFault says so: the agent's
// admin API not answering.
type faultyRouter struct {
	localRouter
	h *harness
}

func (f faultyRouter) Apply(ctx context.Context, spec routing.ServiceSpec, ifVersion uint64) (*routing.ServiceStatus, error) {
	f.h.faultMu.Lock()
	fault := f.h.applyFault
	f.h.faultMu.Unlock()
	if fault != nil {
		if err := fault(spec); err != nil {
			return nil, err
		}
	}
	return f.localRouter.Apply(ctx, spec, ifVersion)
}

// calls counts the calls of a fault, with their times.
type calls struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *calls) add() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.times = append(c.times, time.Now())
	return len(c.times)
}

func (c *calls) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.times)
}

// within counts the calls made within d of the first one.
func (c *calls) within(d time.Duration) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.times {
		if t.Sub(c.times[0]) <= d {
			n++
		}
	}
	return n
}

// failStops makes the runtime's Stop fail its first n calls (every call when
// n < 0) and counts every call.
func (h *harness) failStops(n int) *calls {
	c := &calls{}
	h.faultMu.Lock()
	h.stopFault = func(string) error {
		if i := c.add(); n < 0 || i <= n {
			return errInjected
		}
		return nil
	}
	h.faultMu.Unlock()
	return c
}

func (h *harness) clearFaults() {
	h.faultMu.Lock()
	h.stopFault, h.applyFault = nil, nil
	h.faultMu.Unlock()
}

// restart runs the controller again with a retry policy.
func (h *harness) restart(p deploy.RetryPolicy) {
	h.stop()
	h.retry = p
	h.start()
}

// fastRetry gives up after four failures in a row over a second.
var fastRetry = deploy.RetryPolicy{Base: 50 * time.Millisecond, Max: time.Second, Attempts: 4, Window: time.Second}

// failsAfterInstall makes a deployment fail its AfterInstall hook, with or
// without auto-rollback: its replacement, which never served production, is
// then taken out by the deployment itself or by its rollback.
func failsAfterInstall(rollback bool) func(*deploy.Config) {
	return func(c *deploy.Config) {
		c.TerminationWait = 0
		c.Hooks[manifest.HookAfterInstall] = &manifest.Hook{Name: "check", Command: []string{"sh", "-c", "echo check failed >&2; exit 1"}}
		if !rollback {
			c.AutoRollback = manifest.AutoRollback{}
		}
	}
}

func variant(rollback bool) string {
	if rollback {
		return "rollback"
	}
	return "no rollback"
}

// stopsReplacement returns the deployment that takes d's replacement out: d,
// or its rollback. d must have failed at AfterInstall.
func (h *harness) stopsReplacement(d *deploy.Deployment, rollback bool) string {
	h.t.Helper()
	if !rollback {
		return d.ID
	}
	d = h.wait(d.ID, "rolled back", func(d *deploy.Deployment) bool { return d.RolledBackBy != "" })
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHookFailed {
		h.t.Fatalf("deployment %s: %s %s %q, want Failed at its hook", d.ID, d.Status, d.ErrorCode, d.ErrorMessage)
	}
	return d.RolledBackBy
}

// retryEvents returns the messages of the Retrying events of a deployment.
func (h *harness) retryEvents(id string) []string {
	var out []string
	for _, e := range h.events.Events() {
		if e.DeploymentID == id && e.Kind == event.KindProgress && e.Status == "Retrying" {
			out = append(out, e.Message)
		}
	}
	return out
}

// assertTasksGone checks that no task of deployment id runs.
func (h *harness) assertTasksGone(id string) {
	h.t.Helper()
	for task := range h.running() {
		if strings.Contains(task, strings.ToLower(id)) {
			h.t.Errorf("task %s of %s still runs", task, id)
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// TestCleanUpThatCannotStopTheReplacementEndsFailed: a failed deployment whose
// replacement tasks the runtime cannot stop (Stop fails every time) used to be
// driven again every poll, forever. Its clean-up (by the deployment itself, or
// by its rollback) is now retried with backoff until the bound, then the
// deployment ends Failed saying what failed and which tasks may still run, and
// the controller stops trying.
func TestCleanUpThatCannotStopTheReplacementEndsFailed(t *testing.T) {
	for _, rollback := range []bool{false, true} {
		t.Run(variant(rollback), func(t *testing.T) {
			h := newHarness(t)
			h.restart(fastRetry)
			stops := h.failStops(-1)
			d := h.create(release{version: "v1", config: failsAfterInstall(rollback)})
			stuck := h.stopsReplacement(d, rollback)
			got := h.wait(stuck, "done", done)
			want := []string{"gave up after", errInjected.Error(), "may still be running", strings.ToLower(d.ID) + "-0"}
			if got.Status != deploy.StatusFailed || !containsAll(got.ErrorMessage, want...) {
				t.Fatalf("%s: %s %s %q, want Failed saying %q", got.ID, got.Status, got.ErrorCode, got.ErrorMessage, want)
			}
			wantCode, wantWhat := deploy.CodeHookFailed, "AfterInstall failed: hook AfterInstall (check)"
			if rollback {
				wantCode, wantWhat = deploy.CodeInternal, "TerminateReplacement failed: gave up"
				if s := got.Step(deploy.StepTerminateReplacement); s.Status != deploy.StepFailed {
					t.Errorf("TerminateReplacement: %s", s.Status)
				}
				if _, told := h.rolledBack.Load(d.ID); !told {
					t.Error("AfterRollback was not told of the rollback that gave up")
				}
			}
			if got.ErrorCode != wantCode || !strings.Contains(got.ErrorMessage, wantWhat) {
				t.Errorf("%s: %s %q, want %s and %q", got.ID, got.ErrorCode, got.ErrorMessage, wantCode, wantWhat)
			}
			h.assertFailedEvent(got)
			t.Logf("%s %s: %s", got.Status, got.ErrorCode, got.ErrorMessage)
			if retries := h.retryEvents(got.ID); len(retries) < fastRetry.Attempts-1 || !strings.Contains(retries[0], "attempt 1 failed") {
				t.Errorf("Retrying events %q, want one per failure before giving up", retries)
			}
			// Given up, the controller drives it no more: no Stop for longer than
			// its longest retry delay.
			n := stops.count()
			time.Sleep(2 * fastRetry.Max)
			if stops.count() != n {
				t.Errorf("Stop called %d times after the controller gave up", stops.count()-n)
			}
		})
	}
}

// assertFailedEvent checks that a deployment's end was emitted as other
// failures are, with its error code.
func (h *harness) assertFailedEvent(d *deploy.Deployment) {
	h.t.Helper()
	for _, e := range h.events.Events() {
		if e.DeploymentID == d.ID && e.Kind == event.KindDeployment && e.Status == string(deploy.StatusFailed) &&
			e.Message == d.ErrorMessage && e.Data["error_code"] == d.ErrorCode {
			return
		}
	}
	h.t.Errorf("no deployment event says %s Failed with %s", d.ID, d.ErrorCode)
}

// TestTransientStopFailuresAreRiddenOut: a runtime that fails to stop tasks a
// few times, then works again, delays a deployment but changes nothing of how
// it ends: a failed one's clean-up, a rollback, a successful one's termination
// of the original task set.
func TestTransientStopFailuresAreRiddenOut(t *testing.T) {
	for _, rollback := range []bool{false, true} {
		t.Run("failed/"+variant(rollback), func(t *testing.T) {
			h := newHarness(t)
			stops := h.failStops(3)
			d := h.create(release{version: "v1", config: failsAfterInstall(rollback)})
			got := h.wait(h.stopsReplacement(d, rollback), "done", done)
			wantStatus := deploy.StatusFailed
			if rollback {
				wantStatus = deploy.StatusSucceeded
			}
			if got.Status != wantStatus || strings.Contains(got.ErrorMessage, "gave up") {
				t.Fatalf("%s: %s %q, want %s", got.ID, got.Status, got.ErrorMessage, wantStatus)
			}
			if stops.count() <= 3 {
				t.Errorf("%d Stop calls, want the 3 that failed and then the ones that worked", stops.count())
			}
			h.assertTasksGone(d.ID)
		})
	}
	t.Run("succeeded", func(t *testing.T) {
		h := newHarness(t)
		v1 := h.deployAndRelease(release{version: "v1", config: noWait})
		h.failStops(2)
		d := h.wait(h.create(release{version: "v2", config: noWait}).ID, "done", done)
		if s := d.Step(deploy.StepTerminateOriginal); d.Status != deploy.StatusSucceeded || s.Status != deploy.StepSucceeded || s.Message != "" {
			t.Fatalf("%s %q; TerminateOriginal %s %q", d.Status, d.ErrorMessage, s.Status, s.Message)
		}
		h.assertTasksGone(v1.ID)
		h.assertOnlyVersionServes("v2")
	})
}

// TestAFailingDriveIsRetriedWithBackoff: a step the runtime keeps failing is
// driven again after a delay that doubles, not every poll (50 ms here: some 60
// attempts in 3 s). While it is retried, its step says why; once the runtime
// works again, the deployment goes on and the note is gone.
func TestAFailingDriveIsRetriedWithBackoff(t *testing.T) {
	h := newHarness(t)
	h.restart(deploy.RetryPolicy{Base: 100 * time.Millisecond, Attempts: 1000, Window: time.Hour})
	h.deployAndRelease(release{version: "v1", config: noWait})
	stops := h.failStops(-1)
	d := h.create(release{version: "v2", config: noWait})
	h.wait(d.ID, "retried", func(*deploy.Deployment) bool { return stops.count() >= 2 })
	time.Sleep(3 * time.Second)
	// Attempts at 0, 0.1, 0.3, 0.7, 1.5 s (and 3.1 s) after the first, later
	// when attempts are slow.
	if n := stops.within(3 * time.Second); n > 6 {
		t.Errorf("%d attempts in 3 s, want at most 6", n)
	}
	got, err := h.st.Deployment(t.Context(), d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Step(deploy.StepTerminateOriginal); s.Status != deploy.StepInProgress || !containsAll(s.Message, "failed at", errInjected.Error(), "retrying in") {
		t.Errorf("TerminateOriginal %s %q, want InProgress saying why it is retried", s.Status, s.Message)
	}
	retries := h.retryEvents(d.ID)
	if len(retries) < 2 || !strings.Contains(retries[1], "attempt 2 failed at") {
		t.Errorf("Retrying events %q", retries)
	}
	t.Logf("%d Retrying events, the last: %s", len(retries), retries[len(retries)-1])
	h.clearFaults()
	got = h.wait(d.ID, "done", done)
	if s := got.Step(deploy.StepTerminateOriginal); got.Status != deploy.StatusSucceeded || s.Message != "" {
		t.Fatalf("%s %q; TerminateOriginal %s %q", got.Status, got.ErrorMessage, s.Status, s.Message)
	}
}

// TestAStepThatKeepsFailingStopsTheDeploymentAndRollsBack: when the router
// keeps refusing to move production (its admin API not answering), the
// controller gives up on the step after the bound and stops the deployment as a
// failed step would: auto-rollback puts production back on the original.
func TestAStepThatKeepsFailingStopsTheDeploymentAndRollsBack(t *testing.T) {
	h := newHarness(t)
	h.restart(fastRetry)
	h.deployAndRelease(release{version: "v1", config: noWait})
	applies := &calls{}
	h.faultMu.Lock()
	h.applyFault = func(spec routing.ServiceSpec) error {
		if spec.ProductionWeights["web-2"] > 0 { // v2's replacement taking production
			applies.add()
			return errInjected
		}
		return nil
	}
	h.faultMu.Unlock()
	d := h.wait(h.create(release{version: "v2", config: noWait}).ID, "rolled back", func(d *deploy.Deployment) bool { return d.Status.Done() })
	want := []string{"AllowTraffic failed: gave up after", errInjected.Error()}
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeInternal || !containsAll(d.ErrorMessage, want...) || d.RolledBackBy == "" {
		t.Fatalf("%s %s %q rolled back by %q, want Failed saying %q, rolled back", d.Status, d.ErrorCode, d.ErrorMessage, d.RolledBackBy, want)
	}
	t.Logf("%s %s: %s", d.Status, d.ErrorCode, d.ErrorMessage)
	if s := d.Step(deploy.StepAllowTraffic); s.Status != deploy.StepFailed {
		t.Errorf("AllowTraffic %s", s.Status)
	}
	if n := applies.count(); n < fastRetry.Attempts {
		t.Errorf("%d attempts to move production, want at least %d", n, fastRetry.Attempts)
	}
	if rb := h.wait(d.RolledBackBy, "done", done); rb.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback %s: %s %s", rb.ID, rb.Status, rb.ErrorMessage)
	}
	h.assertOnlyVersionServes("v1")
	h.assertTasksGone(d.ID)
}
