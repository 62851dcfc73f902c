package alarm

import (
	"math"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// onePeriod evaluates a 1-of-1 alarm on a one-second period holding slots and returns
// the datapoint.
func onePeriod(t *testing.T, a *manifest.Alarm, slots []metrics.Slot) Datapoint {
	t.Helper()
	a.Name, a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = "a", 1, 1, 1
	a.ComparisonOperator, a.Threshold = manifest.GreaterThanThreshold, 0
	ev := Evaluate(a, slots, t0.Add(time.Second), StateOK)
	if ev.Reason == "" || len(ev.Datapoints) != evaluationRange(1) {
		t.Fatalf("evaluation %+v", ev)
	}
	return ev.Datapoints[len(ev.Datapoints)-1]
}

// trafficSlots spreads requests over the 10 slots of the second starting at t0:
// requests[i] requests in slot i, with latencies taken in order from latencies and
// 5XX responses from fails.
func trafficSlots(requests []int, fails int, latencies []time.Duration) []metrics.Slot {
	slots := make([]metrics.Slot, 10)
	next := 0
	for i := range slots {
		slots[i].Start = t0.UnixMilli() + int64(i)*100
		if i >= len(requests) {
			continue
		}
		for range requests[i] {
			slots[i].Requests++
			if fails > 0 {
				slots[i].Target5XX++
				fails--
			} else {
				slots[i].Target2XX++
			}
			if next < len(latencies) {
				slots[i].Latency.Observe(latencies[next])
				next++
			}
		}
	}
	return slots
}

func TestCountMetricStatistics(t *testing.T) {
	slots := trafficSlots([]int{5, 5, 5, 5, 5}, 0, nil) // 25 requests, no errors
	for stat, want := range map[string]float64{StatSum: 25, StatSampleCount: 25, StatAverage: 1, StatMinimum: 1, StatMaximum: 1, "p99": 1} {
		d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricRequestCount, Statistic: stat}, slots)
		if d.Missing || d.Value != want {
			t.Errorf("RequestCount %s = %+v, want %v", stat, d, want)
		}
	}
	// A period with requests and no 5XX has a zero Sum and SampleCount, and no
	// Average, Minimum or Maximum (there is no sample to average).
	for stat, want := range map[string]float64{StatSum: 0, StatSampleCount: 0} {
		d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricTarget5XX, Statistic: stat}, slots)
		if d.Missing || d.Value != want {
			t.Errorf("5XX %s = %+v, want %v", stat, d, want)
		}
	}
	for _, stat := range []string{StatAverage, StatMinimum, StatMaximum} {
		if d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricTarget5XX, Statistic: stat}, slots); !d.Missing {
			t.Errorf("5XX %s with no errors = %+v, want missing", stat, d)
		}
	}
	// No requests: no datapoint for any metric and statistic.
	empty := trafficSlots(nil, 0, nil)
	for _, metric := range []string{manifest.MetricRequestCount, manifest.MetricTarget5XX, manifest.MetricTargetRespTime} {
		for _, stat := range []string{StatSum, StatSampleCount, StatAverage} {
			if d := onePeriod(t, &manifest.Alarm{MetricName: metric, Statistic: stat}, empty); !d.Missing {
				t.Errorf("%s %s without requests = %+v, want missing", metric, stat, d)
			}
		}
	}
}

func TestEachCountMetric(t *testing.T) {
	slot := metrics.Slot{Start: t0.UnixMilli(), Requests: 21, Target2XX: 10, Target4XX: 4, Target5XX: 3, ELB5XX: 2}
	slot.Target3XX = 2
	for metric, want := range map[string]float64{
		manifest.MetricRequestCount: 21, manifest.MetricTarget2XX: 10, metricTarget3XX: 2,
		manifest.MetricTarget4XX: 4, manifest.MetricTarget5XX: 3, manifest.MetricELB5XX: 2,
	} {
		if d := onePeriod(t, &manifest.Alarm{MetricName: metric, Statistic: StatSum}, []metrics.Slot{slot}); d.Value != want {
			t.Errorf("%s Sum = %v, want %v", metric, d.Value, want)
		}
	}
}

func TestLatencyStatistics(t *testing.T) {
	// 1000 responses taking 1 ms, 2 ms, ... 1000 ms, spread over the period's slots.
	latencies := make([]time.Duration, 1000)
	var reference metrics.Histogram
	for i := range latencies {
		latencies[i] = time.Duration(i+1) * time.Millisecond
		reference.Observe(latencies[i])
	}
	slots := trafficSlots([]int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 0, latencies)
	exact := map[string]float64{
		StatSampleCount: 1000, StatSum: 500.5, StatAverage: 0.5005, StatMinimum: 0.001, StatMaximum: 1.0,
	}
	for stat, want := range exact {
		d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricTargetRespTime, Statistic: stat}, slots)
		if d.Missing || math.Abs(d.Value-want) > 1e-9 {
			t.Errorf("TargetResponseTime %s = %+v, want %v", stat, d, want)
		}
	}
	// Percentiles come from the merged histogram: the same value as one histogram of
	// all samples, within the layout's 3.2% of the true percentile.
	for stat, truth := range map[string]float64{"p50": 0.5, "p99": 0.99, "p99.9": 0.999, "p100": 1.0} {
		d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: stat}, slots)
		q, _ := parsePercentile(stat)
		if want := reference.Quantile(q); d.Value != want {
			t.Errorf("%s = %v, want the single-histogram value %v", stat, d.Value, want)
		}
		if math.Abs(d.Value-truth)/truth > 0.032 {
			t.Errorf("%s = %v, more than 3.2%% from %v", stat, d.Value, truth)
		}
	}
}

