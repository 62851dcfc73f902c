package router

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"
	"time"
)

// targetTransport is the RoundTripper of one target for the requests the fast
// path hands over to net/http (see package doc). Requests that can be replayed
// and carry no body and no protocol upgrade (nearly all GET and HEAD traffic) take
// a lean HTTP/1.1 path that writes the request and reads the response on the
// caller's goroutine over a pooled keep-alive connection. net/http's Transport
// hands every request to two other goroutines per connection; on a loaded machine
// those handoffs cost more than the proxying itself. Everything else (bodies,
// upgrades) goes through a tuned http.Transport.
type targetTransport struct {
	address       string
	dialer        *net.Dialer
	headerTimeout time.Duration
	idleTimeout   time.Duration
	maxIdle       int
	fallback      *http.Transport

	mu   sync.Mutex
	idle []*h1Conn // most recently used last
}

// maxAttempts bounds retries of a replayable request whose pooled connection turns
// out to have been closed by the target.
const maxAttempts = 3

// h1BufferSize sizes each pooled connection's read and write buffers.
const h1BufferSize = 8 << 10

func newTargetTransport(address string, ts transportSettings) *targetTransport {
	dialer := &net.Dialer{Timeout: ts.dialTimeout, KeepAlive: 30 * time.Second}
	return &targetTransport{
		address:       address,
		dialer:        dialer,
		headerTimeout: ts.responseHeaderTimeout,
		idleTimeout:   ts.idleTimeout,
		maxIdle:       ts.maxIdleConns,
		fallback: &http.Transport{
			Proxy:                 nil, // never a proxy from the environment
			DialContext:           dialer.DialContext,
			MaxIdleConns:          ts.maxIdleConns,
			MaxIdleConnsPerHost:   ts.maxIdleConns,
			IdleConnTimeout:       ts.idleTimeout,
			ResponseHeaderTimeout: ts.responseHeaderTimeout,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true, // pass the target's encoding through untouched
			WriteBufferSize:       32 << 10,
			ReadBufferSize:        32 << 10,
		},
	}
}

