package router

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// listenerHandler is the hot path: pick a target group from the routing table,
// pick a target in it, proxy, record. It takes no lock.
type listenerHandler struct {
	svc  *service
	test bool // the test listener (TestTargetGroup) rather than production
}

// maxPickAttempts bounds re-picks when a picked target was deregistered between
// loading the table and counting the request against it.
const maxPickAttempts = 4

func (h *listenerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cc, _ := r.Context().Value(connKey{}).(*clientConn)
	hsts := cc.hstsValue()
	if cc != nil && cc.maxBody > 0 && r.ContentLength > cc.maxBody {
		writeRouterError(w, statusBodyTooLarge, hsts)
		return
	}
	for range maxPickAttempts {
		g := h.svc.table.Load().route(h.test)
		if g == nil {
			// No target group (test listener without a group, or no production
			// weights): nothing to count the request against.
			writeRouterError(w, http.StatusServiceUnavailable, hsts)
			return
		}
		t := g.pick(start.UnixNano())
		if t == nil {
			g.group.rec.Record(metrics.Outcome{Status: http.StatusServiceUnavailable, Latency: -1})
			writeRouterError(w, http.StatusServiceUnavailable, hsts)
			return
		}
		if t.acquire() {
			h.forward(w, r, g, t, start)
			return
		}
	}
	writeRouterError(w, http.StatusServiceUnavailable, hsts)
}

// forward proxies the request to t, counted against it already. A request
// without a body that t could not be connected to goes to another target of g
// (proxyError), as on the fast path; one with a body gets 502 or 504, as the
// transport has taken its body, but picks pass t over from then on.
func (h *listenerHandler) forward(w http.ResponseWriter, r *http.Request, g *groupRoute, t *target, start time.Time) {
	for tries := 1; t != nil; tries++ {
		t = h.forwardOnce(w, r, g, t, start, tries)
	}
}

// forwardOnce proxies the request to t; it returns the target the request
// goes to next, counted against, when it could not be connected to t.
func (h *listenerHandler) forwardOnce(w http.ResponseWriter, r *http.Request, g *groupRoute, t *target, start time.Time, tries int) (next *target) {
	rw := respWriterPool.Get().(*respWriter)
	*rw = respWriter{ResponseWriter: w, target: t, start: start, route: g, tries: tries}
	cc, _ := r.Context().Value(connKey{}).(*clientConn)
	if cc != nil {
		rw.hsts = cc.hsts
	}
	upgrade := r.Header.Get("Upgrade") != ""
	// Nothing of a request without a body is lost with a failed connect.
	rw.passOn = r.ContentLength == 0 && !upgrade && !isGRPC(r)
	if r.ProtoMajor >= 2 {
		// One HTTP/2 connection carries streams to many targets: a drained
		// target's deregistration delay ends its streams, not the connection.
		var stop func()
		r, stop = t.trackStream(r)
		defer stop()
	} else if cc != nil {
		cc.target.Store(t)
	}
	if r.ContentLength != 0 && !upgrade {
		// Let the target answer while the request body is still coming (an
		// echo or an early error): net/http's server is half duplex by default.
		ctl := http.NewResponseController(w)
		_ = ctl.EnableFullDuplex()
		rw.guard = &bodyGuard{ReadCloser: r.Body, ctl: ctl, timeout: h.svc.router.front.bodyTimeout}
		if cc != nil {
			rw.guard.limit = cc.maxBody
		}
		r.Body = rw.guard
		if rw.guard.limit > 0 && r.ContentLength < 0 && !isGRPC(r) {
			// A body of unknown length may go over the limit after the target
			// has answered: the response head waits for the body (awaitBody).
			// Not gRPC's, which streams both ways for as long as a call lasts.
			r = rw.guard.holdHeads(r)
		}
	}
	if upgrade {
		rw.markLongLived()
		r = r.WithContext(context.WithValue(r.Context(), respWriterKey{}, rw))
	}
	if r.ProtoMajor >= 2 {
		cc = nil // finish has no connection to release
	}
	defer h.finish(rw, cc, upgrade)
	if isGRPC(r) {
		t.grpcProxy.ServeHTTP(rw, r)
	} else {
		t.proxy.ServeHTTP(rw, r)
	}
	return rw.next // read before finish clears rw
}

// finish runs even when ReverseProxy aborts the handler with a panic.
func (h *listenerHandler) finish(rw *respWriter, cc *clientConn, upgrade bool) {
	t := rw.target
	if !rw.recorded && rw.next == nil {
		// The client went away before any response: a request without a status.
		t.group.rec.Record(metrics.Outcome{Latency: -1})
	}
	if rw.longLived {
		t.longLived.Add(-1)
	}
	if cc != nil {
		cc.target.Store(nil)
		if upgrade && cc.hijacked.Load() {
			h.svc.forgetConn(cc.conn)
		}
	}
	t.release()
	*rw = respWriter{}
	respWriterPool.Put(rw)
}

type respWriterKey struct{}

