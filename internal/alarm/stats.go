package alarm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Statistics, as CloudWatch names them.
const (
	StatSum         = "Sum"
	StatAverage     = "Average"
	StatMinimum     = "Minimum"
	StatMaximum     = "Maximum"
	StatSampleCount = "SampleCount"
)

// HTTPCode_Target_3XX_Count has no constant in manifest (no alarm in the examples
// uses it) but the router counts it, so alarms may.
const metricTarget3XX = "HTTPCode_Target_3XX_Count"

// period is the traffic of one target group over one alarm period: the sum of the
// slots it covers. Latency buckets are summed densely and only when a percentile
// needs them, which keeps evaluating an hour of slots cheap.
type period struct {
	requests, t2xx, t3xx, t4xx, t5xx, elb5xx uint64
	latency                                  metrics.Histogram // Buckets filled by finish
	buckets                                  *[metrics.NumBuckets]uint64
}

func (p *period) add(s *metrics.Slot) {
	p.requests += s.Requests
	p.t2xx += s.Target2XX
	p.t3xx += s.Target3XX
	p.t4xx += s.Target4XX
	p.t5xx += s.Target5XX
	p.elb5xx += s.ELB5XX
	l := &s.Latency
	if l.Count == 0 {
		return
	}
	if p.latency.Count == 0 || l.Min < p.latency.Min {
		p.latency.Min = l.Min
	}
	if p.latency.Count == 0 || l.Max > p.latency.Max {
		p.latency.Max = l.Max
	}
	p.latency.Count += l.Count
	p.latency.Sum += l.Sum
	if p.buckets != nil {
		for _, b := range l.Buckets {
			if b.Index >= 0 && b.Index < metrics.NumBuckets {
				p.buckets[b.Index] += b.Count
			}
		}
	}
}

// finish turns the dense buckets into the histogram's sparse ones.
func (p *period) finish() {
	if p.buckets == nil {
		return
	}
	for i, n := range p.buckets {
		if n > 0 {
			p.latency.Buckets = append(p.latency.Buckets, metrics.Bucket{Index: i, Count: n})
		}
	}
}

// statistic is a compiled statistic of one metric.
type statistic struct {
	metric     string
	name       string  // "Sum" ... or "p99"
	percentile float64 // 0..1 for pNN, -1 otherwise
}

func (s statistic) needsBuckets() bool {
	return s.percentile >= 0 && s.metric == manifest.MetricTargetRespTime
}

func parseStatistic(metric, stat string) (statistic, error) {
	s := statistic{metric: metric, name: stat, percentile: -1}
	switch metric {
	case manifest.MetricRequestCount, manifest.MetricTarget5XX, manifest.MetricTarget4XX,
		manifest.MetricTarget2XX, metricTarget3XX, manifest.MetricELB5XX, manifest.MetricTargetRespTime:
	default:
		return s, fmt.Errorf("metric %q is not recorded by the router; allowed: %s, %s, %s, %s, %s, %s, %s", metric,
			manifest.MetricRequestCount, manifest.MetricTarget5XX, manifest.MetricTarget4XX, manifest.MetricTarget2XX,
			metricTarget3XX, manifest.MetricELB5XX, manifest.MetricTargetRespTime)
	}
	switch stat {
	case StatSum, StatAverage, StatMinimum, StatMaximum, StatSampleCount:
		return s, nil
	}
	q, err := parsePercentile(stat)
	if err != nil {
		return s, err
	}
	s.percentile = q
	return s, nil
}

// parsePercentile reads CloudWatch's pNN.NN extended statistic as a fraction.
func parsePercentile(stat string) (float64, error) {
	num, ok := strings.CutPrefix(stat, "p")
	if ok && num != "" && strings.Trim(num, "0123456789.") == "" {
		if v, err := strconv.ParseFloat(num, 64); err == nil && v >= 0 && v <= 100 {
			return v / 100, nil
		}
	}
	return 0, fmt.Errorf("statistic %q is not one of Sum, Average, Minimum, Maximum, SampleCount or a percentile p0 ... p100 (p99, p99.9)", stat)
}

// value computes the statistic over one period. ok is false when the period has no
// datapoint: ALB publishes nothing for a period without requests (ELB User Guide,
// "CloudWatch metrics for your Application Load Balancer": "If there are no requests
// flowing through the load balancer or no data for a metric, the metric is not
// reported"), and TargetResponseTime has no datapoint when no target answered.
//
// Count metrics (RequestCount, HTTPCode_*) are published as samples of 1 per request,
// the same guide says: "The most useful statistic is Sum. Note that Minimum, Maximum,
// and Average all return 1." So Sum and SampleCount are the count, and Minimum,
// Maximum, Average and percentiles are 1 when the count is positive. One deliberate
// difference: ALB reports an HTTPCode_* count only when it is nonzero, which on AWS
// forces FILL(m, 0) into every error-rate expression; greenlight reports 0 for a
// period that had requests, so "100 * errors / requests" works as written.
func (s statistic) value(p *period) (v float64, samples float64, ok bool) {
	if p.requests == 0 {
		return 0, 0, false
	}
	if s.metric == manifest.MetricTargetRespTime {
		return s.latencyValue(&p.latency)
	}
	n := float64(s.count(p))
	switch {
	case s.name == StatSum || s.name == StatSampleCount:
		return n, n, true
	case n == 0:
		return 0, 0, false
	default:
		return 1, n, true
	}
}

func (s statistic) count(p *period) uint64 {
	switch s.metric {
	case manifest.MetricRequestCount:
		return p.requests
	case manifest.MetricTarget5XX:
		return p.t5xx
	case manifest.MetricTarget4XX:
		return p.t4xx
	case manifest.MetricTarget2XX:
		return p.t2xx
	case metricTarget3XX:
		return p.t3xx
	case manifest.MetricELB5XX:
		return p.elb5xx
	}
	return 0
}

// latencyValue computes a TargetResponseTime statistic in seconds. Percentiles are
// always evaluated, whatever the sample count: that is CloudWatch's default for
// EvaluateLowSampleCountPercentile ("If you specify evaluate or omit this parameter,
// the alarm is always evaluated", PutMetricAlarm API reference).
func (s statistic) latencyValue(h *metrics.Histogram) (float64, float64, bool) {
	if h.Count == 0 {
		return 0, 0, false
	}
	n := float64(h.Count)
	switch s.name {
	case StatSum:
		return h.Sum, n, true
	case StatSampleCount:
		return n, n, true
	case StatAverage:
		return h.Mean(), n, true
	case StatMinimum:
		return h.Min, n, true
	case StatMaximum:
		return h.Max, n, true
	}
	return h.Quantile(s.percentile), n, true
}
