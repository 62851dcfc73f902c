package deploy_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// holdPort listens on addr, as another program holding the port would, until
// the test ends.
func holdPort(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
}

// waitFailedAtInstall waits for a deployment whose listener port is taken: it
// must end Failed within seconds, its Install step failed with the bind error,
// the reason recorded and emitted as a lifecycle event, and none of its tasks
// left running.
func (h *harness) waitFailedAtInstall(id string) *deploy.Deployment {
	h.t.Helper()
	started := time.Now()
	deadline := started.Add(15 * time.Second)
	var d *deploy.Deployment
	for {
		var err error
		if d, err = h.st.Deployment(h.t.Context(), id); err != nil {
			h.t.Fatal(err)
		}
		if d.Status.Done() {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("deployment %s still %s after %s: steps %+v, stop %+v", id, d.Status, time.Since(started), d.Steps, d.Stop)
		}
		time.Sleep(20 * time.Millisecond)
	}
	const why = "address already in use"
	if d.Status != deploy.StatusFailed || !strings.Contains(d.ErrorMessage, "Install failed") || !strings.Contains(d.ErrorMessage, why) {
		h.t.Fatalf("deployment %s: %s %s %q, want Failed at Install with %q", id, d.Status, d.ErrorCode, d.ErrorMessage, why)
	}
	if s := d.Step(deploy.StepInstall); s.Status != deploy.StepFailed || !strings.Contains(s.Message, why) {
		h.t.Errorf("Install step: %s %q", s.Status, s.Message)
	}
	var emitted bool
	for _, e := range h.events.Events() {
		emitted = emitted || e.DeploymentID == id && e.Kind == event.KindLifecycle && e.Name == string(deploy.StepInstall) && e.Status == string(deploy.StepFailed) && strings.Contains(e.Message, why)
	}
	if !emitted {
		h.t.Errorf("no lifecycle event says Install failed with %q", why)
	}
	if d.RolledBackBy != "" {
		if rb := h.wait(d.RolledBackBy, "done", done); rb.Status != deploy.StatusSucceeded {
			h.t.Errorf("rollback %s: %s %s", rb.ID, rb.Status, rb.ErrorMessage)
		}
	}
	for id := range h.running() {
		if strings.Contains(id, strings.ToLower(d.ID)) {
			h.t.Errorf("task %s of the failed deployment still runs", id)
		}
	}
	return d
}

// TestStandardDeploymentFailsAtOnceWhenItsPortIsTaken: a staging (ECS) deploy
// whose production listener's port another program holds fails its Install
// with the bind error, and the deployment ends Failed in moments. It used to
// stay InProgress until its DeploymentTimeout: taking the replacement out
// applied the configuration's listeners again, which failed the same way, and
// the controller retried that forever.
func TestStandardDeploymentFailsAtOnceWhenItsPortIsTaken(t *testing.T) {
	h := newHarness(t)
	holdPort(t, h.prod)
	h.waitFailedAtInstall(h.createStandard(release{version: "v1"}, time.Minute).ID)
}

// TestBlueGreenFailsAtOnceWhenAListenerPortIsTaken: the same for a production
// (blue-green) deployment, with and without auto-rollback, for the production
// and the test listener, first deployment or a later one whose test listener
// moves to a port that is taken (production keeps serving the original).
func TestBlueGreenFailsAtOnceWhenAListenerPortIsTaken(t *testing.T) {
	noRollback := func(c *deploy.Config) { c.AutoRollback = manifest.AutoRollback{} }
	t.Run("first/production port/rollback", func(t *testing.T) {
		h := newHarness(t)
		holdPort(t, h.prod)
		d := h.waitFailedAtInstall(h.create(release{version: "v1"}).ID)
		if d.RolledBackBy == "" {
			t.Fatalf("no rollback recorded")
		}
		// A first deployment has no original: the rollback must not say
		// production went back to one.
		var said []string
		for _, e := range h.events.Events() {
			if e.DeploymentID == d.RolledBackBy && e.Kind == event.KindTraffic {
				said = append(said, e.Message)
			}
		}
		if len(said) == 0 || !strings.Contains(said[len(said)-1], "no target") {
			t.Errorf("rollback's traffic events %q, want the last to say production has no target", said)
		}
	})
	t.Run("first/test port/no rollback", func(t *testing.T) {
		h := newHarness(t)
		holdPort(t, h.test)
		h.waitFailedAtInstall(h.create(release{version: "v1", config: noRollback}).ID)
	})
	for _, rollback := range []bool{true, false} {
		name := "later/test port moved/rollback"
		if !rollback {
			name = "later/test port moved/no rollback"
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			h.deployAndRelease(release{version: "v1", config: noWait})
			taken := testnet.FreeAddr(t)
			holdPort(t, taken)
			l := startLoad(h.prod, 2)
			h.waitFailedAtInstall(h.create(release{version: "v2", config: func(c *deploy.Config) {
				c.Service.TestListener = taken
				if !rollback {
					noRollback(c)
				}
			}}).ID)
			l.Stop()
			if l.Failed() != 0 || l.Bodies()["v2"] != 0 || l.Total() == 0 {
				t.Errorf("production during the failed deployment: %s", l)
			}
			h.assertOnlyVersionServes("v1")
		})
	}
}
