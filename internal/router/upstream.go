package router

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// maxResponseHead bounds a target's response head (502 beyond): far more than
// nginx's default 4-8 kB, as modern apps send long Set-Cookie and CSP fields.
const maxResponseHead = 64 << 10

// upstreamPool holds one target's idle keep-alive connections for the fast
// path, most recently used last. Idle connections hold no buffers.
type upstreamPool struct {
	address     string
	dialer      *net.Dialer
	maxIdle     int
	idleTimeout time.Duration
	ioTimeout   time.Duration // a response body's or request write's longest stall
	bufs        *h1Buffers

	mu   sync.Mutex
	idle []*upstreamConn
}

// upstreamConn is one connection to a target, used by one request at a time.
type upstreamConn struct {
	conn      net.Conn
	sock      *rawSocket // conn's socket: idle timeouts and cuts; nil if it has none
	r         h1.Reader
	rbuf      *[]byte
	w         *bufio.Writer
	idleSince time.Time
	reused    bool         // came from the pool
	headUntil readDeadline // the response header timeout's deadline
}

func newUpstreamPool(address string, ts transportSettings, bufs *h1Buffers) *upstreamPool {
	return &upstreamPool{
		address:     address,
		dialer:      &net.Dialer{Timeout: ts.dialTimeout, KeepAlive: 30 * time.Second},
		maxIdle:     ts.maxIdleConns,
		idleTimeout: ts.idleTimeout,
		ioTimeout:   ts.responseHeaderTimeout,
		bufs:        bufs,
	}
}

// get returns an idle connection, or a new one when there is none or fresh is
// set. Unless the caller checks it as it sends (checkOnSend: a held send,
// rawSocket.sendOnRead), an idle one is first checked to be still open and
// quiet (idleOpen). now is the time, the caller's (one clock read less).
func (p *upstreamPool) get(ctx context.Context, now time.Time, fresh, checkOnSend bool) (*upstreamConn, error) {
	var uc *upstreamConn
	for !fresh {
		if uc = p.takeIdle(now); uc == nil || (checkOnSend && uc.sock != nil) || idleOpen(uc.conn) {
			break
		}
		_ = uc.conn.Close()
	}
	if uc == nil {
		conn, err := p.dialer.DialContext(ctx, "tcp", p.address)
		if err != nil {
			return nil, fmt.Errorf("dial target %s: %w", p.address, err)
		}
		uc = &upstreamConn{conn: newRawSocket(conn)}
		if uc.sock = socketOf(uc.conn); uc.sock != nil {
			uc.sock.setWriteIdle(p.ioTimeout)
		}
	}
	uc.rbuf = p.bufs.getLarge()
	uc.r.Reset(uc.conn, *uc.rbuf, maxResponseHead)
	uc.w = p.bufs.getWriter(uc.conn)
	return uc, nil
}

func (p *upstreamPool) takeIdle(now time.Time) *upstreamConn {
	var stale []*upstreamConn
	defer func() {
		for _, uc := range stale {
			_ = uc.conn.Close()
		}
	}()
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		uc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if now.Sub(uc.idleSince) < p.idleTimeout {
			uc.reused = true
			return uc
		}
		stale = append(stale, uc)
	}
	return nil
}

// put returns a connection whose exchange ended cleanly to the pool; it has
// been idle since now at the latest (an earlier time only retires it sooner).
func (p *upstreamPool) put(uc *upstreamConn, now time.Time) {
	p.detach(uc)
	uc.idleSince = now
	p.mu.Lock()
	if len(p.idle) < p.maxIdle {
		p.idle = append(p.idle, uc)
		uc = nil
	}
	p.mu.Unlock()
	if uc != nil {
		_ = uc.conn.Close()
	}
}

// discard closes a connection that cannot be reused.
func (p *upstreamPool) discard(uc *upstreamConn) {
	p.detach(uc)
	_ = uc.conn.Close()
}

func (p *upstreamPool) detach(uc *upstreamConn) {
	uc.sock.dropHeld()
	p.bufs.putLarge(uc.rbuf)
	p.bufs.putWriter(uc.w)
	uc.rbuf, uc.w = nil, nil
	uc.r.Reset(nil, nil, 0)
}

// closeIdle closes the pooled connections not in use.
func (p *upstreamPool) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, uc := range idle {
		_ = uc.conn.Close()
	}
}

// sweep closes the idle connections that may not carry another request: past
// the idle timeout, closed by the target, or holding bytes nobody asked for.
// get checks the one it takes anyway; the sweep frees the others' descriptors
// and the target's resources without waiting for a request.
func (p *upstreamPool) sweep(now time.Time) int {
	var dead []*upstreamConn
	p.mu.Lock()
	kept := p.idle[:0]
	for _, uc := range p.idle {
		if now.Sub(uc.idleSince) < p.idleTimeout && idleOpen(uc.conn) {
			kept = append(kept, uc)
		} else {
			dead = append(dead, uc)
		}
	}
	clear(p.idle[len(kept):])
	p.idle = kept
	p.mu.Unlock()
	for _, uc := range dead {
		_ = uc.conn.Close()
	}
	return len(dead)
}

// idleSweepInterval is how often idle pooled connections are checked.
const idleSweepInterval = 250 * time.Millisecond

// sweepIdle sweeps every target's idle connections until ctx ends.
func (r *Router) sweepIdle(ctx context.Context) {
	ticker := time.NewTicker(idleSweepInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			for _, svc := range r.serviceList() {
				for _, t := range svc.targetList() {
					t.upstreams.sweep(now)
				}
			}
		}
	}
}

// maxAttempts bounds retries of a replayable request whose pooled connection turns
// out to have been closed by the target.
const maxAttempts = 3

// aLongTimeAgo is a deadline in the past: setting it unblocks pending I/O.
var aLongTimeAgo = time.Unix(1, 0)