func TestLatencyWithoutTargetResponse(t *testing.T) {
	// Requests the router answered itself (ELB 5XX) have no target response time.
	slot := metrics.Slot{Start: t0.UnixMilli(), Requests: 5, ELB5XX: 5}
	if d := onePeriod(t, &manifest.Alarm{MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: "p99"}, []metrics.Slot{slot}); !d.Missing {
		t.Errorf("p99 with no target responses = %+v, want missing", d)
	}
}

func errorRate(expression string) *manifest.Alarm {
	return &manifest.Alarm{MetricQueries: []*manifest.MetricQuery{
		{ID: "errors", MetricName: manifest.MetricTarget5XX, Stat: StatSum},
		{ID: "requests", MetricName: manifest.MetricRequestCount, Stat: StatSum},
		{ID: "rate", Expression: expression, ReturnData: true},
	}}
}

func TestMetricMath(t *testing.T) {
	three := trafficSlots([]int{6, 6, 6, 6, 6, 6, 6, 6, 6, 6}, 3, nil) // 3 errors in 60 requests
	tests := []struct {
		name  string
		alarm *manifest.Alarm
		slots []metrics.Slot
		want  float64
		ok    bool
	}{
		{"rate", errorRate("100 * errors / requests"), three, 5, true},
		{"rate without errors", errorRate("100 * errors / requests"), trafficSlots([]int{6}, 0, nil), 0, true},
		{"rate without requests", errorRate("100 * errors / requests"), trafficSlots(nil, 0, nil), 0, false},
		{"IF without requests", errorRate("IF(requests > 0, errors / requests, 0)"), trafficSlots(nil, 0, nil), 0, false},
		{"division by zero", errorRate("errors / (requests - requests)"), three, 0, false},
		{"constant", errorRate("2 + 2"), three, 4, true},
	}
	chained := errorRate("100 * errors / requests")
	chained.MetricQueries[2].ReturnData = false
	chained.MetricQueries = append(chained.MetricQueries, &manifest.MetricQuery{ID: "e2", Expression: "MAX(rate, 1) * 2", ReturnData: true})
	tests = append(tests, struct {
		name  string
		alarm *manifest.Alarm
		slots []metrics.Slot
		want  float64
		ok    bool
	}{"expression of an expression", chained, three, 10, true})
	cyclic := errorRate("rate + 1")
	tests = append(tests, struct {
		name  string
		alarm *manifest.Alarm
		slots []metrics.Slot
		want  float64
		ok    bool
	}{"cycle", cyclic, three, 0, false})
	for _, tc := range tests {
		d := onePeriod(t, tc.alarm, tc.slots)
		if d.Missing == tc.ok || (tc.ok && math.Abs(d.Value-tc.want) > 1e-12) {
			t.Errorf("%s: %+v, want %v (ok %v)", tc.name, d, tc.want, tc.ok)
		}
	}
}

func TestErrorRateAlarm(t *testing.T) {
	// The seed's error-rate alarm: more than 5% of requests failing, 2 of 3 seconds.
	a := errorRate("100 * errors / requests")
	a.Name, a.Period, a.EvaluationPeriods, a.DatapointsToAlarm = "error-rate", 1, 3, 2
	a.Threshold, a.ComparisonOperator = 5, manifest.GreaterThanThreshold
	slots := patternSlots(t, "0 0 0 X X", t0)
	ev := Evaluate(a, slots, t0.Add(5*time.Second), StateOK)
	if ev.State != StateAlarm || ev.Datapoints[4].Value != 100 {
		t.Fatalf("%s %+v: %s", ev.State, ev.Datapoints, ev.Reason)
	}
	want := "Threshold Crossed: 2 out of the last 3 datapoints [100.0 (27/11/26 01:02:04), 100.0 (27/11/26 01:02:03)] were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."
	if ev.Reason != want {
		t.Errorf("reason\n%s\nwant\n%s", ev.Reason, want)
	}
}

func TestParsePercentile(t *testing.T) {
	for stat, want := range map[string]float64{"p50": 0.5, "p99": 0.99, "p99.9": 0.999, "p0": 0, "p100": 1} {
		if q, err := parsePercentile(stat); err != nil || math.Abs(q-want) > 1e-12 {
			t.Errorf("%s = %v, %v", stat, q, err)
		}
	}
	for _, bad := range []string{"p", "p101", "p-1", "P99", "p9e1", "tm99", "avg", "p99.9x", "pNaN", "pInf", "p0x1p4", "p1_0", "p.", "p9..9"} {
		if _, err := parsePercentile(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
