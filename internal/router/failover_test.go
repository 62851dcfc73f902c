package router

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A target that refuses connections (a task killed before its health checks
// tell) is passed over: the request goes to another target of its group, as
// with nginx's proxy_next_upstream error, and picks skip the target for a
// while (fail_timeout).

func newFailoverRouter(t *testing.T, passiveDown time.Duration) *Router {
	t.Helper()
	return newTestRouterWith(t, Options{PassiveDownTime: passiveDown})
}

// closedAddr returns a loopback address nothing listens on: connects to it
// are refused.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("close listener: %v", err)
	}
	return addr
}

// applyHealthy runs a service whose one group, blue, takes all production
// traffic, its targets healthy from the start (as an agent restart hands them
// over) and their health checks far apart: a target that refuses connections
// stays healthy for the whole test, only passed over.
func applyHealthy(t *testing.T, r *Router, name string, targets ...TargetSpec) ServiceStatus {
	t.Helper()
	spec := ServiceSpec{
		Name:               name,
		ProductionListener: "127.0.0.1:0",
		HealthCheck: HealthCheck{
			Path: "/health", Interval: Duration(time.Minute), Timeout: Duration(5 * time.Second),
			HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200",
		},
		DeregistrationDelay: Duration(5 * time.Second),
		TargetGroups:        []TargetGroupSpec{{Name: "blue", Targets: targets}},
		ProductionWeights:   map[string]int{"blue": 100},
	}
	last := ServiceStatus{TargetGroups: []TargetGroupStatus{{Name: "blue"}}}
	for _, ts := range targets {
		last.TargetGroups[0].Targets = append(last.TargetGroups[0].Targets, TargetStatus{TargetSpec: ts, State: TargetHealthy})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := r.Restore(ctx, spec, last)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	return st
}

// connectErrors is the count of failed connects to group's targets.
func connectErrors(r *Router, service, group string) uint64 {
	r.mu.Lock()
	svc := r.services[service]
	r.mu.Unlock()
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.groups[group].connectErrors.Load()
}

// outcome is one request of a load: when it began, what came back.
type outcome struct {
	began   time.Time
	status  int
	backend string
	err     error
}

func (o outcome) String() string {
	return fmt.Sprintf("status %d from %q, err %v", o.status, o.backend, o.err)
}

// load sends clients x n requests to base, every other one a POST whose body
// goes with its head; a POST's body must come back whole (echo).
func load(base string, clients, n int, between func(i int)) []outcome {
	c := newClient()
	out := make([]outcome, clients*n)
	var wg sync.WaitGroup
	for k := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				between(i)
				out[k*n+i] = oneRequest(c, base, fmt.Sprintf("body of request %d of client %d", i, k), i%2 == 1)
			}
		}()
	}
	wg.Wait()
	return out
}

