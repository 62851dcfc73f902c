package router

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// sumSeries adds up every completed slot of one group.
func sumSeries(t testing.TB, r *Router, service, group string) metrics.Slot {
	t.Helper()
	series, ok := r.Series(service, 0)
	if !ok {
		t.Fatalf("no series for %s", service)
	}
	var sum metrics.Slot
	for _, s := range series {
		if s.TargetGroup != group {
			continue
		}
		for i := range s.Slots {
			sum.Add(&s.Slots[i])
		}
	}
	return sum
}

func TestMetricsCountEveryClassExactly(t *testing.T) {
	r := newTestRouter(t)
	blue, green := startBackend(t, "blue"), startBackend(t, "green")
	spec := twoGroupSpec("count", []TargetSpec{blue.target("b1")}, []TargetSpec{green.target("g1")})
	spec.TestListener = "127.0.0.1:0"
	spec.TestTargetGroup = "green"
	st := mustApply(t, r, spec)
	waitState(t, r, "count", "b1", TargetHealthy)
	waitState(t, r, "count", "g1", TargetHealthy)
	c := newClient()
	prod, test := "http://"+st.ProductionAddress, "http://"+st.TestAddress
	plan := map[string]int{"200": 7, "204": 3, "302": 4, "404": 5, "503": 6}
	for code, n := range plan {
		for range n {
			get(t, c, prod+"/status/"+code)
		}
	}
	for range 9 { // test listener traffic counts for the group that served it
		get(t, c, test+"/status/201")
	}
	// An unreachable target: the router answers 502 (ELB 5XX).
	blue.stop()
	for range 2 {
		if code, _ := get(t, c, prod+"/"); code != http.StatusBadGateway {
			t.Fatalf("stopped target: status %d, want 502", code)
		}
	}

	want := metrics.Slot{Requests: 27, Target2XX: 10, Target3XX: 4, Target4XX: 5, Target5XX: 6, ELB5XX: 2}
	eventually(t, 10*time.Second, "blue counts", func() bool {
		return sameCounts(sumSeries(t, r, "count", "blue"), want)
	})
	wantGreen := metrics.Slot{Requests: 9, Target2XX: 9}
	eventually(t, 10*time.Second, "green counts", func() bool {
		return sameCounts(sumSeries(t, r, "count", "green"), wantGreen)
	})
	if got := sumSeries(t, r, "count", "blue").Latency.Count; got != 25 {
		t.Fatalf("latency samples %d, want 25 (target responses only)", got)
	}
}

func sameCounts(a, b metrics.Slot) bool {
	return a.Requests == b.Requests && a.Target2XX == b.Target2XX && a.Target3XX == b.Target3XX &&
		a.Target4XX == b.Target4XX && a.Target5XX == b.Target5XX && a.ELB5XX == b.ELB5XX
}

func TestLatencyPercentilesWithinHistogramError(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("lat", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "lat", "b1", TargetHealthy)
	c := newClient()
	var client []float64
	for i := range 60 {
		d := "20ms"
		if i%4 == 0 {
			d = "80ms"
		}
		start := time.Now()
		get(t, c, "http://"+st.ProductionAddress+"/sleep/"+d)
		client = append(client, time.Since(start).Seconds())
	}
	slices.Sort(client)
	var h metrics.Histogram
	eventually(t, 10*time.Second, "60 latency samples", func() bool {
		h = sumSeries(t, r, "lat", "blue").Latency
		return h.Count == 60
	})
	const bucketError = 0.032
	for _, q := range []struct {
		q     float64
		floor float64 // what the target itself took
	}{{0.5, 0.020}, {0.99, 0.080}} {
		got := h.Quantile(q.q)
		clientQ := client[int(math.Ceil(q.q*float64(len(client))))-1]
		// The router's measure lies within what the target took and what the
		// client saw, give or take one histogram bucket.
		if got < q.floor*(1-bucketError) || got > clientQ*(1+bucketError) {
			t.Errorf("p%v = %.4fs, want within [%.4f, %.4f]", q.q*100, got, q.floor, clientQ)
		}
	}
}

