package router

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestWeightedSplitIsExact(t *testing.T) {
	r := newTestRouter(t)
	blue, green := startBackend(t, "blue"), startBackend(t, "green")
	spec := twoGroupSpec("split", []TargetSpec{blue.target("b1")}, []TargetSpec{green.target("g1")})
	st := mustApply(t, r, spec)
	waitState(t, r, "split", "b1", TargetHealthy)
	waitState(t, r, "split", "g1", TargetHealthy)
	url := "http://" + st.ProductionAddress + "/"

	for _, w := range []struct{ blue, green int }{{100, 0}, {0, 100}, {90, 10}, {50, 50}, {1, 99}, {37, 63}} {
		t.Run(fmt.Sprintf("%d-%d", w.blue, w.green), func(t *testing.T) {
			spec.ProductionWeights = map[string]int{"blue": w.blue, "green": w.green}
			mustApply(t, r, spec)
			// Four concurrent keep-alive clients, 2000 requests: every 100
			// consecutive requests split exactly by weight.
			const total, workers = 2000, 4
			counts := map[string]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					c := newClient()
					for range total / workers {
						code, who := get(t, c, url)
						if code != http.StatusOK {
							t.Errorf("status %d from %q", code, who)
						}
						mu.Lock()
						counts[who]++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if counts["blue"] != w.blue*total/100 || counts["green"] != w.green*total/100 {
				t.Fatalf("split = %v, want blue %d green %d", counts, w.blue*total/100, w.green*total/100)
			}
		})
	}
}

func TestWheelInterleavesAndNeverPicksWeightZero(t *testing.T) {
	a, b, c := &groupRoute{}, &groupRoute{}, &groupRoute{}
	var next atomic.Uint64
	wh := newWheel([]weightedGroup{{a, 10}, {b, 0}, {c, 90}}, &next)
	counts := map[*groupRoute]int{}
	longestRunOfC, run := 0, 0
	for range 1000 {
		g := wh.pick()
		counts[g]++
		if g == c {
			run++
			longestRunOfC = max(longestRunOfC, run)
		} else {
			run = 0
		}
	}
	if counts[a] != 100 || counts[b] != 0 || counts[c] != 900 {
		t.Fatalf("counts a=%d b=%d c=%d, want 100/0/900", counts[a], counts[b], counts[c])
	}
	// Smooth: the 10% group is spread out, not served in one burst.
	if longestRunOfC > 9 {
		t.Fatalf("longest run of the 90%% group = %d, want <= 9 (interleaved)", longestRunOfC)
	}
	if newWheel([]weightedGroup{{a, 0}, {b, 0}}, &next) != nil {
		t.Fatal("a wheel without weights must be nil (503)")
	}
}

func TestRoundRobinAndLeastOutstandingWithinGroup(t *testing.T) {
	r := newTestRouter(t)
	b1, b2, b3 := startBackend(t, "one"), startBackend(t, "two"), startBackend(t, "three")
	spec := twoGroupSpec("rr", []TargetSpec{b1.target("1"), b2.target("2"), b3.target("3")}, nil)
	st := mustApply(t, r, spec)
	for _, id := range []string{"1", "2", "3"} {
		waitState(t, r, "rr", id, TargetHealthy)
	}
	c := newClient()
	url := "http://" + st.ProductionAddress + "/"
	counts := map[string]int{}
	for range 300 {
		_, who := get(t, c, url)
		counts[who]++
	}
	if counts["one"] != 100 || counts["two"] != 100 || counts["three"] != 100 {
		t.Fatalf("round robin split = %v, want 100 each", counts)
	}

	// Least outstanding: one target is busy with slow requests; quick requests
	// go to the two idle ones.
	spec.TargetGroups[0].LoadBalancing = LoadBalancingLeastOutstanding
	mustApply(t, r, spec)
	// The slow requests last until the test is done with the quick ones.
	ctx, cancelSlow := context.WithCancel(context.Background())
	var slow sync.WaitGroup
	for range 2 {
		slow.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"wait/60s", nil)
			if resp, err := newClient().Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	eventually(t, 10*time.Second, "two slow requests in flight", func() bool {
		n := 0
		st, _ := r.Status("rr")
		for _, ts := range st.TargetGroups[0].Targets {
			n += ts.InFlight
		}
		return n == 2
	})
	busy := map[string]bool{}
	st, _ = r.Status("rr")
	for _, ts := range st.TargetGroups[0].Targets {
		if ts.InFlight > 0 {
			busy[ts.ID] = true
		}
	}
	for range 30 {
		_, who := get(t, c, url)
		id := map[string]string{"one": "1", "two": "2", "three": "3"}[who]
		if busy[id] {
			t.Fatalf("least outstanding sent a request to busy target %s (busy: %v)", id, busy)
		}
	}
	cancelSlow()
	slow.Wait()
}

func TestTestListenerRoutesToTestGroup(t *testing.T) {
	r := newTestRouter(t)
	blue, green := startBackend(t, "blue"), startBackend(t, "green")
	spec := twoGroupSpec("tl", []TargetSpec{blue.target("b1")}, []TargetSpec{green.target("g1")})
	spec.TestListener = "127.0.0.1:0"
	st := mustApply(t, r, spec)
	waitState(t, r, "tl", "b1", TargetHealthy)
	waitState(t, r, "tl", "g1", TargetHealthy)
	c := newClient()

	if code, _ := get(t, c, "http://"+st.TestAddress+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("test listener without a test group: status %d, want 503", code)
	}
	spec.TestTargetGroup = "green"
	st = mustApply(t, r, spec)
	for range 20 {
		if code, who := get(t, c, "http://"+st.TestAddress+"/"); code != 200 || who != "green" {
			t.Fatalf("test listener: %d from %q, want 200 from green", code, who)
		}
		if code, who := get(t, c, "http://"+st.ProductionAddress+"/"); code != 200 || who != "blue" {
			t.Fatalf("production listener: %d from %q, want 200 from blue", code, who)
		}
	}
}

func TestForwardedHeaders(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("xff", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "xff", "b1", TargetHealthy)
	req, _ := http.NewRequest(http.MethodGet, "http://"+st.ProductionAddress+"/", nil)
	req.Host = "orders.example.com"
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.Header.Set("X-Forwarded-Port", "9999")
	resp, err := newClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, port, _ := strings.Cut(st.ProductionAddress, ":")
	want := map[string]string{
		"Echo-X-Forwarded-For":   "203.0.113.7, 127.0.0.1",
		"Echo-X-Forwarded-Proto": "http",
		"Echo-X-Forwarded-Host":  "orders.example.com",
		"Echo-X-Forwarded-Port":  port,
		"Echo-Host":              "orders.example.com",
	}
	for k, v := range want {
		if got := resp.Header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestNoTargetAnswers503AndCountsELB(t *testing.T) {
	r := newTestRouter(t)
	down := startBackend(t, "never-healthy")
	down.health.Store(http.StatusInternalServerError)
	spec := twoGroupSpec("empty", nil, nil)
	st := mustApply(t, r, spec)
	c := newClient()
	url := "http://" + st.ProductionAddress + "/"
	if code, _ := get(t, c, url); code != http.StatusServiceUnavailable {
		t.Fatalf("no targets: status %d, want 503", code)
	}
	// A target still in its initial checks gets no traffic either.
	spec.HealthCheck.UnhealthyThreshold = 10
	spec.TargetGroups[0].Targets = []TargetSpec{down.target("d1")}
	mustApply(t, r, spec)
	for range 5 {
		if code, _ := get(t, c, url); code != http.StatusServiceUnavailable {
			t.Fatalf("only initial targets: status %d, want 503", code)
		}
	}
	if ts, _ := targetState(r, "empty", "d1"); ts.State != TargetInitial {
		t.Fatalf("target state %s, want initial", ts.State)
	}
	if down.hits.Load() != 0 {
		t.Fatalf("an initial target got %d requests", down.hits.Load())
	}
	eventually(t, 10*time.Second, "6 ELB 5XX counted for blue", func() bool {
		s := sumSeries(t, r, "empty", "blue")
		return s.ELB5XX == 6 && s.Requests == 6
	})
}

func TestFailOpenWhenAllTargetsUnhealthy(t *testing.T) {
	r := newTestRouter(t)
	b1, b2 := startBackend(t, "one"), startBackend(t, "two")
	st := mustApply(t, r, twoGroupSpec("open", []TargetSpec{b1.target("1"), b2.target("2")}, nil))
	waitState(t, r, "open", "1", TargetHealthy)
	waitState(t, r, "open", "2", TargetHealthy)
	b1.health.Store(http.StatusInternalServerError)
	b2.health.Store(http.StatusInternalServerError)
	waitState(t, r, "open", "1", TargetUnhealthy)
	waitState(t, r, "open", "2", TargetUnhealthy)
	c := newClient()
	counts := map[string]int{}
	for range 20 {
		code, who := get(t, c, "http://"+st.ProductionAddress+"/")
		if code != http.StatusOK {
			t.Fatalf("fail open: status %d, want 200", code)
		}
		counts[who]++
	}
	if counts["one"] != 10 || counts["two"] != 10 {
		t.Fatalf("fail open split %v, want 10 each", counts)
	}
	// One recovers: only it gets traffic again.
	b2.health.Store(http.StatusOK)
	waitState(t, r, "open", "2", TargetHealthy)
	for range 10 {
		if _, who := get(t, c, "http://"+st.ProductionAddress+"/"); who != "two" {
			t.Fatalf("request went to %q while only two is healthy", who)
		}
	}
}
