package local

import (
	"math"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// slotsFrom makes n consecutive slots from startMs, each with reqs requests of
// which fail answer 5xx, every request taking latency.
func slotsFrom(startMs int64, n int, reqs, fail uint64, latency time.Duration) []metrics.Slot {
	var out []metrics.Slot
	for i := range n {
		s := metrics.Slot{Start: startMs + int64(i)*100, Requests: reqs, Target5XX: fail, Target2XX: reqs - fail}
		for range reqs {
			s.Latency.Observe(latency)
		}
		out = append(out, s)
	}
	return out
}

func TestPerSecondFoldsWholeSecondsOnly(t *testing.T) {
	// 0.5 s of one second, two whole seconds, then 0.3 s of the second in progress.
	slots := slotsFrom(10_500, 5, 2, 0, 10*time.Millisecond)
	slots = append(slots, slotsFrom(11_000, 10, 3, 1, 20*time.Millisecond)...)
	slots = append(slots, slotsFrom(12_000, 10, 0, 0, 0)...)
	slots = append(slots, slotsFrom(13_000, 3, 5, 5, time.Second)...)
	points := perSecond(slots)
	if len(points) != 2 {
		t.Fatalf("%d points, want 2 (the whole seconds, not the partial ones at either end): %+v", len(points), points)
	}
	busy, idle := points[0], points[1]
	if !busy.Time.Equal(time.UnixMilli(11_000)) || !idle.Time.Equal(time.UnixMilli(12_000)) {
		t.Errorf("points at %s and %s, want 11 s and 12 s", busy.Time, idle.Time)
	}
	if busy.Requests != 30 || math.Abs(busy.ErrorRate-1.0/3) > 1e-9 || math.Abs(busy.P99-0.020) > 0.020*0.04 {
		t.Errorf("busy second %+v: want 30 requests, a third 5xx, p99 about 20 ms", busy)
	}
	if idle.Requests != 0 || idle.ErrorRate != 0 || idle.P99 != 0 {
		t.Errorf("idle second %+v: want zeros", idle)
	}
	if got := perSecond(nil); got == nil || len(got) != 0 {
		t.Errorf("no slots: %#v, want an empty list", got)
	}
}

func TestTargetGroupMetricsJoinsRolesWeightsAndHealth(t *testing.T) {
	st := &routing.ServiceStatus{
		Spec: routing.ServiceSpec{
			TargetGroups:      []routing.TargetGroupSpec{{Name: "svc-1"}, {Name: "svc-2"}},
			ProductionWeights: map[string]int{"svc-1": 80, "svc-2": 20}, TestTargetGroup: "svc-2",
		},
		TargetGroups: []routing.TargetGroupStatus{
			{Name: "svc-2", Targets: []routing.TargetStatus{{TargetSpec: routing.TargetSpec{ID: "t2", Address: "127.0.0.1:2"}, State: routing.TargetUnhealthy, Reason: "status 500"}}},
			{Name: "svc-1", Targets: []routing.TargetStatus{{TargetSpec: routing.TargetSpec{ID: "t1", Address: "127.0.0.1:1"}, State: routing.TargetHealthy}}},
		},
	}
	series := []metrics.Series{{TargetGroup: "svc-2", Slots: slotsFrom(20_000, 10, 1, 1, time.Millisecond)}}
	got := targetGroupMetrics(st, series, map[string]string{"svc-1": control.RoleOriginal, "svc-2": control.RoleReplacement})
	if len(got) != 2 {
		t.Fatalf("%d groups", len(got))
	}
	blue, green := got[0], got[1]
	if blue.TargetGroup != "svc-1" || blue.Role != control.RoleOriginal || blue.ProductionWeight != 80 || blue.Test ||
		len(blue.Targets) != 1 || blue.Targets[0].State != "healthy" || len(blue.Points) != 0 {
		t.Errorf("original %+v", blue)
	}
	if green.Role != control.RoleReplacement || green.ProductionWeight != 20 || !green.Test || green.Targets[0].Reason != "status 500" ||
		len(green.Points) != 1 || green.Points[0].ErrorRate != 1 {
		t.Errorf("replacement %+v", green)
	}
}
