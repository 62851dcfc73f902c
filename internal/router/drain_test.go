package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/greenlight-ci/greenlight/internal/loadgen"
)

// TestZeroFailedRequestsWhileFlippingAndReplacing keeps several keep-alive
// clients busy while production flips between the groups many times and every
// target is replaced; old backends are shut down only once the router reports
// them drained. Every response must be a 200.
func TestZeroFailedRequestsWhileFlippingAndReplacing(t *testing.T) {
	for _, v := range protocolVariants {
		t.Run(v.name, func(t *testing.T) { zeroFailedWhileFlipping(t, v) })
	}
}

func zeroFailedWhileFlipping(t *testing.T, v protocolVariant) {
	r := newTestRouter(t)
	gen := 0
	newBackend := func(color string) *backend {
		gen++
		return startBackend(t, fmt.Sprintf("%s-%d", color, gen))
	}
	blue, green := newBackend("blue"), newBackend("green")
	spec := twoGroupSpec("zero", []TargetSpec{blue.target(blue.name)}, []TargetSpec{green.target(green.name)})
	spec.DeregistrationDelay = Duration(10 * time.Second)
	client, scheme := v.prepare(t, &spec)
	st := mustApply(t, r, spec)
	waitState(t, r, "zero", blue.name, TargetHealthy)
	waitState(t, r, "zero", green.name, TargetHealthy)
	url := scheme + st.ProductionAddress + "/"

	var stop atomic.Bool
	var ok, failed atomic.Int64
	var firstFailure atomic.Value
	var load sync.WaitGroup
	for range 6 {
		load.Go(func() {
			c := client()
			for !stop.Load() {
				resp, err := c.Get(url)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				ok.Add(1)
			}
		})
	}

	live := map[string]*backend{blue.name: blue, green.name: green}
	current := map[string]*backend{"blue": blue, "green": green}
	const flips = 40
	for i := range flips {
		// Flip production to the other group.
		to, from := "green", "blue"
		if i%2 == 1 {
			to, from = "blue", "green"
		}
		if i%5 == 2 {
			// A canary step on the way.
			spec.ProductionWeights = map[string]int{to: 10, from: 90}
			mustApply(t, r, spec)
			time.Sleep(20 * time.Millisecond)
		}
		spec.ProductionWeights = map[string]int{to: 100, from: 0}
		mustApply(t, r, spec)
		time.Sleep(20 * time.Millisecond)

		if i%4 == 3 {
			// Replace the idle group's target: register the new one, wait until it
			// is healthy, deregister the old one, stop it once drained.
			old := current[from]
			nb := newBackend(from)
			idx := 0
			if from == "green" {
				idx = 1
			}
			spec.TargetGroups[idx].Targets = []TargetSpec{old.target(old.name), nb.target(nb.name)}
			mustApply(t, r, spec)
			waitState(t, r, "zero", nb.name, TargetHealthy)
			spec.TargetGroups[idx].Targets = []TargetSpec{nb.target(nb.name)}
			mustApply(t, r, spec)
			current[from] = nb
			live[nb.name] = nb
			waitGone(t, r, "zero", old.name)
			old.stop()
			delete(live, old.name)
		}
	}
	time.Sleep(100 * time.Millisecond)
	stop.Store(true)
	load.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failed.Load(), failed.Load()+ok.Load(), firstFailure.Load())
	}
	if ok.Load() < 500 {
		t.Fatalf("only %d requests made; the load did not run", ok.Load())
	}
	t.Logf("%d requests, 0 failed, %d flips", ok.Load(), flips)
}

// drainSetup is a service with one draining-to-be target "old" and a healthy
// replacement "new", DeregistrationDelay delay.
func drainSetup(t *testing.T, name string, delay time.Duration) (*Router, ServiceSpec, ServiceStatus, *backend, *backend) {
	return drainSetupWith(t, name, delay, nil)
}

// drainSetupWith is drainSetup with extra routes on the backends.
func drainSetupWith(t *testing.T, name string, delay time.Duration, routes map[string]http.HandlerFunc) (*Router, ServiceSpec, ServiceStatus, *backend, *backend) {
	r := newTestRouter(t)
	oldB, newB := startCustomBackend(t, "old", routes), startCustomBackend(t, "new", routes)
	spec := twoGroupSpec(name, []TargetSpec{oldB.target("old")}, nil)
	spec.DeregistrationDelay = Duration(delay)
	st := mustApply(t, r, spec)
	waitState(t, r, name, "old", TargetHealthy)
	return r, spec, st, oldB, newB
}

