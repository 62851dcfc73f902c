package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// target is one registered task. The atomics are read and written on the hot path;
// the rest is guarded by the owning service's mu.
type target struct {
	spec      TargetSpec
	group     *group
	log       *slog.Logger
	proxy     *httputil.ReverseProxy
	transport *http.Transport        // for requests the fast path hands to net/http
	grpcProxy *httputil.ReverseProxy // gRPC: HTTP/2 to the target too
	grpcTrans *http.Transport
	upstreams *upstreamPool // the fast path's keep-alive connections

	inflight  atomic.Int64 // requests and connections being served
	longLived atomic.Int64 // of which upgraded or streaming
	removed   atomic.Bool  // deregistered: draining or gone
	// downUntil: picks pass t over until then (unix nanoseconds), as a
	// connect to it failed (passive.go); downReason says how.
	downUntil  atomic.Int64
	downReason atomic.Pointer[string]
	downFor    time.Duration
	idle       chan struct{}

	streamsMu sync.Mutex
	streams   map[*http.Request]context.CancelFunc // HTTP/2 requests in flight

	// Guarded by service.mu.
	health        TargetState // initial, healthy or unhealthy (draining is derived from removed)
	reason        string
	successes     int
	failures      int
	drainGen      uint64
	drainDeadline time.Time
	undrain       chan struct{} // closed when re-registered during its drain
	stopHealth    context.CancelFunc
}

// targetKey identifies a target within a service: re-registering the same ID with
// the same address in the same group keeps its state.
type targetKey struct{ group, id, address string }

func (t *target) key() targetKey { return targetKey{t.group.name, t.spec.ID, t.spec.Address} }

// transportSettings tunes the keep-alive pool to one target.
type transportSettings struct {
	dialTimeout           time.Duration
	responseHeaderTimeout time.Duration
	idleTimeout           time.Duration
	maxIdleConns          int
	passiveDown           time.Duration // how long a target whose connect failed is passed over
}

func newTarget(spec TargetSpec, g *group, log *slog.Logger, ts transportSettings, pool httputil.BufferPool, bufs *h1Buffers) *target {
	t := &target{
		spec:    spec,
		group:   g,
		log:     log.With("target_group", g.name, "target", spec.ID, "address", spec.Address),
		idle:    make(chan struct{}, 1),
		health:  TargetInitial,
		downFor: ts.passiveDown,
	}
	t.transport = newTargetTransport(spec.Address, ts)
	t.upstreams = newUpstreamPool(spec.Address, ts, bufs)
	t.grpcTrans = newGRPCTransport(spec.Address, ts)
	t.grpcProxy = t.newProxy(t.grpcTrans, pool)
	t.proxy = t.newProxy(t.transport, pool)
	return t
}

func (t *target) newProxy(transport http.RoundTripper, pool httputil.BufferPool) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite:        t.rewrite,
		Transport:      transport,
		BufferPool:     pool,
		ErrorHandler:   t.proxyError,
		ModifyResponse: modifyResponse,
		ErrorLog:       slog.NewLogLogger(t.log.Handler(), slog.LevelDebug),
		// Streams (SSE, gRPC, unknown length) are flushed at once by ReverseProxy itself.
		FlushInterval: 0,
	}
}

// acquire counts a request against t and reports whether t still takes requests.
// It pairs with the drain watcher, which sets removed before reading inflight:
// either the watcher sees this request, or this request sees removed.
func (t *target) acquire() bool {
	t.inflight.Add(1)
	if t.removed.Load() {
		t.release()
		return false
	}
	return true
}

// trackStream gives an HTTP/2 request a context that cutStreams cancels; stop
// ends the tracking.
func (t *target) trackStream(r *http.Request) (*http.Request, func()) {
	ctx, cancel := context.WithCancel(r.Context())
	r = r.WithContext(ctx)
	t.streamsMu.Lock()
	if t.streams == nil {
		t.streams = map[*http.Request]context.CancelFunc{}
	}
	t.streams[r] = cancel
	t.streamsMu.Unlock()
	return r, func() {
		t.streamsMu.Lock()
		delete(t.streams, r)
		t.streamsMu.Unlock()
		cancel()
	}
}

// cutStreams ends t's HTTP/2 requests in flight and returns how many.
func (t *target) cutStreams() int {
	t.streamsMu.Lock()
	defer t.streamsMu.Unlock()
	for _, cancel := range t.streams {
		cancel()
	}
	return len(t.streams)
}

