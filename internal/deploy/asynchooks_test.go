package deploy_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// asyncHook is an HTTP hook on loopback that answers 202 and, unless result is
// "", reports result afterwards through the local control surface, as a hook
// calling PUT /api/v1/deployments/{id}/lifecycle-events/{hookExecutionId}
// would. The events it received and its reports' errors go to channels.
type asyncHook struct {
	backend  *local.Backend
	result   control.HookStatus
	events   chan hookrun.Event
	reported chan error
}

func newAsyncHook(t *testing.T, h *harness, result control.HookStatus) (*asyncHook, *manifest.Hook) {
	t.Helper()
	b := local.New(local.Options{StateDir: h.dir, DB: h.db})
	t.Cleanup(func() { b.Close() })
	a := &asyncHook{backend: b, result: result, events: make(chan hookrun.Event, 10), reported: make(chan error, 10)}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, &manifest.Hook{Name: "async", HTTP: srv.URL, Timeout: manifest.Duration(30 * time.Second)}
}

func (a *asyncHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev hookrun.Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	a.events <- ev
	w.WriteHeader(http.StatusAccepted)
	if a.result != "" {
		go func() { a.reported <- a.report(ev, a.result) }()
	}
}

func (a *asyncHook) report(ev hookrun.Event, status control.HookStatus) error {
	return a.backend.PutHookResult(context.Background(), control.HookResult{
		DeploymentID: ev.DeploymentID, HookExecutionID: ev.LifecycleEventHookExecutionID, Status: status,
	})
}

func wantCode(t *testing.T, what string, err error, code control.Code, reason string) {
	t.Helper()
	if control.CodeOf(err) != code || control.ReasonOf(err) != reason {
		t.Errorf("%s: %v (code %q, reason %q), want %q %q", what, err, control.CodeOf(err), control.ReasonOf(err), code, reason)
	}
}

// A hook that answers 202 and reports Succeeded later lets the deployment go
// on; a second report is refused.
func TestAsyncHookReportedSucceeded(t *testing.T) {
	h := newHarness(t)
	a, hook := newAsyncHook(t, h, control.HookSucceeded)
	d := h.deployAndRelease(release{version: "v1", config: func(c *deploy.Config) {
		noWait(c)
		c.Hooks[manifest.HookBeforeAllowTraffic] = hook
	}})
	ev := <-a.events
	if err := <-a.reported; err != nil {
		t.Fatalf("report Succeeded: %v", err)
	}
	if ev.DeploymentID != d.ID || ev.LifecycleEventHookExecutionID == "" || ev.LifecycleEvent != manifest.HookBeforeAllowTraffic {
		t.Errorf("event %+v", ev)
	}
	waitFor(t, h.prod, "v1")
	wantCode(t, "a second report", a.report(ev, control.HookFailed), control.CodeConflict, control.ReasonFinished)
}

// Reported Failed, the hook fails and the deployment rolls back as configured.
func TestAsyncHookReportedFailedRollsBack(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	a, hook := newAsyncHook(t, h, control.HookFailed)
	d := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) {
		c.Hooks[manifest.HookAfterAllowTraffic] = hook
	}}).ID, "done", done)
	if err := <-a.reported; err != nil {
		t.Fatalf("report Failed: %v", err)
	}
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHookFailed || !strings.Contains(d.ErrorMessage, "reported Failed") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	h.wait(d.RolledBackBy, "done", done)
	h.assertOnlyVersionServes("v1")
}

// Never reported, the hook fails at its timeout; a report after it is refused,
// and so are reports the control surface cannot take while it waits.
func TestAsyncHookNeverReportedTimesOut(t *testing.T) {
	h := newHarness(t)
	a, hook := newAsyncHook(t, h, "")
	hook.Timeout = manifest.Duration(2 * time.Second)
	d := h.create(release{version: "v1", config: func(c *deploy.Config) { c.Hooks[manifest.HookBeforeInstall] = hook }})
	ev := <-a.events
	wantCode(t, "status Done", a.report(ev, "Done"), control.CodeBadRequest, "")
	wantCode(t, "an unknown deployment", a.report(hookrun.Event{DeploymentID: "d-NOSUCHONE", LifecycleEventHookExecutionID: ev.LifecycleEventHookExecutionID}, control.HookSucceeded),
		control.CodeNotFound, "")
	wantCode(t, "an unknown hook execution", a.report(hookrun.Event{DeploymentID: d.ID, LifecycleEventHookExecutionID: d.ID + "-AfterInstall"}, control.HookSucceeded),
		control.CodeNotFound, "")
	d = h.wait(d.ID, "done", done)
	if d.Status != deploy.StatusFailed || d.ErrorCode != deploy.CodeHookFailed || !strings.Contains(d.ErrorMessage, "timed out after 2s") {
		t.Fatalf("got %s %s %q", d.Status, d.ErrorCode, d.ErrorMessage)
	}
	wantCode(t, "a report after the timeout", a.report(ev, control.HookSucceeded), control.CodeConflict, control.ReasonFinished)
	execs, err := store.HookWaits{DB: h.db}.HookExecutions(t.Context(), d.ID)
	if err != nil || len(execs) != 1 || execs[0].State != hookrun.WaitTimedOut || execs[0].LifecycleEvent != manifest.HookBeforeInstall {
		t.Fatalf("hook executions %+v, %v", execs, err)
	}
}
