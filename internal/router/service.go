package router

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// service is one service's routing: its listeners, target groups, targets and the
// table the hot path reads. mu guards everything but the atomics and conns.
type service struct {
	name    string
	router  *Router
	log     *slog.Logger
	checker *healthChecker
	table   atomic.Pointer[table]
	// wheelNext is the production wheel's position, kept across tables.
	wheelNext atomic.Uint64
	health    atomic.Pointer[healthConfig]

	ctx    context.Context // ends when the service is removed: stops health loops
	cancel context.CancelFunc
	drains sync.WaitGroup

	mu      sync.Mutex
	spec    ServiceSpec
	version uint64
	groups  map[string]*group // every group the service ever had
	targets map[targetKey]*target
	prod    *listener
	test    *listener
	// prodRedirect and testRedirect serve the listeners' RedirectHTTP addresses.
	prodRedirect, testRedirect *redirectServer
	stopping                   bool

	connMu sync.Mutex
	conns  map[net.Conn]*clientConn
}

func newService(r *Router, name string) *service {
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{
		name:    name,
		router:  r,
		log:     r.log.With("service", name),
		checker: newHealthChecker(),
		ctx:     ctx,
		cancel:  cancel,
		groups:  map[string]*group{},
		targets: map[targetKey]*target{},
		conns:   map[net.Conn]*clientConn{},
	}
	s.table.Store(&table{})
	return s
}

// boundListeners are the listeners an Apply bound for addresses new to the service.
type boundListeners struct {
	prod, test                 *listener
	prodRedirect, testRedirect *redirectServer
}

func (b boundListeners) closeNow() {
	for _, l := range []*listener{b.prod, b.test} {
		if l != nil {
			l.closeNow()
		}
	}
	for _, r := range []*redirectServer{b.prodRedirect, b.testRedirect} {
		if r != nil {
			_ = r.ln.Close()
		}
	}
}

// listenerConfigs prepares the configs of the spec's listeners (certificates
// read, ACME set up), reusing what the current ones can lend.
func (s *service) listenerConfigs(spec ServiceSpec) (listenerConfigs, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prod, err := newListenerConfig(spec.Listeners.Production, s.prod.currentConfig())
	if err != nil {
		return listenerConfigs{}, fmt.Errorf("production listener: %w", err)
	}
	test, err := newListenerConfig(spec.Listeners.Test, s.test.currentConfig())
	if err != nil {
		return listenerConfigs{}, fmt.Errorf("test listener: %w", err)
	}
	return listenerConfigs{prod: prod, test: test}, nil
}

// listenerConfigs are the configs an Apply prepared for both listeners.
type listenerConfigs struct{ prod, test *listenerConfig }

// bindNew binds the spec's listener addresses that the service does not listen on
// yet, and the redirect addresses it does not serve yet. On error nothing stays
// bound.
func (s *service) bindNew(spec ServiceSpec) (boundListeners, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b boundListeners
	if s.prod == nil || s.prod.addr != spec.ProductionListener {
		l, err := s.bindListener(spec.ProductionListener, false)
		if err != nil {
			return b, err
		}
		b.prod = l
	}
	if spec.TestListener != "" && (s.test == nil || s.test.addr != spec.TestListener) {
		l, err := s.bindListener(spec.TestListener, true)
		if err != nil {
			b.closeNow()
			return boundListeners{}, err
		}
		b.test = l
	}
	if err := s.bindRedirects(&b, spec); err != nil {
		b.closeNow()
		return boundListeners{}, err
	}
	return b, nil
}

// seed is the health targets start with after an agent restart (Restore): a
// check made before they were registered, or the state the agent before
// reported.
type seed map[targetKey]seedHealth

type seedHealth struct {
	res      checkResult
	reported bool // the previous agent's state, trusted as it was
}

// commit makes spec the service's routing: registers new targets, drains removed
// ones, swaps listeners, publishes the table. It cannot fail.
func (s *service) commit(spec ServiceSpec, bound boundListeners, cfgs listenerConfigs, seeds seed) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, _ := newHealthConfig(spec.HealthCheck) // validated already
	s.health.Store(cfg)
	now := time.Now()
	for _, g := range spec.TargetGroups {
		if s.groups[g.Name] == nil {
			s.groups[g.Name] = newGroup(g.Name, now, s.router.retention)
		}
	}
	wanted := map[targetKey]bool{}
	for _, g := range spec.TargetGroups {
		for _, ts := range g.Targets {
			k := targetKey{g.Name, ts.ID, ts.Address}
			wanted[k] = true
			s.register(k, ts, seeds)
		}
	}
	// Publish first, drain after: a target leaves the table (it is not in the new
	// spec) before it refuses requests, so a request holding the old table either
	// gets it (and the drain waits for it) or, refused, finds the new table on its
	// next pick. The other order fails requests in between.
	s.spec = spec
	s.version++
	s.publish()
	for k, t := range s.targets {
		if !wanted[k] && !t.removed.Load() {
			s.drain(t, now.Add(spec.DeregistrationDelay.D()))
		}
	}
	s.swapListeners(bound, cfgs, spec.DeregistrationDelay.D())
}

