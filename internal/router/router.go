// Package router owns greenlight's data plane, the in-process load balancer the
// agent drives, with an ALB's semantics: per service a production listener and an
// optional test listener; target groups chosen by weight; round-robin or
// least-outstanding-requests within a group; ALB health checks; deregistration
// with draining; and per target group traffic metrics in 100 ms slots, exported to
// Prometheus.
//
// Routing when a group has no healthy target: if it has registered targets and
// all of them are unhealthy, the router fails open and spreads requests over them,
// as an ALB does; if it has no target, or only targets still in their initial
// checks, it answers 503 (counted as ELB 5XX). A target the router cannot
// connect to is passed over (passive.go): the request goes to another target of
// its group (on the net/http path, only a request without a body), and picks
// skip the target for Options.PassiveDownTime or until a health check passes;
// only when no target is left does the request get 502 (504 on a dial
// timeout). One that sends no response headers within Options.TargetTimeout
// gives 504.
//
// The hot path takes no lock: each service publishes an immutable routing table
// through an atomic pointer, and metrics are recorded into atomic counters.
//
// Requests are served by a fast path (front.go, frontconn.go, forward.go) that
// does not go through net/http's server: each client connection is one
// goroutine that parses request heads in place with package h1, forwards them
// on pooled keep-alive connections to the targets, and relays the responses,
// allocating nothing per request. A connection whose request the fast path does
// not handle (protocol upgrades such as WebSocket, Expect: 100-continue,
// HTTP/1.0, other request-target forms, unusual framing) is handed over, with
// what was read of it, to the listener's net/http server and
// httputil.ReverseProxy (handler.go), which serve it from then on.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Options configures a Router. Zero fields take their defaults.
type Options struct {
	Logger *slog.Logger
	// MetricsRetention is how long completed 100 ms slots are kept; default 5m.
	MetricsRetention time.Duration
	// TargetTimeout is how long a target may take to send its response headers
	// before the router answers 504, and the longest it may leave a response
	// body without a byte or a request body unread (the exchange is ended);
	// default 60s (an ALB's idle timeout, nginx's proxy_read_timeout and
	// proxy_send_timeout).
	TargetTimeout time.Duration
	// DialTimeout bounds connecting to a target (502 after it); default 5s.
	DialTimeout time.Duration
	// PassiveDownTime is how long a target the router could not connect to
	// (refused, unreachable, timed out) is passed over, unless a health check
	// passes first; the request goes to another target of its group meanwhile
	// (nginx's proxy_next_upstream error, max_fails=1 fail_timeout). Default
	// DefaultPassiveDownTime.
	PassiveDownTime time.Duration
	// MaxIdleConnsPerTarget is the keep-alive pool size per target; default 512.
	MaxIdleConnsPerTarget int
	// ClientHeaderTimeout bounds reading a request head from its first byte (a
	// slow client gets 408); default 30s.
	ClientHeaderTimeout time.Duration
	// ClientIdleTimeout is how long a keep-alive client connection may wait for
	// its next request; default 60s, an ALB's idle timeout.
	ClientIdleTimeout time.Duration
	// ClientBodyTimeout bounds the wait between two reads of a request body,
	// reset by every byte that comes (nginx's client_body_timeout): a slow
	// upload goes on as long as it moves; a stalled one gets 408 and its
	// exchange with the target is ended. Default 60s.
	ClientBodyTimeout time.Duration
	// Listen creates the listening sockets; default net.Listen. It is the one
	// place listeners come from, so that an agent that inherits its
	// predecessor's sockets can return those (ListenerFromFile) instead of
	// binding new ones.
	Listen func(network, address string) (net.Listener, error)
	// ClientSendTimeout bounds how long a write to a client may wait for it to
	// take the bytes (nginx's send_timeout); streams last as long as the
	// client reads them. Default 60s.
	ClientSendTimeout time.Duration
}

// targetIdleTimeout is how long an unused keep-alive connection to a target is
// kept in the pool.
const targetIdleTimeout = 30 * time.Second

// ListenerFromFile returns the listening socket f holds (one inherited from
// another process), for an Options.Listen that hands such sockets out.
func ListenerFromFile(f *os.File) (net.Listener, error) {
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listener from file %s: %w", f.Name(), err)
	}
	return ln, nil
}

// Errors returned by the Router besides *SpecError (ErrInvalidSpec).
var (
	ErrClosed         = errors.New("router closed")
	ErrUnknownService = errors.New("unknown service")
)