var respWriterPool = sync.Pool{New: func() any { return new(respWriter) }}

// respWriter records the response of one proxied request when its headers are
// written: status class, who answered, target response time.
type respWriter struct {
	http.ResponseWriter
	target     *target
	start      time.Time
	fromRouter bool // the router answered (502, 504), not the target
	recorded   bool
	longLived  bool
	hsts       string     // Strict-Transport-Security to add, or ""
	guard      *bodyGuard // the request body's, when it has one
	// A request that target could not be connected to goes to next, another
	// target of route, when passOn (it has no body) and fewer than
	// maxPickAttempts were tried.
	route  *groupRoute
	passOn bool
	tries  int
	next   *target
}

// bodyGuard bounds a request body that net/http's server reads (requests the
// fast path hands over, HTTP/2 streams) as the fast path bounds its own: each
// read waits at most the body timeout (reset by every read, per stream in
// HTTP/2), and the body may not go past the listener's limit: the target gets
// at most the limit's bytes, and then no end of the body.
//
// The target's transport reads the guard on its own goroutine; the handler's
// goroutine reads the outcome (fault), and may wait for it (awaitBody).
type bodyGuard struct {
	io.ReadCloser
	ctl     *http.ResponseController
	timeout time.Duration
	limit   int64 // 0: none
	read    int64
	status  atomic.Int32 // the router's answer to a failed body (413, 408), or 0

	// Only when response heads wait for the body (holdHeads):
	ended  chan struct{} // closed once the body ended, failed or was closed
	end    sync.Once
	inRead atomic.Bool  // a read from the client is in progress
	reads  atomic.Int64 // reads done, to tell when the target stopped taking the body
}

// errBodyTooLarge is a request body over the listener's limit.
var errBodyTooLarge = errors.New("request body over the listener's limit")

func (g *bodyGuard) Read(p []byte) (int, error) {
	if g.status.Load() == statusBodyTooLarge {
		return 0, errBodyTooLarge
	}
	if g.limit > 0 && int64(len(p)) > g.limit-g.read+1 {
		// One byte past the limit tells that the body is over it: read no
		// more of the client's body than that.
		p = p[:g.limit-g.read+1]
	}
	g.markRead(true)
	_ = g.ctl.SetReadDeadline(time.Now().Add(g.timeout))
	n, err := g.ReadCloser.Read(p)
	g.read += int64(n)
	switch {
	case g.limit > 0 && g.read > g.limit:
		// The bytes past the limit never reach the target, nor does an end
		// of the body: it cannot take the part for the whole.
		n -= int(g.read - g.limit)
		err = errBodyTooLarge
		g.status.Store(statusBodyTooLarge)
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		g.status.Store(statusRequestTimeout)
	}
	g.markRead(false)
	if err != nil {
		g.markEnded()
	}
	return n, err
}

// Close is the transport's: it is done with the body, whether it was all
// sent or not (the target answered without taking the rest, or failed).
func (g *bodyGuard) Close() error {
	g.markEnded()
	return g.ReadCloser.Close()
}

// holdHeads makes the guard tell when the body is over (awaitBody) and
// returns r with the guard in its context, for modifyResponse to find.
func (g *bodyGuard) holdHeads(r *http.Request) *http.Request {
	g.ended = make(chan struct{})
	return r.WithContext(context.WithValue(r.Context(), bodyGuardKey{}, g))
}

type bodyGuardKey struct{}

func (g *bodyGuard) markRead(start bool) {
	if g.ended == nil {
		return
	}
	g.inRead.Store(start)
	if !start {
		g.reads.Add(1)
	}
}

func (g *bodyGuard) markEnded() {
	if g.ended != nil {
		g.end.Do(func() { close(g.ended) })
	}
}

// headHoldStall is how long a response head waits for a request body that
// the target has stopped taking. A full-duplex target (an echo) may stop
// reading the body until its response is taken: past this, the head goes out
// rather than both sides waiting for each other, and a body that goes over
// the limit later can only end the response broken (the target's connection
// is closed, so the response cannot complete).
const headHoldStall = time.Second

// awaitBody waits for the end of a body whose response head came before it
// ended (holdHeads): it returns the router's answer to give instead of the
// response (413, 408), or 0 for the response to go out. Each wait is bounded:
// a read from the client by the body timeout (a client that goes away fails
// it at once), the target taking none of the body by headHoldStall.
func (g *bodyGuard) awaitBody() int {
	select {
	case <-g.ended:
		return g.fault() // the usual case: the body was all sent first
	default:
	}
	tick := time.NewTicker(headHoldStall)
	defer tick.Stop()
	seen := g.reads.Load()
	for {
		select {
		case <-g.ended:
			return g.fault()
		case <-tick.C:
			reads := g.reads.Load()
			if reads == seen && !g.inRead.Load() {
				return 0 // the target has taken nothing for a whole tick
			}
			seen = reads
		}
	}
}

