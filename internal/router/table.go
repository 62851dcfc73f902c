package router

import "sync/atomic"

// table is an immutable routing snapshot of one service. The service builds a new
// table on every change (spec applied, target health changed, target drained) and
// publishes it with one atomic store, so a request sees one whole table.
type table struct {
	production *wheel      // nil: no production weights, answer 503
	test       *groupRoute // nil: no test target group, answer 503
}

func (tb *table) route(test bool) *groupRoute {
	if test {
		return tb.test
	}
	if tb.production == nil {
		return nil
	}
	return tb.production.pick()
}

// wheel spreads production requests over target groups by weight. Its 100 slots
// hold each group as many times as its weight, interleaved (smooth weighted
// round-robin), and requests take slots in turn: every 100 consecutive requests
// split exactly by weight, and a group of weight 0 gets none.
//
// The position lives in the service, not in the wheel, so that a table rebuilt
// for a health change goes on where the old one was and the split stays exact.
type wheel struct {
	single *groupRoute // the one group with weight 100, when there is one
	slots  [100]*groupRoute
	next   *atomic.Uint64
}

func (wh *wheel) pick() *groupRoute {
	if wh.single != nil {
		return wh.single
	}
	return wh.slots[(wh.next.Add(1)-1)%uint64(len(wh.slots))]
}

type weightedGroup struct {
	route  *groupRoute
	weight int
}

// newWheel returns nil when no group has weight; next is the shared position.
func newWheel(groups []weightedGroup, next *atomic.Uint64) *wheel {
	var live []weightedGroup
	for _, g := range groups {
		if g.weight > 0 {
			live = append(live, g)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return &wheel{single: live[0].route}
	}
	wh := &wheel{next: next}
	current := make([]int, len(live))
	for i := range wh.slots {
		best := 0
		for j, g := range live {
			current[j] += g.weight
			if current[j] > current[best] {
				best = j
			}
		}
		current[best] -= len(wh.slots)
		wh.slots[i] = live[best].route
	}
	return wh
}

// groupRoute is a target group's targets that take new requests.
type groupRoute struct {
	group            *group
	healthy          []*target
	unhealthy        []*target
	leastOutstanding bool
	next             atomic.Uint64
}

// pick returns a healthy target; when the group has no healthy target but has
// unhealthy ones it fails open to those, as an ALB does; nil when the group has
// no target or only targets still in their initial health checks. Targets
// passed over at now (unix nanoseconds) after a failed connect are skipped,
// unless all are: then it fails open to them too.
func (g *groupRoute) pick(now int64) *target {
	ts := g.healthy
	if len(ts) == 0 {
		ts = g.unhealthy
	}
	switch len(ts) {
	case 0:
		return nil
	case 1:
		return ts[0]
	}
	n := g.next.Add(1)
	first := int(n % uint64(len(ts)))
	if !g.leastOutstanding {
		return firstUp(ts, first, now)
	}
	// Start the scan at the round-robin position so that ties rotate.
	var best *target
	var bestLoad int64
	for i := 0; i < len(ts) && (best == nil || bestLoad > 0); i++ {
		t := ts[(first+i)%len(ts)]
		if load := t.inflight.Load(); (best == nil || load < bestLoad) && !t.passedOver(now) {
			best, bestLoad = t, load
		}
	}
	if best == nil {
		return ts[first] // every one passed over: fail open
	}
	return best
}

// firstUp returns the first target of ts from first on that is not passed
// over at now, or ts[first] when all are.
func firstUp(ts []*target, first int, now int64) *target {
	for i := range ts {
		if t := ts[(first+i)%len(ts)]; !t.passedOver(now) {
			return t
		}
	}
	return ts[first]
}
