package hookrun_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// asyncHook is a hook endpoint on loopback that answers status and then (or,
// with reportFirst, before answering) reports result through the waits, as a
// hook calling PUT .../lifecycle-events/{id} would; "" reports nothing.
type asyncHook struct {
	waits       store.HookWaits
	status      int
	result      hookrun.WaitState
	reportFirst bool
	reported    chan error
}

func (a *asyncHook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev hookrun.Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	report := func() {
		if a.result != "" {
			a.reported <- a.waits.FinishWait(context.Background(), ev.DeploymentID, ev.LifecycleEventHookExecutionID, a.result)
		}
	}
	if a.reportFirst {
		report()
	} else {
		defer func() { go report() }()
	}
	w.WriteHeader(a.status)
}

func newAsyncHook(t *testing.T, status int, result hookrun.WaitState) (*asyncHook, *manifest.Hook) {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &asyncHook{waits: store.HookWaits{DB: db}, status: status, result: result, reported: make(chan error, 1)}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return a, &manifest.Hook{Name: "smoke", HTTP: srv.URL}
}

// logBuffer is a deployment log the runner writes while the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func hookCall(hook *manifest.Hook, log *logBuffer) deploy.HookCall {
	return deploy.HookCall{
		Event: "AfterAllowTestTraffic", ExecutionID: "d-ABC-AfterAllowTestTraffic", Hook: hook,
		Deployment: &deploy.Deployment{ID: "d-ABC", Application: "orders", Group: "production"}, Log: log,
	}
}

func TestHTTPHookAnswering202WaitsForTheReportedResult(t *testing.T) {
	for _, tc := range []struct {
		result      hookrun.WaitState
		reportFirst bool
		wantErr     string
	}{
		{result: hookrun.WaitSucceeded},
		{result: hookrun.WaitFailed, wantErr: "reported Failed"},
		{result: hookrun.WaitSucceeded, reportFirst: true}, // the report overtakes the 202
	} {
		a, hook := newAsyncHook(t, http.StatusAccepted, tc.result)
		var log logBuffer
		err := hookrun.HTTP{Waits: a.waits, Poll: 10 * time.Millisecond}.Run(t.Context(), hookCall(hook, &log))
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s (report first %v): %v, want error %q", tc.result, tc.reportFirst, err, tc.wantErr)
		}
		if rerr := <-a.reported; rerr != nil {
			t.Errorf("report %s: %v", tc.result, rerr)
		}
		if !tc.reportFirst && !strings.Contains(log.String(), "d-ABC-AfterAllowTestTraffic waits for its result") {
			t.Errorf("the log does not say what it waits for: %q", log.String())
		}
		if !strings.Contains(log.String(), "d-ABC-AfterAllowTestTraffic: "+string(tc.result)) {
			t.Errorf("the log does not say what came: %q", log.String())
		}
	}
}

// With no result before the hook's context ends, the hook fails with the
// context's error (the controller's timeout) and a later report is refused.
func TestHTTPHookWithoutAResultTimesOutAndRefusesALateOne(t *testing.T) {
	a, hook := newAsyncHook(t, http.StatusAccepted, "")
	var log logBuffer
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := hookrun.HTTP{Waits: a.waits, Poll: 10 * time.Millisecond}.Run(ctx, hookCall(hook, &log))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no result: %v", err)
	}
	if state, err := a.waits.WaitState(t.Context(), "d-ABC", "d-ABC-AfterAllowTestTraffic"); err != nil || state != hookrun.WaitTimedOut {
		t.Errorf("state %s, %v", state, err)
	}
	err = a.waits.FinishWait(t.Context(), "d-ABC", "d-ABC-AfterAllowTestTraffic", hookrun.WaitSucceeded)
	if !errors.Is(err, hookrun.ErrNoLongerWaiting) {
		t.Errorf("a report after the timeout: %v", err)
	}
	if !strings.Contains(log.String(), "no result reported (timed_out)") {
		t.Errorf("log %q", log.String())
	}
}

// A stop (the context cancelled, not timed out) leaves the wait cancelled.
func TestHTTPHookWaitCancelled(t *testing.T) {
	a, hook := newAsyncHook(t, http.StatusAccepted, "")
	var log logBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- hookrun.HTTP{Waits: a.waits, Poll: 10 * time.Millisecond}.Run(ctx, hookCall(hook, &log))
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(log.String(), "waits for its result"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the hook never waited: %q", log.String())
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if state, err := a.waits.WaitState(t.Context(), "d-ABC", "d-ABC-AfterAllowTestTraffic"); err != nil || state != hookrun.WaitCancelled {
		t.Errorf("state %s, %v", state, err)
	}
}

// A hook that answers 200 or 500 has its result at once: a report for it is
// refused.
func TestHTTPHookAnsweringAtOnceTakesNoReport(t *testing.T) {
	for status, want := range map[int]hookrun.WaitState{http.StatusOK: hookrun.WaitSucceeded, http.StatusInternalServerError: hookrun.WaitFailed} {
		a, hook := newAsyncHook(t, status, "")
		var log logBuffer
		err := hookrun.HTTP{Waits: a.waits}.Run(t.Context(), hookCall(hook, &log))
		if (err == nil) != (status == http.StatusOK) {
			t.Errorf("%d: %v", status, err)
		}
		if state, err := a.waits.WaitState(t.Context(), "d-ABC", "d-ABC-AfterAllowTestTraffic"); err != nil || state != want {
			t.Errorf("%d: state %s, %v", status, state, err)
		}
	}
}

func TestHTTPHookAnswering202WithNowhereToWaitFails(t *testing.T) {
	_, hook := newAsyncHook(t, http.StatusAccepted, "")
	var log logBuffer
	err := hookrun.HTTP{}.Run(t.Context(), hookCall(hook, &log))
	if err == nil || !strings.Contains(err.Error(), "202 Accepted") {
		t.Fatalf("202 without waits: %v", err)
	}
}
