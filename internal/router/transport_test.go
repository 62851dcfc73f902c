package router

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestKeepAliveConnectionsToTargetsAreReused(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	spec := twoGroupSpec("reuse", []TargetSpec{b.target("b1")}, nil)
	// One check makes it healthy; the next one is far away, so that every
	// connection the backend sees from now on is a proxied one.
	spec.HealthCheck.HealthyThreshold = 1
	spec.HealthCheck.Interval = Duration(time.Hour)
	spec.HealthCheck.Timeout = Duration(5 * time.Second)
	st := mustApply(t, r, spec)
	waitState(t, r, "reuse", "b1", TargetHealthy)
	before := b.conns.Load()
	c := newClient()
	for range 200 {
		if code, _ := get(t, c, "http://"+st.ProductionAddress+"/small"); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if proxied := b.conns.Load() - before; proxied > 2 {
		t.Fatalf("%d connections for 200 sequential requests, want one reused", proxied)
	}
}

// TestStalePooledConnectionsAreRetried makes the target close idle connections
// quickly, so the router's pooled connections are often dead when picked: every
// request must still succeed.
func TestStalePooledConnectionsAreRetried(t *testing.T) {
	r := newTestRouter(t)
	b := startBackendWith(t, "b", func(s *http.Server) { s.IdleTimeout = 30 * time.Millisecond })
	st := mustApply(t, r, twoGroupSpec("stale", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "stale", "b1", TargetHealthy)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			c := newClient()
			for i := range 15 {
				if code, _ := get(t, c, "http://"+st.ProductionAddress+"/small"); code != 200 {
					t.Errorf("request %d: status %d", i, code)
				}
				time.Sleep(time.Duration(20+i*5) * time.Millisecond)
			}
		})
	}
	wg.Wait()
}

func TestTargetTimeoutAnswers504(t *testing.T) {
	r := New(Options{Logger: testLogger(t), TargetTimeout: time.Second})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("slow", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "slow", "b1", TargetHealthy)
	c := newClient()
	if code, _ := get(t, c, "http://"+st.ProductionAddress+"/sleep/10s"); code != http.StatusGatewayTimeout {
		t.Fatalf("slow target: status %d, want 504", code)
	}
	if code, _ := get(t, c, "http://"+st.ProductionAddress+"/small"); code != 200 {
		t.Fatalf("after a timeout: status %d, want 200", code)
	}
	eventually(t, 10*time.Second, "the 504 counted as ELB 5XX", func() bool {
		s := sumSeries(t, r, "slow", "blue")
		return s.ELB5XX == 1 && s.Requests == 2
	})
}

func TestProxiedMethodsAndBodies(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("methods", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "methods", "b1", TargetHealthy)
	base := "http://" + st.ProductionAddress
	c := newClient()

	resp, err := c.Head(base + "/small")
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != int64(len("hello from the backend\n")) {
		t.Fatalf("HEAD: %v %+v", err, resp)
	}
	resp.Body.Close()
	for _, code := range []string{"204", "304"} {
		if got, _ := get(t, c, base+"/status/"+code); got != atoi(code) {
			t.Fatalf("status %s came back as %d", code, got)
		}
	}
	body := strings.Repeat("payload ", 100_000) // 800 kB, not a lean request
	resp, err = c.Post(base+"/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(got) != body {
		t.Fatalf("POST echo: status %d, %d bytes back of %d", resp.StatusCode, len(got), len(body))
	}
	// The keep-alive connection is still good after all of that.
	if code, _ := get(t, c, base+"/small"); code != 200 {
		t.Fatalf("GET after POST: %d", code)
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func TestClientGoneCancelsTargetRequest(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("gone", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "gone", "b1", TargetHealthy)
	ctx, cancel := context.WithCancel(context.Background())
	failed := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+st.ProductionAddress+"/wait/60s", nil)
		_, err := newClient().Do(req)
		failed <- err
	}()
	eventually(t, 10*time.Second, "the request to reach the target", func() bool { return b.waiting.Load() == 1 })
	cancel()
	if err := <-failed; err == nil {
		t.Fatal("a cancelled request succeeded")
	}
	eventually(t, 10*time.Second, "the target to see the request cancelled", func() bool {
		return b.cancelled.Load() == 1
	})
	eventually(t, 10*time.Second, "nothing in flight", func() bool {
		ts, _ := targetState(r, "gone", "b1")
		return ts.InFlight == 0
	})
	if code, _ := get(t, newClient(), "http://"+st.ProductionAddress+"/small"); code != 200 {
		t.Fatalf("after a cancelled request: %d", code)
	}
}

func TestAbortedStreamDoesNotPoisonThePool(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("abort", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "abort", "b1", TargetHealthy)
	for range 3 {
		resp, err := newClient().Get("http://" + st.ProductionAddress + "/sse")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(resp.Body, buf); err != nil {
			t.Fatalf("read stream: %v", err)
		}
		resp.Body.Close() // the client leaves mid-stream
	}
	c := newClient()
	for range 20 {
		if code, _ := get(t, c, "http://"+st.ProductionAddress+"/small"); code != 200 {
			t.Fatalf("after aborted streams: %d", code)
		}
	}
	eventually(t, 10*time.Second, "streams released", func() bool {
		ts, _ := targetState(r, "abort", "b1")
		return ts.InFlight == 0 && ts.LongLived == 0
	})
}