func deregisterOld(t *testing.T, r *Router, spec ServiceSpec, newB *backend) time.Time {
	spec.TargetGroups[0].Targets = []TargetSpec{newB.target("new")}
	mustApply(t, r, spec)
	removed := time.Now()
	if ts, ok := targetState(r, spec.Name, "old"); !ok || ts.State != TargetDraining {
		t.Fatalf("deregistered target: %+v (present %v), want draining", ts, ok)
	}
	return removed
}

func TestSlowRequestOnDrainingTargetCompletes(t *testing.T) {
	r, spec, st, oldB, newB := drainSetup(t, "slow", 10*time.Second)
	result := make(chan string, 1)
	go func() {
		resp, err := newClient().Get("http://" + st.ProductionAddress + "/sleep/2s")
		if err != nil {
			result <- err.Error()
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		result <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	eventually(t, 10*time.Second, "slow request in flight", func() bool {
		ts, _ := targetState(r, "slow", "old")
		return ts.InFlight == 1
	})
	deregisterOld(t, r, spec, newB)
	if got := <-result; got != "200 old" {
		t.Fatalf("slow request on the draining target: %q, want 200 from old", got)
	}
	// Nothing in flight any more: it leaves long before the 10s delay.
	waitGone(t, r, "slow", "old")
	if oldB.hits.Load() != 1 {
		t.Fatalf("old target served %d requests, want 1", oldB.hits.Load())
	}
}

func TestSSEOnDrainingTargetLastsUntilDelay(t *testing.T) {
	const delay = 2 * time.Second
	r, spec, st, _, newB := drainSetup(t, "sse", delay)
	resp, err := newClient().Get("http://" + st.ProductionAddress + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan time.Time, 1000)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: old") {
				events <- time.Now()
			}
		}
	}()
	<-events // the stream is flowing, flushed at once
	eventually(t, 5*time.Second, "the stream counted as long-lived", func() bool {
		ts, _ := targetState(r, "sse", "old")
		return ts.LongLived == 1
	})
	removed := deregisterOld(t, r, spec, newB)
	lateEvents := 0 // events in the second half of the delay: the stream still works
	for ev := range events {
		if ev.Sub(removed) > delay/2 {
			lateEvents++
		}
	}
	ended := time.Since(removed)
	// removed was taken just after Apply returned, so allow a little slack.
	if ended < delay-100*time.Millisecond {
		t.Fatalf("SSE stream ended %s after deregistration, before the %s delay", ended, delay)
	}
	if ended > delay+20*time.Second {
		t.Fatalf("SSE stream cut %s after deregistration, long after the delay", ended)
	}
	if lateEvents == 0 {
		t.Fatalf("no event in the second half of the delay: the stream stalled after deregistration")
	}
	waitGone(t, r, "sse", "old")
}

