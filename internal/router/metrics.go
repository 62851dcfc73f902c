package router

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// group holds one target group's traffic metrics: the slot in progress (recorded
// on the hot path), the completed slots kept for MetricsRetention, and running
// totals since the group was created (for Prometheus). A service keeps its groups
// for its whole life, as their names are stable.
type group struct {
	name string
	rec  *metrics.Recorder
	// connectErrors counts connects to the group's targets that failed (a
	// request passed on to another target, or answered 502/504).
	connectErrors atomic.Uint64

	mu    sync.Mutex
	ring  *metrics.Ring
	total metrics.Slot
}

func newGroup(name string, now time.Time, retention time.Duration) *group {
	return &group{
		name: name,
		rec:  metrics.NewRecorder(metrics.SlotStart(now)),
		ring: metrics.NewRing(int(retention / metrics.SlotDuration)),
	}
}

// rotate closes the slot in progress when a new one has started at next.
func (g *group) rotate(next int64) {
	if next <= g.rec.Start() {
		return
	}
	s := g.rec.Rotate(next)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ring.Append(s)
	g.total.Add(&s)
}

func (g *group) series(service string, sinceMs int64) metrics.Series {
	g.mu.Lock()
	defer g.mu.Unlock()
	return metrics.Series{Service: service, TargetGroup: g.name, Slots: g.ring.Since(sinceMs)}
}

// totals returns the counts since the group was created. The histogram's buckets
// are shared and must not be modified.
func (g *group) totals() metrics.Slot {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total
}

// rotateSlots closes every group's slot at each slot boundary of the wall clock
// until ctx ends.
func (r *Router) rotateSlots(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		next := metrics.SlotStart(now) + metrics.SlotDuration.Milliseconds()
		timer.Reset(time.UnixMilli(next).Sub(now))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		start := metrics.SlotStart(time.Now())
		for _, g := range r.allGroups() {
			g.rotate(start)
		}
	}
}