// Router holds every service's routing. All methods are safe for concurrent use.
type Router struct {
	log       *slog.Logger
	retention time.Duration
	transport transportSettings
	front     frontOptions
	buffers   *bufferPool
	h1bufs    *h1Buffers
	dates     dateCache
	listen    func(network, address string) (net.Listener, error)

	stopBackground context.CancelFunc
	background     sync.WaitGroup // slot rotation, idle connection sweep

	mu       sync.Mutex // serialises changes; the hot path never takes it
	services map[string]*service
	closed   bool
}

// New returns a router with no services; it starts the metrics slot rotation
// and the sweep of idle target connections.
func New(opts Options) *Router {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MetricsRetention <= 0 {
		opts.MetricsRetention = 5 * time.Minute
	}
	if opts.TargetTimeout <= 0 {
		opts.TargetTimeout = 60 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.PassiveDownTime <= 0 {
		opts.PassiveDownTime = DefaultPassiveDownTime
	}
	if opts.MaxIdleConnsPerTarget <= 0 {
		opts.MaxIdleConnsPerTarget = 512
	}
	if opts.ClientHeaderTimeout <= 0 {
		opts.ClientHeaderTimeout = 30 * time.Second
	}
	if opts.ClientIdleTimeout <= 0 {
		opts.ClientIdleTimeout = 60 * time.Second
	}
	if opts.Listen == nil {
		opts.Listen = net.Listen
	}
	if opts.ClientBodyTimeout <= 0 {
		opts.ClientBodyTimeout = 60 * time.Second
	}
	if opts.ClientSendTimeout <= 0 {
		opts.ClientSendTimeout = 60 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Router{
		log:       opts.Logger,
		retention: opts.MetricsRetention,
		transport: transportSettings{
			dialTimeout:           opts.DialTimeout,
			responseHeaderTimeout: opts.TargetTimeout,
			idleTimeout:           targetIdleTimeout,
			maxIdleConns:          opts.MaxIdleConnsPerTarget,
			passiveDown:           opts.PassiveDownTime,
		},
		front: frontOptions{
			headerTimeout: opts.ClientHeaderTimeout,
			idleTimeout:   opts.ClientIdleTimeout,
			bodyTimeout:   opts.ClientBodyTimeout,
			sendTimeout:   opts.ClientSendTimeout,
		},
		listen:         opts.Listen,
		buffers:        newBufferPool(),
		h1bufs:         newH1Buffers(),
		stopBackground: cancel,
		services:       map[string]*service{},
	}
	r.background.Go(func() { r.rotateSlots(ctx) })
	r.background.Go(func() { r.sweepIdle(ctx) })
	return r
}

// Apply makes spec the service's routing, atomically: a request sees the old spec
// or the new one, never a mix. Listener addresses new to the service are bound
// before old ones are released; an address that cannot be bound is an error and
// nothing changes. Targets new to the spec start "initial" and are checked at
// once; targets removed from it start draining. It returns the new status.
func (r *Router) Apply(spec ServiceSpec) (ServiceStatus, error) {
	return r.apply(spec, nil, 0)
}

// apply applies spec; seeds and version matter to a service it creates (a
// restore): the health its targets start with, the version it goes on from.
func (r *Router) apply(spec ServiceSpec, seeds seed, version uint64) (ServiceStatus, error) {
	spec = Normalize(spec)
	if err := Validate(spec); err != nil {
		return ServiceStatus{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ServiceStatus{}, ErrClosed
	}
	svc := r.services[spec.Name]
	isNew := svc == nil
	if isNew {
		svc = newService(r, spec.Name)
		svc.version = version
	}
	cfgs, err := svc.listenerConfigs(spec)
	var bound boundListeners
	if err == nil {
		bound, err = svc.bindNew(spec)
	}
	if err != nil {
		if isNew {
			svc.cancel()
		}
		return ServiceStatus{}, fmt.Errorf("apply service %q: %w", spec.Name, err)
	}
	svc.commit(spec, bound, cfgs, seeds)
	r.services[spec.Name] = svc
	return r.statusOf(svc), nil
}

// Restore is Apply for a spec read back after an agent restart. last is what
// the agent before this one reported for the service when it handed over (the
// zero status after a crash). Targets it had healthy or unhealthy start in
// that state, their checks going on at the usual interval: a restart takes no
// healthy target out of rotation. Every other target gets its first health
// check before the listeners open: a target that passes it is healthy at once
// (traffic within one check), one that fails stays out of rotation until its
// checks say otherwise. The service's version goes on from last.Version, so
// that a change written against a version read before the restart is stale.
// A service that is already running is simply applied.
func (r *Router) Restore(ctx context.Context, spec ServiceSpec, last ServiceStatus) (ServiceStatus, error) {
	spec = Normalize(spec)
	if err := Validate(spec); err != nil {
		return ServiceStatus{}, err
	}
	cfg, err := newHealthConfig(spec.HealthCheck)
	if err != nil {
		return ServiceStatus{}, fmt.Errorf("restore service %q: %w", spec.Name, err)
	}
	seeds := reportedHealth(last)
	if err := firstChecks(ctx, newHealthChecker(), spec, cfg, seeds); err != nil {
		return ServiceStatus{}, fmt.Errorf("restore service %q: %w", spec.Name, err)
	}
	return r.apply(spec, seeds, last.Version)
}

// reportedHealth is the health last reports for its healthy and unhealthy
// targets.
func reportedHealth(last ServiceStatus) seed {
	seeds := seed{}
	for _, g := range last.TargetGroups {
		for _, t := range g.Targets {
			if t.State == TargetHealthy || t.State == TargetUnhealthy {
				res := checkResult{ok: t.State == TargetHealthy, reason: t.Reason}
				seeds[targetKey{g.Name, t.ID, t.Address}] = seedHealth{res: res, reported: true}
			}
		}
	}
	return seeds
}

// firstChecks checks, concurrently, every target of spec that seeds has no
// health for, and records the results in seeds.
func firstChecks(ctx context.Context, hc *healthChecker, spec ServiceSpec, cfg *healthConfig, seeds seed) error {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, g := range spec.TargetGroups {
		for _, ts := range g.Targets {
			k := targetKey{g.Name, ts.ID, ts.Address}
			if _, known := seeds[k]; known {
				continue
			}
			wg.Go(func() {
				res := hc.check(ctx, ts.Address, cfg)
				mu.Lock()
				defer mu.Unlock()
				seeds[k] = seedHealth{res: res}
			})
		}
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("first health checks: %w", err)
	}
	return nil
}

// Remove drains the service's targets (in-flight requests finish; long-lived
// connections last until the deregistration delay or ctx ends), closes its
// listeners and forgets it. It returns ctx's error when ctx ended first; the
// service is removed anyway.
func (r *Router) Remove(ctx context.Context, name string) error {
	r.mu.Lock()
	svc := r.services[name]
	delete(r.services, name)
	r.mu.Unlock()
	if svc == nil {
		return fmt.Errorf("remove service %q: %w", name, ErrUnknownService)
	}
	if err := svc.shutdown(ctx); err != nil {
		return fmt.Errorf("remove service %q: %w", name, err)
	}
	return nil
}

// Status returns what the router knows about a service now, including targets
// that are still draining.
func (r *Router) Status(name string) (ServiceStatus, bool) {
	r.mu.Lock()
	svc := r.services[name]
	r.mu.Unlock()
	if svc == nil {
		return ServiceStatus{}, false
	}
	return r.statusOf(svc), true
}

func (r *Router) statusOf(svc *service) ServiceStatus {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return svc.status()
}

// Services returns every service's status, by name.
func (r *Router) Services() []ServiceStatus {
	out := []ServiceStatus{}
	for _, svc := range r.serviceList() {
		out = append(out, r.statusOf(svc))
	}
	return out
}

func (r *Router) serviceList() []*service {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*service, 0, len(r.services))
	for _, svc := range r.services {
		out = append(out, svc)
	}
	slices.SortFunc(out, func(a, b *service) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// Series returns, per target group of the service (in spec order), the completed
// 100 ms slots whose Start is after sinceMs (unix ms), oldest first, without gaps.
func (r *Router) Series(name string, sinceMs int64) ([]metrics.Series, bool) {
	r.mu.Lock()
	svc := r.services[name]
	r.mu.Unlock()
	if svc == nil {
		return nil, false
	}
	out := []metrics.Series{}
	for _, g := range svc.specGroups() {
		out = append(out, g.series(name, sinceMs))
	}
	return out, true
}

func (r *Router) allGroups() []*group {
	var out []*group
	for _, svc := range r.serviceList() {
		out = append(out, svc.allGroups()...)
	}
	return out
}

// Close stops every listener and drains in-flight work until ctx ends, then cuts
// what is left. Apply fails with ErrClosed afterwards.
func (r *Router) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	services := make([]*service, 0, len(r.services))
	for _, svc := range r.services {
		services = append(services, svc)
	}
	clear(r.services)
	r.mu.Unlock()

	errs := make([]error, len(services))
	var wg sync.WaitGroup
	for i, svc := range services {
		wg.Go(func() { errs[i] = svc.shutdown(ctx) })
	}
	wg.Wait()
	r.stopBackground()
	r.background.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close router: %w", err)
	}
	return nil
}