func TestSeriesHasNoGaps(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	st := mustApply(t, r, twoGroupSpec("gaps", []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, "gaps", "b1", TargetHealthy)
	c := newClient()
	// The slot holding the first request starts before now: ask from just before it.
	since := metrics.SlotStart(time.Now()) - 1
	get(t, c, "http://"+st.ProductionAddress+"/")
	time.Sleep(700 * time.Millisecond) // idle slots must still be present
	get(t, c, "http://"+st.ProductionAddress+"/")
	var series []metrics.Series
	eventually(t, 10*time.Second, "both requests in completed slots", func() bool {
		series, _ = r.Series("gaps", since)
		var n uint64
		for _, s := range series[0].Slots {
			n += s.Requests
		}
		return n == 2
	})
	if len(series) != 2 || series[0].TargetGroup != "blue" || series[1].TargetGroup != "green" {
		t.Fatalf("series groups = %+v, want blue and green", series)
	}
	for _, s := range series {
		if len(s.Slots) < 7 {
			t.Fatalf("%s: %d slots over >700ms, want >= 7", s.TargetGroup, len(s.Slots))
		}
		for i, slot := range s.Slots {
			if slot.Start <= since || slot.Start%100 != 0 {
				t.Fatalf("%s: slot start %d not after %d or not aligned", s.TargetGroup, slot.Start, since)
			}
			if i > 0 && slot.Start != s.Slots[i-1].Start+100 {
				t.Fatalf("%s: gap between %d and %d", s.TargetGroup, s.Slots[i-1].Start, slot.Start)
			}
		}
	}
	last := series[0].Slots[len(series[0].Slots)-1].Start
	if later, _ := r.Series("gaps", last); len(later[0].Slots) != 0 && later[0].Slots[0].Start <= last {
		t.Fatalf("Series(since=%d) returned slot %d", last, later[0].Slots[0].Start)
	}
	if _, ok := r.Series("nope", 0); ok {
		t.Fatal("Series of an unknown service reported ok")
	}
}

func TestPrometheusExport(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	bad := startBackend(t, "bad")
	bad.health.Store(http.StatusInternalServerError)
	spec := twoGroupSpec("prom", []TargetSpec{b.target("b1")}, []TargetSpec{bad.target("x1")})
	st := mustApply(t, r, spec)
	waitState(t, r, "prom", "b1", TargetHealthy)
	waitState(t, r, "prom", "x1", TargetUnhealthy)
	c := newClient()
	for range 5 {
		get(t, c, "http://"+st.ProductionAddress+"/sleep/3ms")
	}
	for range 2 {
		get(t, c, "http://"+st.ProductionAddress+"/status/500")
	}
	eventually(t, 10*time.Second, "7 requests in slots", func() bool {
		return sumSeries(t, r, "prom", "blue").Requests == 7
	})

	problems, err := testutil.CollectAndLint(r.Collector())
	if err != nil || len(problems) > 0 {
		t.Fatalf("metrics lint: %v %+v", err, problems)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r.Collector())
	srv := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req, _ := http.NewRequest(http.MethodGet, "/metrics", nil)
	rec := &recorder{header: http.Header{}}
	srv.ServeHTTP(rec, req)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(rec.body.Bytes()))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, rec.body.String())
	}
	blue := map[string]string{"service": "prom", "target_group": "blue"}
	green := map[string]string{"service": "prom", "target_group": "green"}
	checks := []struct {
		family string
		labels map[string]string
		want   float64
	}{
		{"greenlight_router_requests_total", blue, 7},
		{"greenlight_router_responses_total", with(blue, "source", "target", "class", "2xx"), 5},
		{"greenlight_router_responses_total", with(blue, "source", "target", "class", "5xx"), 2},
		{"greenlight_router_responses_total", with(blue, "source", "elb", "class", "5xx"), 0},
		{"greenlight_router_healthy_targets", blue, 1},
		{"greenlight_router_unhealthy_targets", green, 1},
		{"greenlight_router_healthy_targets", green, 0},
	}
	for _, ch := range checks {
		got, ok := metricValue(families[ch.family], ch.labels)
		if !ok || got != ch.want {
			t.Errorf("%s%v = %v (found %v), want %v", ch.family, ch.labels, got, ok, ch.want)
		}
	}
	h := findMetric(families["greenlight_router_target_response_time_seconds"], blue).GetHistogram()
	if h.GetSampleCount() != 7 {
		t.Fatalf("histogram count %d, want 7", h.GetSampleCount())
	}
	// Five samples of at least 3ms: none under 1ms, all 7 by 10s.
	for _, bk := range h.GetBucket() {
		if bk.GetUpperBound() == 0.001 && bk.GetCumulativeCount() > 2 {
			t.Errorf("le=0.001 holds %d, want <= 2 (only the fast 500s)", bk.GetCumulativeCount())
		}
		if bk.GetUpperBound() == 10 && bk.GetCumulativeCount() != 7 {
			t.Errorf("le=10 holds %d, want 7", bk.GetCumulativeCount())
		}
	}
	if !strings.Contains(rec.body.String(), "# TYPE greenlight_router_target_response_time_seconds histogram") {
		t.Fatal("latency not exported as a histogram")
	}
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func findMetric(f *dto.MetricFamily, labels map[string]string) *dto.Metric {
	for _, m := range f.GetMetric() {
		match := len(m.GetLabel()) == len(labels)
		for _, lp := range m.GetLabel() {
			if labels[lp.GetName()] != lp.GetValue() {
				match = false
			}
		}
		if match {
			return m
		}
	}
	return nil
}

func metricValue(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	m := findMetric(f, labels)
	if m == nil {
		return 0, false
	}
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue(), true
	case m.Gauge != nil:
		return m.GetGauge().GetValue(), true
	}
	return 0, false
}

// recorder is a minimal ResponseWriter for the promhttp handler.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(code int)        { r.code = code }