func oneRequest(c *http.Client, base, body string, post bool) outcome {
	o := outcome{began: time.Now()}
	var resp *http.Response
	if post {
		resp, o.err = c.Post(base+"/echo", "text/plain", strings.NewReader(body))
	} else {
		resp, o.err = c.Get(base + "/")
	}
	if o.err != nil {
		return o
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	o.status, o.backend, o.err = resp.StatusCode, resp.Header.Get("X-Backend"), err
	switch {
	case o.err != nil || o.status != http.StatusOK:
	case post && string(got) != body:
		o.err = fmt.Errorf("echo %q, want %q", got, body)
	case !post && string(got) != o.backend:
		o.err = fmt.Errorf("body %q from %q", got, o.backend)
	}
	return o
}

func TestRefusedTargetIsPassedOver(t *testing.T) {
	live := startBackend(t, "live")
	r := newFailoverRouter(t, DefaultPassiveDownTime)
	st := applyHealthy(t, r, "refused", TargetSpec{ID: "dead", Address: closedAddr(t)}, live.target("live"))
	const clients, n = 8, 60
	results := load("http://"+st.ProductionAddress, clients, n, func(int) {})
	for _, o := range results {
		if o.err != nil || o.status != http.StatusOK || o.backend != "live" {
			t.Errorf("request failed or not answered by the live target: %s", o)
		}
	}
	// Each request in flight when the first refusal came may have tried the
	// dead target once; every later one passed it over.
	if n := connectErrors(r, "refused", "blue"); n < 1 || n > clients {
		t.Errorf("%d connects to the dead target, want 1 to %d (then passed over)", n, clients)
	}
	ts, _ := targetState(r, "refused", "dead")
	if ts.State != TargetHealthy || !strings.Contains(ts.Reason, "passed over") || !strings.Contains(ts.Reason, "connection refused") {
		t.Errorf("dead target's status %s %q, want healthy, passed over for a refused connection", ts.State, ts.Reason)
	}
	// Every request counts once, as answered by a target.
	eventually(t, 10*time.Second, "every request counted once", func() bool {
		s := sumSeries(t, r, "refused", "blue")
		return s.Requests == clients*n && s.Target2XX == clients*n && s.ELB5XX == 0
	})
}

func TestKilledTargetIsPassedOver(t *testing.T) {
	victim := startBackend(t, "victim")
	live := startBackend(t, "live")
	r := newFailoverRouter(t, DefaultPassiveDownTime)
	st := applyHealthy(t, r, "killed", victim.target("victim"), live.target("live"))
	var killedAt atomic.Int64
	const clients, n = 8, 80
	results := load("http://"+st.ProductionAddress, clients, n, func(i int) {
		if i == n/3 && killedAt.Load() == 0 && victim.hits.Load() > 0 {
			// Killed: its listener and every connection closed at once.
			if killedAt.CompareAndSwap(0, -1) {
				_ = victim.srv.Close()
				killedAt.Store(time.Now().UnixNano())
			}
		}
	})
	if killedAt.Load() <= 0 {
		t.Fatal("the victim got no traffic before it was to be killed")
	}
	killed := time.Unix(0, killedAt.Load())
	var before, after, failedBefore int
	for _, o := range results {
		ok := o.err == nil && o.status == http.StatusOK
		if o.began.Before(killed) {
			// In flight as the victim died: its connection was established
			// and the request sent, so it may have failed.
			before++
			if !ok {
				failedBefore++
			}
			continue
		}
		after++
		if !ok || o.backend != "live" {
			t.Errorf("request sent after the kill failed or not answered by the live target: %s", o)
		}
	}
	t.Logf("%d requests before the kill (%d failed, in flight on the victim), %d after, none failed", before, failedBefore, after)
	if after < clients*n/2 {
		t.Errorf("only %d requests after the kill", after)
	}
	if failedBefore > clients {
		t.Errorf("%d requests begun before the kill failed, more than could be in flight (%d)", failedBefore, clients)
	}
	if n := connectErrors(r, "killed", "blue"); n < 1 || n > clients {
		t.Errorf("%d connects to the killed target, want 1 to %d (then passed over)", n, clients)
	}
}

func TestEveryTargetRefusedAnswers502(t *testing.T) {
	r := newFailoverRouter(t, DefaultPassiveDownTime)
	st := applyHealthy(t, r, "norefuge", TargetSpec{ID: "a", Address: closedAddr(t)}, TargetSpec{ID: "b", Address: closedAddr(t)})
	rc := dialRaw(t, st.ProductionAddress)
	began := time.Now()
	const rounds = 3
	for range rounds {
		// A POST whose body came whole with its head, and a GET behind it on
		// the same connection: the body is skipped once, the GET answered too.
		rc.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: x\r\n\r\n")
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			resp, _ := rc.read(method)
			if resp.StatusCode != http.StatusBadGateway || resp.Close {
				t.Fatalf("%s: status %d, close %v; want 502 on a connection that goes on", method, resp.StatusCode, resp.Close)
			}
		}
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("the 502s took %s", d)
	}
	// The first request tried both targets; later ones fail open to one.
	if n := connectErrors(r, "norefuge", "blue"); n < 2*rounds || n > 4*rounds {
		t.Errorf("%d failed connects for %d requests", n, 2*rounds)
	}
	eventually(t, 10*time.Second, "the 502s counted once each", func() bool {
		s := sumSeries(t, r, "norefuge", "blue")
		return s.Requests == 2*rounds && s.ELB5XX == 2*rounds
	})
}

func TestPassedOverTargetComesBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	back := serveBackend(t, "back", ln, func(*http.Server) {})
	other := startBackend(t, "other")
	r := newFailoverRouter(t, time.Second)
	st := applyHealthy(t, r, "comeback", back.target("back"), other.target("other"))
	base := "http://" + st.ProductionAddress + "/"
	c := newClient()
	// getFrom does one request, which must succeed, and reports who answered.
	getFrom := func(want string) bool {
		status, who := get(t, c, base)
		if status != http.StatusOK {
			t.Fatalf("status %d from %q", status, who)
		}
		return who == want
	}
	eventually(t, 10*time.Second, "traffic to the target", func() bool { return getFrom("back") })

	_ = back.srv.Close()
	eventually(t, 10*time.Second, "the dead target passed over", func() bool {
		getFrom("other")
		return connectErrors(r, "comeback", "blue") > 0
	})
	for range 20 {
		if getFrom("back") {
			t.Fatal("a request reached the dead target")
		}
	}

	// The task comes back on the same address; once the mark expires (no
	// health check runs meanwhile), it gets traffic again.
	ln, err = net.Listen("tcp", back.addr)
	if err != nil {
		t.Fatalf("listen again on %s: %v", back.addr, err)
	}
	serveBackend(t, "back", ln, func(*http.Server) {})
	eventually(t, 15*time.Second, "the target back in rotation", func() bool { return getFrom("back") })
	if ts, _ := targetState(r, "comeback", "back"); strings.Contains(ts.Reason, "passed over") {
		t.Errorf("target still reported passed over: %q", ts.Reason)
	}
}

// The requests the fast path hands to net/http (here HTTP/1.0) are passed on
// too when they have no body.
func TestRefusedTargetIsPassedOverOnTheNetHTTPPath(t *testing.T) {
	live := startBackend(t, "live")
	r := newFailoverRouter(t, DefaultPassiveDownTime)
	st := applyHealthy(t, r, "handedover", TargetSpec{ID: "dead", Address: closedAddr(t)}, live.target("live"))
	for i := range 10 {
		rc := dialRaw(t, st.ProductionAddress)
		rc.send("GET / HTTP/1.0\r\nHost: x\r\n\r\n")
		resp, body := rc.read(http.MethodGet)
		if resp.StatusCode != http.StatusOK || body != "live" {
			t.Fatalf("request %d: status %d, body %q", i, resp.StatusCode, body)
		}
	}
	// Requests one at a time: the dead target was tried once, then passed over.
	if n := connectErrors(r, "handedover", "blue"); n != 1 {
		t.Errorf("%d connects to the dead target, want 1", n)
	}
	eventually(t, 10*time.Second, "every request counted once", func() bool {
		s := sumSeries(t, r, "handedover", "blue")
		return s.Requests == 10 && s.Target2XX == 10 && s.ELB5XX == 0
	})
}

// A passing health check ends a mark made before it began, not one made
// while it ran.
func TestPassingHealthCheckEndsThePassiveMark(t *testing.T) {
	tg := &target{downFor: time.Minute, log: testLogger(t), group: &group{}, health: TargetHealthy}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	marked := time.Now()
	tg.markDown(marked, refused)
	if !tg.passedOver(marked.UnixNano()) || tg.downStatus(marked) == "" {
		t.Fatal("not passed over after a refused connect")
	}
	applyCheck(tg, checkResult{ok: true, start: marked.Add(-time.Millisecond)}, 2, 2)
	if !tg.passedOver(marked.UnixNano()) {
		t.Fatal("a check begun before the refusal ended the mark")
	}
	applyCheck(tg, checkResult{ok: true, start: marked.Add(time.Millisecond)}, 2, 2)
	if tg.passedOver(marked.UnixNano()) || tg.downStatus(marked) != "" {
		t.Fatal("a check begun after the refusal left the mark")
	}
	if n := tg.group.connectErrors.Load(); n != 1 {
		t.Errorf("%d connect errors counted, want 1", n)
	}
}