func TestWebSocketOnDrainingTargetLastsUntilDelay(t *testing.T) {
	const delay = 2 * time.Second
	r, spec, st, _, newB := drainSetup(t, "ws", delay)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+st.ProductionAddress+"/ws", nil)
	if err != nil {
		t.Fatalf("dial websocket through the router: %v", err)
	}
	defer func() { _ = c.CloseNow() }()
	echo := func(msg string) error {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			return err
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if string(got) != "old:"+msg {
			return fmt.Errorf("echo %q, want %q", got, "old:"+msg)
		}
		return nil
	}
	if err := echo("hello"); err != nil {
		t.Fatal(err)
	}
	if ts, _ := targetState(r, "ws", "old"); ts.LongLived != 1 || ts.InFlight != 1 {
		t.Fatalf("websocket target status %+v, want 1 long-lived in flight", ts)
	}
	removed := deregisterOld(t, r, spec, newB)
	lateEchoes := 0 // echoes in the second half of the delay: the session still works
	var cut error
	for i := 0; cut == nil; i++ {
		if cut = echo(fmt.Sprint(i)); cut == nil && time.Since(removed) > delay/2 {
			lateEchoes++
		}
		if time.Since(removed) > delay+20*time.Second {
			t.Fatal("websocket still open long after the deregistration delay")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// removed was taken just after Apply returned, so allow a little slack.
	if ended := time.Since(removed); ended < delay-100*time.Millisecond {
		t.Fatalf("websocket cut %s after deregistration (%v), before the %s delay", ended, cut, delay)
	}
	if lateEchoes == 0 {
		t.Fatal("no echo in the second half of the delay: the session stalled after deregistration")
	}
	if errors.Is(cut, context.DeadlineExceeded) {
		t.Fatalf("websocket hung instead of being closed: %v", cut)
	}
	waitGone(t, r, "ws", "old")
}

func TestReRegisteredDrainingTargetReturnsToService(t *testing.T) {
	r, spec, st, oldB, newB := drainSetup(t, "back", 30*time.Second)
	// Keep it draining with a long request in flight.
	go func() {
		if resp, err := newClient().Get("http://" + st.ProductionAddress + "/sleep/3s"); err == nil {
			resp.Body.Close()
		}
	}()
	eventually(t, 10*time.Second, "long request in flight", func() bool {
		ts, _ := targetState(r, "back", "old")
		return ts.InFlight == 1
	})
	deregisterOld(t, r, spec, newB)
	waitState(t, r, "back", "new", TargetHealthy)
	spec.TargetGroups[0].Targets = []TargetSpec{oldB.target("old"), newB.target("new")}
	mustApply(t, r, spec)
	if ts, _ := targetState(r, "back", "old"); ts.State != TargetHealthy {
		t.Fatalf("re-registered target %s, want healthy at once", ts.State)
	}
	c := newClient()
	counts := map[string]int{}
	for range 10 {
		_, who := get(t, c, "http://"+st.ProductionAddress+"/")
		counts[who]++
	}
	if counts["old"] != 5 || counts["new"] != 5 {
		t.Fatalf("split after re-registration %v, want 5/5", counts)
	}
}

func TestRemoveDrainsThenCloses(t *testing.T) {
	r, _, st, _, _ := drainSetup(t, "gone", 10*time.Second)
	result := requestInFlight(t, r, "http://"+st.ProductionAddress+"/sleep/1s", "gone", "old")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.Remove(ctx, "gone"); err != nil {
		t.Fatalf("remove: %v", err)
	}
	if code := <-result; code != http.StatusOK {
		t.Fatalf("in-flight request during Remove: %d, want 200", code)
	}
	if _, ok := r.Status("gone"); ok {
		t.Fatal("removed service still has a status")
	}
	if _, err := newClient().Get("http://" + st.ProductionAddress + "/"); !isConnRefused(err) {
		t.Fatalf("listener still open after Remove: %v", err)
	}
	if err := r.Remove(ctx, "gone"); !errors.Is(err, ErrUnknownService) {
		t.Fatalf("second remove: %v, want ErrUnknownService", err)
	}
}

// Two routers share one listening socket, as an agent and its successor do
// during a restart: the first releases it under load, a request in flight on
// it finishes on its target, and no client sees a failure.
func TestReleaseHandsTheSocketToAnotherRouterWithoutAFailure(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
			_, _ = io.WriteString(w, "slow")
		},
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	successorLn, err := ListenerFromFile(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	old := New(Options{Logger: testLogger(t), Listen: func(string, string) (net.Listener, error) { return ln, nil }})
	successor := New(Options{Logger: testLogger(t), Listen: func(string, string) (net.Listener, error) { return successorLn, nil }})
	t.Cleanup(func() { _ = successor.Close(context.Background()) })
	spec := twoGroupSpec("shared", []TargetSpec{b.target("b1")}, nil)
	spec.ProductionListener = ln.Addr().String()
	mustApply(t, old, spec)
	waitState(t, old, "shared", "b1", TargetHealthy)
	url := "http://" + ln.Addr().String()
	slow := make(chan int, 1)
	go func() { code, _ := get(t, newClient(), url+"/slow"); slow <- code }()
	load := loadgen.Start(url+"/small", loadgen.Options{Workers: 8, NewConnections: true})
	time.Sleep(100 * time.Millisecond)
	if _, err := successor.Restore(t.Context(), spec, ServiceStatus{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := old.Release(ctx); err != nil {
		t.Fatalf("release: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	load.Stop()
	if load.Failed() != 0 || load.Total() < 100 {
		t.Fatalf("load across the release: %s", load)
	}
	if code := <-slow; code != 200 {
		t.Fatalf("request in flight on the released router: %d, want 200", code)
	}
}