func (s *service) register(k targetKey, ts TargetSpec, seeds seed) {
	if t := s.targets[k]; t != nil {
		t.spec.Revision = ts.Revision
		if t.removed.Load() {
			// Back before its drain ended: it returns to service with the health
			// its checks (which kept running) say.
			t.drainGen++
			close(t.undrain)
			t.removed.Store(false)
			t.log.Info("target re-registered while draining")
		}
		return
	}
	t := newTarget(ts, s.groups[k.group], s.log, s.router.transport, s.router.buffers, s.router.h1bufs)
	sh, seeded := seeds[k]
	switch {
	case seeded && sh.reported:
		// Healthy or unhealthy in the agent before: as it was.
		applyCheck(t, sh.res, 1, 1)
		t.log.Info("target handed over", "state", t.health, "reason", t.reason)
	case seeded:
		// A target restored after a restart gets traffic after one good check; one
		// that failed it stays initial (no traffic, not even failing open) until
		// its next checks decide.
		applyCheck(t, sh.res, 1, maxThreshold+1)
		t.log.Info("target restored", "state", t.health, "reason", t.reason)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	t.stopHealth = cancel
	s.targets[k] = t
	go s.runHealth(ctx, t, !seeded)
}

func (s *service) swapListeners(bound boundListeners, cfgs listenerConfigs, grace time.Duration) {
	grace = max(grace, time.Second)
	if bound.prod != nil {
		old := s.prod
		s.prod = bound.prod
		s.prod.configure(cfgs.prod)
		s.prod.serve(s.log)
		if old != nil {
			go old.retire(grace)
		}
	}
	s.prod.configure(cfgs.prod)
	if bound.test != nil || s.spec.TestListener == "" {
		old := s.test
		s.test = bound.test
		if s.test != nil {
			s.test.configure(cfgs.test)
			s.test.serve(s.log)
		}
		if old != nil {
			go old.retire(grace)
		}
	}
	if s.test != nil {
		s.test.configure(cfgs.test)
	}
	s.swapRedirects(bound, cfgs, grace)
}

// publish builds the routing table from the spec and the targets' states and
// stores it for the hot path.
func (s *service) publish() {
	routes := map[string]*groupRoute{}
	for _, g := range s.spec.TargetGroups {
		routes[g.Name] = &groupRoute{
			group:            s.groups[g.Name],
			leastOutstanding: g.LoadBalancing == LoadBalancingLeastOutstanding,
		}
	}
	inSpec := map[targetKey]bool{}
	for _, g := range s.spec.TargetGroups {
		for _, ts := range g.Targets {
			inSpec[targetKey{g.Name, ts.ID, ts.Address}] = true
		}
	}
	for _, t := range s.sortedTargets() {
		gr := routes[t.group.name]
		if gr == nil || t.removed.Load() || !inSpec[t.key()] {
			continue
		}
		switch t.health {
		case TargetHealthy:
			gr.healthy = append(gr.healthy, t)
		case TargetUnhealthy:
			gr.unhealthy = append(gr.unhealthy, t)
		}
	}
	tb := &table{test: routes[s.spec.TestTargetGroup]}
	var weighted []weightedGroup
	for _, g := range s.spec.TargetGroups {
		weighted = append(weighted, weightedGroup{route: routes[g.Name], weight: s.spec.ProductionWeights[g.Name]})
	}
	tb.production = newWheel(weighted, &s.wheelNext)
	s.table.Store(tb)
}

// sortedTargets returns the targets in a stable order: spec order for registered
// ones, then removed ones by ID.
func (s *service) sortedTargets() []*target {
	order := map[targetKey]int{}
	for _, g := range s.spec.TargetGroups {
		for _, ts := range g.Targets {
			order[targetKey{g.Name, ts.ID, ts.Address}] = len(order)
		}
	}
	out := make([]*target, 0, len(s.targets))
	for _, t := range s.targets {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *target) int {
		ia, inA := order[a.key()]
		ib, inB := order[b.key()]
		switch {
		case inA && inB:
			return ia - ib
		case inA != inB:
			if inA {
				return -1
			}
			return 1
		}
		return strings.Compare(a.spec.ID+"\x00"+a.spec.Address, b.spec.ID+"\x00"+b.spec.Address)
	})
	return out
}

// targetList returns every target of the service, draining ones included.
func (s *service) targetList() []*target {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.targets))
}
