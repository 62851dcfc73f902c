package alarm

import (
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// hourOfSlots is an hour of busy traffic: 50 requests per slot, 1 in 100 failing,
// latencies spread over a few milliseconds.
func hourOfSlots() []metrics.Slot {
	slots := make([]metrics.Slot, int(time.Hour/metrics.SlotDuration))
	for i := range slots {
		s := &slots[i]
		s.Start = t0.UnixMilli() + int64(i)*100
		for j := range 50 {
			s.Requests++
			if (i*50+j)%100 == 0 {
				s.Target5XX++
			} else {
				s.Target2XX++
			}
			s.Latency.Observe(time.Duration(1000+(i*7+j*13)%9000) * time.Microsecond)
		}
	}
	return slots
}

func BenchmarkEvaluate(b *testing.B) {
	slots := hourOfSlots()
	now := t0.Add(time.Hour)
	rate := errorRate("100 * errors / requests")
	rate.Name, rate.Period, rate.EvaluationPeriods, rate.DatapointsToAlarm = "error-rate", 60, 5, 3
	rate.Threshold, rate.ComparisonOperator = 5, manifest.GreaterThanThreshold
	p99 := &manifest.Alarm{Name: "p99", MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: "p99",
		Period: 60, EvaluationPeriods: 5, Threshold: 0.5, ComparisonOperator: manifest.GreaterThanThreshold}
	fast := errorAlarm(3, 2, manifest.MissingDataMissing)
	for _, a := range []*manifest.Alarm{rate, p99, fast} {
		b.Run(a.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if ev := Evaluate(a, slots, now, StateOK); ev.State != StateOK {
					b.Fatalf("%s: %s", ev.State, ev.Reason)
				}
			}
		})
	}
}