// fault is the router's answer when the body failed on the client's side:
// 413 over the limit, 408 stalled; 0 otherwise.
func (g *bodyGuard) fault() int {
	if g == nil {
		return 0
	}
	return int(g.status.Load())
}

func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *respWriter) WriteHeader(code int) {
	if h := w.Header(); w.hsts != "" && code >= 200 && h["Strict-Transport-Security"] == nil {
		h["Strict-Transport-Security"] = []string{w.hsts}
	}
	if code >= 200 && !w.recorded {
		w.recordResponse(code)
		if isStream(code, w.Header()) {
			w.markLongLived()
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *respWriter) Write(b []byte) (int, error) {
	if !w.recorded {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *respWriter) recordResponse(code int) {
	w.recorded = true
	o := metrics.Outcome{Status: code, FromTarget: !w.fromRouter, Latency: -1}
	if o.FromTarget {
		o.Latency = time.Since(w.start)
	}
	w.target.group.rec.Record(o)
}

func (w *respWriter) markLongLived() {
	if !w.longLived {
		w.longLived = true
		w.target.longLived.Add(1)
	}
}

// isStream reports a response of unknown length (SSE, chunked streams): such a
// response may last as long as the connection.
func isStream(code int, h http.Header) bool {
	if code == http.StatusNoContent || code == http.StatusNotModified {
		return false
	}
	if ct := h["Content-Type"]; len(ct) > 0 && len(ct[0]) >= 17 && ct[0][:17] == "text/event-stream" {
		return true
	}
	return len(h["Content-Length"]) == 0
}

var routerErrorBodies = map[int][]byte{
	http.StatusBadGateway:         []byte("502 Bad Gateway: the target did not answer\n"),
	http.StatusServiceUnavailable: []byte("503 Service Unavailable: no healthy target\n"),
	http.StatusGatewayTimeout:     []byte("504 Gateway Timeout: the target did not answer in time\n"),
}

// writeRouterError writes one of the router's own answers on net/http's
// path, with the listener's HSTS field when it has one (hsts; a respWriter
// adds its own).
func writeRouterError(w http.ResponseWriter, status int, hsts string) {
	body := routerErrorBodies[status]
	if body == nil {
		body = clientErrorBodies[status]
	}
	h := w.Header()
	if hsts != "" {
		h.Set("Strict-Transport-Security", hsts)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// hstsValue is the HSTS field value of the connection's listener ("" for
// none, or no connection).
func (cc *clientConn) hstsValue() string {
	if cc == nil {
		return ""
	}
	return cc.hsts
}

// clientConn is one client connection to a listener. target is the target its
// current request is being served by, so that a drained target's connections can
// be cut when its deregistration delay is over.
type clientConn struct {
	conn     net.Conn
	port     []string // X-Forwarded-Port value
	proto    []string // X-Forwarded-Proto value
	maxBody  int64    // request body limit of the listener, 0: none
	hsts     string   // Strict-Transport-Security value for responses, or ""
	target   atomic.Pointer[target]
	hijacked atomic.Bool
	xff      []string // X-Forwarded-For for requests without one
	xfh      []string // last X-Forwarded-Host
	// On the fast path, the target connection of the request in progress, so
	// that cutting the client connection ends the exchange with the target too.
	upMu      sync.Mutex
	up        *upstreamConn
	upAborted bool
}

// cut closes the client connection and aborts its exchange with a target.
func (cc *clientConn) cut() {
	_ = cc.conn.Close()
	cc.abortUpstream()
}

// setUpstream records the target connection of the exchange starting.
func (cc *clientConn) setUpstream(up *upstreamConn) {
	cc.upMu.Lock()
	cc.up, cc.upAborted = up, false
	cc.upMu.Unlock()
}

// abortUpstream closes the target connection of the exchange in progress, if
// any: whoever waits on it stops waiting.
func (cc *clientConn) abortUpstream() {
	cc.upMu.Lock()
	defer cc.upMu.Unlock()
	if cc.up != nil && !cc.upAborted {
		cc.upAborted = true
		_ = cc.up.conn.Close()
	}
}

// clearUpstream ends the exchange in progress and reports whether it was
// aborted. Once it returns, the target connection is the caller's alone again
// (and may go back to the pool).
func (cc *clientConn) clearUpstream() bool {
	cc.upMu.Lock()
	defer cc.upMu.Unlock()
	cc.up = nil
	return cc.upAborted
}

type connKey struct{}

// forwardedFor returns the X-Forwarded-For value for a request without one. Only
// the connection's goroutine calls it (one request at a time per connection).
func (cc *clientConn) forwardedFor(remoteAddr string) []string {
	if cc.xff == nil {
		cc.xff = []string{remoteIP(remoteAddr)}
	}
	return cc.xff
}

// forwardedHost returns the X-Forwarded-Host value, reusing the previous
// request's when the Host is the same (it nearly always is on one connection).
func (cc *clientConn) forwardedHost(host string) []string {
	if cc.xfh == nil || cc.xfh[0] != host {
		cc.xfh = []string{host}
	}
	return cc.xfh
}