// closeIdle closes the keep-alive connections to t not in use.
func (t *target) closeIdle() {
	t.upstreams.closeIdle()
	t.transport.CloseIdleConnections()
	t.grpcTrans.CloseIdleConnections()
}

func (t *target) release() {
	if t.inflight.Add(-1) == 0 && t.removed.Load() {
		select {
		case t.idle <- struct{}{}:
		default:
		}
	}
}

var forwardedProtoHTTP = []string{"http"}

// rewrite points the outbound request at the target. The Host header is kept, as
// an ALB keeps it; X-Forwarded-For is appended to, as an ALB does. The header
// values that only depend on the client connection are built once per connection.
func (t *target) rewrite(pr *httputil.ProxyRequest) {
	out := pr.Out
	out.URL.Scheme = "http"
	out.URL.Host = t.spec.Address
	h := out.Header
	cc, _ := pr.In.Context().Value(connKey{}).(*clientConn)
	if cc == nil {
		// Not from one of our listeners (benchmarks calling the handler directly).
		cc = &clientConn{}
	}
	h["X-Forwarded-Proto"] = forwardedProtoHTTP
	if cc.proto != nil {
		h["X-Forwarded-Proto"] = cc.proto
	}
	if prior := pr.In.Header["X-Forwarded-For"]; len(prior) > 0 {
		h["X-Forwarded-For"] = []string{strings.Join(prior, ", ") + ", " + remoteIP(pr.In.RemoteAddr)}
	} else {
		h["X-Forwarded-For"] = cc.forwardedFor(pr.In.RemoteAddr)
	}
	if pr.In.Host != "" {
		h["X-Forwarded-Host"] = cc.forwardedHost(pr.In.Host)
	}
	if cc.port != nil {
		h["X-Forwarded-Port"] = cc.port
	} else {
		delete(h, "X-Forwarded-Port")
	}
}

// proxyError answers for a target that could not be reached or did not answer in
// time: 504 on a timeout, else 502; both are counted as ELB 5XX.
func (t *target) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	rw, _ := w.(*respWriter)
	if rw != nil {
		if status := rw.guard.fault(); status != 0 {
			// The client's body failed, not the target: answer for it.
			t.log.Debug("request body failed", "status", status, "err", err)
			rw.fromRouter = true
			if r.ProtoMajor == 1 {
				// The rest of the body will not be read: end the connection,
				// as the fast path does.
				w.Header().Set("Connection", "close")
			}
			writeRouterError(w, status, "") // a respWriter adds the HSTS field
			return
		}
	}
	if r.Context().Err() != nil {
		// The client went away: nobody to answer (ALB logs 460).
		t.log.Debug("client closed the request", "err", err)
		return
	}
	status := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusGatewayTimeout
	}
	if connectFailed(err) && t.passOn(rw, err) {
		return // another target answers
	}
	t.log.Warn("proxy error", "status", status, "err", err)
	if rw != nil {
		rw.fromRouter = true
	}
	writeRouterError(w, status, "") // a respWriter adds the HSTS field
}

// errBodyFailed is a response not relayed: the request body failed (over the
// limit, stalled) before it ended; proxyError answers for it.
var errBodyFailed = errors.New("request body failed before its end")

// modifyResponse notes the target response time of a protocol upgrade, which
// ReverseProxy answers without calling WriteHeader, and holds a response head
// that came before the end of a body that may still go over the limit: a
// response that looks complete must not go out for a body over the limit.
func modifyResponse(resp *http.Response) error {
	ctx := resp.Request.Context()
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if rw, ok := ctx.Value(respWriterKey{}).(*respWriter); ok {
			rw.recordResponse(resp.StatusCode)
		}
		return nil
	}
	if g, ok := ctx.Value(bodyGuardKey{}).(*bodyGuard); ok {
		if status := g.awaitBody(); status != 0 {
			return fmt.Errorf("response %d from the target held back (%d): %w", resp.StatusCode, status, errBodyFailed)
		}
	}
	return nil
}

func remoteIP(remoteAddr string) string {
	if i := strings.LastIndexByte(remoteAddr, ':'); i >= 0 {
		return strings.TrimSuffix(strings.TrimPrefix(remoteAddr[:i], "["), "]")
	}
	return remoteAddr
}