// leanPath reports whether req can take the lean path: no body, no upgrade, and
// safe to send again if a pooled connection was dead.
func leanPath(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody || req.ContentLength > 0 {
		return false
	}
	if _, upgrade := req.Header["Upgrade"]; upgrade {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func (t *targetTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !leanPath(req) {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		pc, err := t.conn(ctx, attempt == maxAttempts)
		if err != nil {
			return nil, err
		}
		resp, err := pc.roundTrip(req, t.headerTimeout)
		if err == nil {
			return resp, nil
		}
		pc.close()
		// A pooled connection the target closed while idle fails before a byte
		// of response: send again, as net/http does for replayable requests.
		if !pc.reused || pc.gotBytes || attempt == maxAttempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

// conn returns an idle pooled connection, or a new one when there is none or
// fresh is set.
func (t *targetTransport) conn(ctx context.Context, fresh bool) (*h1Conn, error) {
	if !fresh {
		if pc := t.takeIdle(); pc != nil {
			return pc, nil
		}
	}
	c, err := t.dialer.DialContext(ctx, "tcp", t.address)
	if err != nil {
		return nil, fmt.Errorf("dial target %s: %w", t.address, err)
	}
	pc := &h1Conn{t: t, conn: c}
	pc.br = bufio.NewReaderSize(countingReader{pc}, h1BufferSize)
	pc.bw = bufio.NewWriterSize(c, h1BufferSize)
	return pc, nil
}

func (t *targetTransport) takeIdle() *h1Conn {
	var stale []*h1Conn
	defer func() {
		for _, pc := range stale {
			pc.close()
		}
	}()
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for n := len(t.idle); n > 0; n = len(t.idle) {
		pc := t.idle[n-1]
		t.idle[n-1] = nil
		t.idle = t.idle[:n-1]
		if now.Sub(pc.idleSince) < t.idleTimeout {
			pc.reused = true
			return pc
		}
		stale = append(stale, pc)
	}
	return nil
}

func (t *targetTransport) putIdle(pc *h1Conn) {
	pc.idleSince = time.Now()
	t.mu.Lock()
	if len(t.idle) < t.maxIdle {
		t.idle = append(t.idle, pc)
		pc = nil
	}
	t.mu.Unlock()
	if pc != nil {
		pc.close()
	}
}

// CloseIdleConnections closes the pooled connections not in use.
func (t *targetTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
	t.fallback.CloseIdleConnections()
}

// h1Conn is one keep-alive connection to the target, used by one request at a
// time.
type h1Conn struct {
	t         *targetTransport
	conn      net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	idleSince time.Time
	reused    bool // came from the pool
	gotBytes  bool // the current round trip read something from the target
}

type countingReader struct{ pc *h1Conn }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.pc.conn.Read(p)
	if n > 0 {
		r.pc.gotBytes = true
	}
	return n, err
}

func (pc *h1Conn) close() { _ = pc.conn.Close() }

// aLongTimeAgo is a deadline in the past: setting it unblocks pending I/O.
var aLongTimeAgo = time.Unix(1, 0)

func (pc *h1Conn) roundTrip(req *http.Request, headerTimeout time.Duration) (*http.Response, error) {
	pc.gotBytes = false
	// The deadline bounds writing the request and reading the response headers
	// (504 after it); the request's context can cut it short at any time.
	if err := pc.conn.SetDeadline(time.Now().Add(headerTimeout)); err != nil {
		return nil, fmt.Errorf("set deadline: %w", err)
	}
	stop := context.AfterFunc(req.Context(), func() { _ = pc.conn.SetDeadline(aLongTimeAgo) })
	resp, err := pc.exchange(req)
	if err == nil {
		err = pc.conn.SetDeadline(time.Time{}) // the body may stream for as long as it likes
	}
	if err != nil {
		stop()
		return nil, err
	}
	if resp.Body == http.NoBody {
		pc.release(resp, stop, true)
		return resp, nil
	}
	resp.Body = &h1Body{pc: pc, resp: resp, body: resp.Body, stop: stop}
	return resp, nil
}

// exchange writes req and reads the final response, passing 1xx responses to the
// request's client trace (ReverseProxy forwards them to the client).
func (pc *h1Conn) exchange(req *http.Request) (*http.Response, error) {
	if err := req.Write(pc.bw); err != nil {
		return nil, fmt.Errorf("write request to target %s: %w", pc.t.address, err)
	}
	if err := pc.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write request to target %s: %w", pc.t.address, err)
	}
	for {
		resp, err := http.ReadResponse(pc.br, req)
		if err != nil {
			return nil, fmt.Errorf("read response from target %s: %w", pc.t.address, err)
		}
		switch {
		case resp.StatusCode == http.StatusSwitchingProtocols:
			return nil, fmt.Errorf("target %s switched protocols without an upgrade request", pc.t.address)
		case resp.StatusCode >= 100 && resp.StatusCode < 200:
			if trace := httptrace.ContextClientTrace(req.Context()); trace != nil && trace.Got1xxResponse != nil {
				if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
					return nil, err
				}
			}
			continue
		}
		return resp, nil
	}
}

// release ends a round trip: the connection goes back to the pool when the
// response was read whole and both sides keep the connection alive.
func (pc *h1Conn) release(resp *http.Response, stop func() bool, complete bool) {
	cancelled := !stop()
	if complete && !cancelled && !resp.Close && !resp.Request.Close {
		pc.t.putIdle(pc)
		return
	}
	pc.close()
}

// h1Body is a response body on a pooled connection.
type h1Body struct {
	pc     *h1Conn
	resp   *http.Response
	body   io.ReadCloser
	stop   func() bool
	eof    bool
	closed bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if errors.Is(err, io.EOF) {
		b.eof = true
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	if b.eof {
		_ = b.body.Close() // already at EOF: nothing left to drain
	}
	// A body not read to the end (an aborted stream) is not drained: the
	// connection is closed instead, since a stream may never end.
	b.pc.release(b.resp, b.stop, b.eof)
	return nil
}
