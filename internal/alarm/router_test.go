package alarm

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// routerSource reads metrics straight from an in-process router, as the agent's
// admin API does.
type routerSource struct{ r *router.Router }

func (s routerSource) Series(_ context.Context, service string, sinceMs int64) ([]metrics.Series, error) {
	series, ok := s.r.Series(service, sinceMs)
	if !ok {
		return nil, fmt.Errorf("service %s: %w", service, router.ErrUnknownService)
	}
	return series, nil
}

// switchableBackend is a task on loopback whose responses turn to 500 on demand;
// its health check keeps passing, as a broken release's often does.
func switchableBackend(t *testing.T, failing *atomic.Bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func TestWatcherOnRealRouter(t *testing.T) {
	var blueFailing, greenFailing atomic.Bool
	blue, green := switchableBackend(t, &blueFailing), switchableBackend(t, &greenFailing)

	r := router.New(router.Options{MetricsRetention: time.Minute})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close router: %v", err)
		}
	})
	st, err := r.Apply(routing.ServiceSpec{
		Name: "web", ProductionListener: "127.0.0.1:0", TestListener: "127.0.0.1:0",
		HealthCheck: routing.HealthCheck{Path: "/health", Interval: jsontime.Duration(500 * time.Millisecond),
			Timeout: jsontime.Duration(400 * time.Millisecond), HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"},
		DeregistrationDelay: jsontime.Duration(time.Second),
		TargetGroups: []routing.TargetGroupSpec{
			{Name: "web-1", Targets: []routing.TargetSpec{{ID: "blue", Address: blue}}},
			{Name: "web-2", Targets: []routing.TargetSpec{{ID: "green", Address: green}}},
		},
		ProductionWeights: map[string]int{"web-1": 100},
		TestTargetGroup:   "web-2",
	})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}

	// Continuous load on the test listener (green) and production (blue).
	ctx, stopLoad := context.WithCancel(t.Context())
	defer stopLoad()
	var first500 atomic.Int64 // unix ms when a client first saw a 500 from green
	for _, url := range []string{"http://" + st.TestAddress + "/", "http://" + st.ProductionAddress + "/"} {
		go load(ctx, url, func(code int) {
			if code == http.StatusInternalServerError && url == "http://"+st.TestAddress+"/" {
				first500.CompareAndSwap(0, time.Now().UnixMilli())
			}
		})
	}

	a := errorRate("100 * errors / requests")
	a.Name, a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = "error-rate", 1, 1, 1
	a.Threshold, a.ComparisonOperator = 5, manifest.GreaterThanThreshold
	rec := newRecorder()
	w := NewWatcher(routerSource{r}, "web", "web-2", []*manifest.Alarm{a}, time.Now(), rec.onChange)
	runWatcher(t, w)

	rec.next(t, a.Name) // initial INSUFFICIENT_DATA
	if tr := rec.next(t, a.Name); tr.State != StateOK {
		t.Fatalf("with healthy green: %+v", tr)
	}
	blueFailing.Store(true) // blue's errors are not green's
	time.Sleep(300 * time.Millisecond)
	greenFailing.Store(true)
	tr := rec.next(t, a.Name)
	seen := time.Now()
	if tr.State != StateAlarm {
		t.Fatalf("after green failed: %+v", tr)
	}
	firstBad := time.UnixMilli(first500.Load())
	if first500.Load() == 0 {
		t.Fatal("no client saw a 500")
	}
	// In the metrics' own time, the alarm fires on the first period holding enough
	// failures: one or two slots after the first 500 when the machine is idle; the
	// bound leaves room for ticks a loaded machine delays.
	if lag := tr.Time.Sub(firstBad); lag > 20*metrics.SlotDuration {
		t.Errorf("ALARM at %v, %v after the first 500 (%v); want within 20 slots", tr.Time, lag, firstBad)
	}
	t.Logf("first 500 at %v; ALARM for the period ending %v (DetectedAfter %v), reported %v after the first 500; reason: %s",
		firstBad.Format("15:04:05.000"), tr.Time.Format("15:04:05.000"), tr.DetectedAfter, seen.Sub(firstBad).Round(time.Millisecond), tr.Reason)
}

// load sends requests to url one after another until ctx ends.
func load(ctx context.Context, url string, seen func(code int)) {
	client := &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		seen(resp.StatusCode)
		time.Sleep(2 * time.Millisecond)
	}
}
