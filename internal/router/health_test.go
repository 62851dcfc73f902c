package router

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestHealthTransitionsFollowThresholds(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	spec := twoGroupSpec("hc", []TargetSpec{b.target("b1")}, nil)
	spec.HealthCheck.HealthyThreshold = 3
	spec.HealthCheck.UnhealthyThreshold = 2
	st := mustApply(t, r, spec)
	if got := st.TargetGroups[0].Targets[0].State; got != TargetInitial {
		t.Fatalf("new target state %s, want initial", got)
	}
	waitState(t, r, "hc", "b1", TargetHealthy)

	b.health.Store(http.StatusInternalServerError)
	ts := waitState(t, r, "hc", "b1", TargetUnhealthy)
	if ts.Reason != "status 500" {
		t.Fatalf("reason %q, want %q", ts.Reason, "status 500")
	}

	// The matcher decides what a success is.
	b.health.Store(http.StatusAccepted)
	eventually(t, 10*time.Second, "a check of 202 against matcher 200", func() bool {
		ts, _ := targetState(r, "hc", "b1")
		return ts.Reason == "status 202"
	})
	time.Sleep(300 * time.Millisecond) // more failing checks must not change anything
	if ts, _ := targetState(r, "hc", "b1"); ts.State != TargetUnhealthy {
		t.Fatalf("202 against matcher 200: %s, want unhealthy", ts.State)
	}
	spec.HealthCheck.Matcher = "200-299"
	mustApply(t, r, spec)
	waitState(t, r, "hc", "b1", TargetHealthy)

	spec.HealthCheck.Matcher = "200,204"
	mustApply(t, r, spec)
	ts = waitState(t, r, "hc", "b1", TargetUnhealthy)
	if ts.Reason != "status 202" {
		t.Fatalf("reason %q, want status 202", ts.Reason)
	}
}

func TestHealthCheckThresholdsCountConsecutiveChecks(t *testing.T) {
	// Pure state machine: one failure between successes resets the count.
	tg := &target{health: TargetInitial}
	ok, bad := checkResult{ok: true}, checkResult{reason: "status 500"}
	for i, step := range []struct {
		res  checkResult
		want TargetState
	}{
		{ok, TargetInitial}, {bad, TargetInitial}, {ok, TargetInitial}, {ok, TargetInitial},
		{ok, TargetHealthy}, {bad, TargetHealthy}, {ok, TargetHealthy}, {bad, TargetHealthy},
		{bad, TargetHealthy}, {bad, TargetUnhealthy}, {ok, TargetUnhealthy}, {ok, TargetUnhealthy},
		{ok, TargetHealthy},
	} {
		applyCheck(tg, step.res, 3, 3)
		if tg.health != step.want {
			t.Fatalf("step %d: state %s, want %s", i, tg.health, step.want)
		}
	}
}

func TestHealthReasons(t *testing.T) {
	r := newTestRouter(t)
	slow := startBackend(t, "slow")
	slow.healthDelay.Store(int64(time.Second))
	// A port nobody listens on: bind, note the address, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	spec := twoGroupSpec("reasons", []TargetSpec{slow.target("slow"), {ID: "refused", Address: closedAddr}}, nil)
	mustApply(t, r, spec)
	if ts := waitState(t, r, "reasons", "slow", TargetUnhealthy); ts.Reason != "timeout" {
		t.Errorf("slow target reason %q, want timeout", ts.Reason)
	}
	if ts := waitState(t, r, "reasons", "refused", TargetUnhealthy); ts.Reason != "connection refused" {
		t.Errorf("closed port reason %q, want connection refused", ts.Reason)
	}
}

func TestRestoreChecksBeforeListening(t *testing.T) {
	r := newTestRouter(t)
	up := startBackend(t, "up")
	down := startBackend(t, "down")
	down.health.Store(http.StatusServiceUnavailable)
	spec := twoGroupSpec("restored", []TargetSpec{up.target("up")}, []TargetSpec{down.target("down")})
	spec.HealthCheck.Interval = Duration(time.Hour) // only the first check counts here
	spec.HealthCheck.Timeout = Duration(5 * time.Second)
	spec.HealthCheck.HealthyThreshold = 5
	spec.TestListener = "127.0.0.1:0"
	spec.TestTargetGroup = "green"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.Restore(ctx, spec, ServiceStatus{})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got := st.TargetGroups[0].Targets[0]; got.State != TargetHealthy {
		t.Fatalf("restored target that is up: %s, want healthy after one check", got.State)
	}
	if got := st.TargetGroups[1].Targets[0]; got.State != TargetInitial || got.Reason != "status 503" {
		t.Fatalf("restored target that is down: %s (%q), want initial (status 503)", got.State, got.Reason)
	}
	c := newClient()
	if code, who := get(t, c, "http://"+st.ProductionAddress+"/"); code != 200 || who != "up" {
		t.Fatalf("production after restore: %d from %q, want 200 from up", code, who)
	}
	if code, _ := get(t, c, "http://"+st.TestAddress+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("test listener to a down target after restore: %d, want 503", code)
	}
	if down.hits.Load() != 0 {
		t.Fatalf("down target got %d requests", down.hits.Load())
	}
}

// A restore after a hand-over starts targets in the state the agent before
// reported, without a first check, and goes on counting versions.
func TestRestoreTrustsTheHealthTheAgentBeforeReported(t *testing.T) {
	r := newTestRouter(t)
	wasUp := startBackend(t, "was-up")
	wasUp.health.Store(http.StatusServiceUnavailable) // a first check would fail it
	wasDown := startBackend(t, "was-down")
	spec := twoGroupSpec("handed", []TargetSpec{wasUp.target("up")}, []TargetSpec{wasDown.target("down")})
	spec.HealthCheck.Interval = Duration(time.Hour)
	last := ServiceStatus{Version: 41, TargetGroups: []TargetGroupStatus{
		{Name: "blue", Targets: []TargetStatus{{TargetSpec: wasUp.target("up"), State: TargetHealthy}}},
		{Name: "green", Targets: []TargetStatus{{TargetSpec: wasDown.target("down"), State: TargetUnhealthy, Reason: "status 500"}}},
	}}
	st, err := r.Restore(t.Context(), spec, last)
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != 42 {
		t.Errorf("version %d after a restore from version 41, want 42", st.Version)
	}
	up, down := st.TargetGroups[0].Targets[0], st.TargetGroups[1].Targets[0]
	if up.State != TargetHealthy || down.State != TargetUnhealthy || down.Reason != "status 500" {
		t.Fatalf("restored %s and %s (%q), want healthy and unhealthy (status 500) as reported", up.State, down.State, down.Reason)
	}
	if code, who := get(t, newClient(), "http://"+st.ProductionAddress+"/"); code != 200 || who != "was-up" {
		t.Fatalf("production after the restore: %d from %q", code, who)
	}
}
