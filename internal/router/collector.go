package router

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Collector returns a Prometheus collector that reads the router's own counters at
// scrape time (the hot path never touches client_golang). Counts cover completed
// 100 ms slots, so a scrape lags traffic by at most one slot.
func (r *Router) Collector() prometheus.Collector { return &collector{r: r} }

var (
	groupLabels  = []string{"service", "target_group"}
	descRequests = prometheus.NewDesc("greenlight_router_requests_total",
		"Requests routed to the target group (RequestCount), on both listeners.", groupLabels, nil)
	descResponses = prometheus.NewDesc("greenlight_router_responses_total",
		"Responses by source (target: HTTPCode_Target_nXX_Count; elb: HTTPCode_ELB_5XX_Count, the router answered itself) and status class.",
		append(groupLabels[:2:2], "source", "class"), nil)
	descLatency = prometheus.NewDesc("greenlight_router_target_response_time_seconds",
		"Target response time until the response headers (TargetResponseTime).", groupLabels, nil)
	descHealthy = prometheus.NewDesc("greenlight_router_healthy_targets",
		"Registered targets that are healthy (HealthyHostCount).", groupLabels, nil)
	descUnhealthy = prometheus.NewDesc("greenlight_router_unhealthy_targets",
		"Registered targets that are unhealthy (UnHealthyHostCount).", groupLabels, nil)
	descConnectErrors = prometheus.NewDesc("greenlight_router_target_connection_errors_total",
		"Connects to the group's targets that failed (TargetConnectionErrorCount); the request went to another target, or got 502/504.", groupLabels, nil)
	descInFlight = prometheus.NewDesc("greenlight_router_in_flight_requests",
		"Requests and connections being served by the group's targets, draining ones included.", groupLabels, nil)
)

// latencyBounds are the exported histogram's upper bounds in seconds.
var latencyBounds = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type collector struct{ r *Router }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRequests, descResponses, descLatency, descHealthy, descUnhealthy, descInFlight, descConnectErrors} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, svc := range c.r.serviceList() {
		for _, gs := range svc.groupSnapshots() {
			collectGroup(ch, svc.name, gs)
		}
	}
}

// groupSnapshot is what a scrape reports for one target group.
type groupSnapshot struct {
	name               string
	total              metrics.Slot
	healthy, unhealthy int
	inFlight           int64
	connectErrors      uint64
}

func (s *service) groupSnapshots() []groupSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	index := map[string]int{}
	out := make([]groupSnapshot, 0, len(s.spec.TargetGroups))
	for _, g := range s.spec.TargetGroups {
		index[g.Name] = len(out)
		grp := s.groups[g.Name]
		out = append(out, groupSnapshot{name: g.Name, total: grp.totals(), connectErrors: grp.connectErrors.Load()})
	}
	for _, t := range s.targets {
		i, ok := index[t.group.name]
		if !ok {
			continue
		}
		out[i].inFlight += t.inflight.Load()
		if t.removed.Load() {
			continue
		}
		switch t.health {
		case TargetHealthy:
			out[i].healthy++
		case TargetUnhealthy:
			out[i].unhealthy++
		}
	}
	return out
}

func collectGroup(ch chan<- prometheus.Metric, service string, gs groupSnapshot) {
	labels := []string{service, gs.name}
	t := gs.total
	ch <- prometheus.MustNewConstMetric(descRequests, prometheus.CounterValue, float64(t.Requests), labels...)
	for _, rc := range []struct {
		source, class string
		n             uint64
	}{
		{"target", "2xx", t.Target2XX},
		{"target", "3xx", t.Target3XX},
		{"target", "4xx", t.Target4XX},
		{"target", "5xx", t.Target5XX},
		{"elb", "5xx", t.ELB5XX},
	} {
		ch <- prometheus.MustNewConstMetric(descResponses, prometheus.CounterValue, float64(rc.n), service, gs.name, rc.source, rc.class)
	}
	ch <- prometheus.MustNewConstHistogram(descLatency, t.Latency.Count, t.Latency.Sum, coarseBuckets(&t.Latency), labels...)
	ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, float64(gs.healthy), labels...)
	ch <- prometheus.MustNewConstMetric(descUnhealthy, prometheus.GaugeValue, float64(gs.unhealthy), labels...)
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(gs.inFlight), labels...)
	ch <- prometheus.MustNewConstMetric(descConnectErrors, prometheus.CounterValue, float64(gs.connectErrors), labels...)
}

// coarseBuckets folds the fine histogram into cumulative counts per exported
// bound: a fine bucket counts under the first bound at or above its midpoint, so
// a count is off only for samples within 3.2% of a bound.
func coarseBuckets(h *metrics.Histogram) map[float64]uint64 {
	counts := make([]uint64, len(latencyBounds))
	for _, b := range h.Buckets {
		lo, hi := metrics.BucketBounds(b.Index)
		mid := (lo + hi) / 2
		for i, bound := range latencyBounds {
			if mid <= bound {
				counts[i] += b.Count
				break
			}
		}
	}
	out := make(map[float64]uint64, len(latencyBounds))
	var cum uint64
	for i, bound := range latencyBounds {
		cum += counts[i]
		out[bound] = cum
	}
	return out
}
