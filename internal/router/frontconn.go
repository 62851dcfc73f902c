package router

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
	"golang.org/x/crypto/acme"
)

// Request head limits, an ALB's: a head that does not fit gets 431.
const maxRequestHead = 64 << 10

// frontConn is one client connection on the fast path, served by one goroutine:
// read a request head, route, forward, relay the response, again.
type frontConn struct {
	front    *front
	conn     net.Conn   // the accepted connection, read and written as a rawSocket
	sock     *rawSocket // conn's socket: idle timeouts and cuts; nil if it has none
	tls      *tls.Conn  // conn over TLS (HTTPS listener), or nil
	cfg      *listenerConfig
	cc       *clientConn // cc.conn is the connection as accepted
	remoteIP []byte      // X-Forwarded-For value for this client

	r    h1.Reader
	rbuf *[]byte       // the pooled buffer under r
	w    *bufio.Writer // toward the client; pooled, nil between responses

	req      h1.Request
	resp     h1.Response
	accepted time.Time
	idle     atomic.Bool // waiting for the first byte of a request after the first

	headLen     int          // the length of the request head being served
	served      atomic.Int64 // requests read so far
	headTimed   bool         // the header deadline of the request being read is set
	idleUntil   readDeadline // the idle timeout's deadline, between requests
	handedOver  bool         // the net/http server owns the connection now
	unreadInput bool         // the client may still be sending: close with a linger
	bodyTaken   bool         // the request's body came whole and was taken (newExchange)
	watch       watcher
	copier      bodyCopier
}

func newFrontConn(f *front, conn net.Conn) *frontConn {
	c := &frontConn{front: f, conn: newRawSocket(conn), accepted: time.Now(), cfg: f.cfg.Load()}
	if c.sock = socketOf(c.conn); c.sock != nil {
		c.sock.setWriteIdle(f.opts.sendTimeout)
	}
	c.cc = &clientConn{conn: conn, port: []string{string(f.port)}, proto: c.cfg.protoHS}
	c.remoteIP = []byte(remoteIP(conn.RemoteAddr().String()))
	c.watch.c = c
	return c
}

func (c *frontConn) buffers() *h1Buffers { return c.front.svc.router.h1bufs }

func (c *frontConn) serve() {
	if c.cfg.tls != nil && !c.startTLS() {
		if !c.handedOver {
			c.front.untrack(c)
			c.watch.close()
			_ = c.conn.Close()
		}
		return
	}
	bufs := c.buffers()
	c.rbuf = bufs.getSmall()
	c.r.Reset(c.conn, *c.rbuf, maxRequestHead)
	// The first request's head must arrive within the header timeout.
	_ = c.conn.SetReadDeadline(time.Now().Add(c.front.opts.headerTimeout))
	c.headTimed = true
	for c.serveOne() {
	}
	if c.handedOver {
		return
	}
	_ = c.flush() // the last answer, when the connection ends with one of the router's own
	c.front.untrack(c)
	c.release()
	if c.unreadInput {
		c.lingeringClose()
		return
	}
	_ = c.conn.Close()
}

// startTLS makes the TLS handshake within the header timeout. It reports
// whether the connection goes on to the fast path: HTTP/2 is handed over to
// the listener's net/http server; an ACME TLS-ALPN-01 challenge ends with
// its handshake.
func (c *frontConn) startTLS() bool {
	tc := tls.Server(c.conn, c.cfg.tls.config)
	_ = tc.SetDeadline(time.Now().Add(c.front.opts.headerTimeout))
	if err := tc.Handshake(); err != nil {
		c.front.svc.log.Debug("TLS handshake", "remote", c.cc.conn.RemoteAddr(), "err", err)
		return false
	}
	_ = tc.SetDeadline(time.Time{})
	c.conn, c.tls = tc, tc
	switch tc.ConnectionState().NegotiatedProtocol {
	case alpnH2:
		c.front.untrack(c)
		c.watch.close()
		c.handedOver = true
		if !c.front.handoff.handOver(tc) {
			_ = tc.Close()
		}
		return false
	case acme.ALPNProto:
		return false
	}
	return true
}

// lingerTime bounds how long a connection closed with input unread is drained.
const lingerTime = 500 * time.Millisecond

// lingeringClose closes a connection whose client may still be sending (a
// body the target did not want): closing with unread input would make the
// kernel reset the connection, which can destroy the response before the
// client reads it. So the router half-closes, reads until the client closes
// too or lingerTime passes, then closes.
func (c *frontConn) lingeringClose() {
	defer c.conn.Close()
	cw, ok := c.conn.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	_ = c.conn.SetReadDeadline(time.Now().Add(lingerTime))
	var discard [512]byte
	for {
		if _, err := c.conn.Read(discard[:]); err != nil {
			return
		}
	}
}

// serveOne reads and answers one request; it reports whether the connection
// goes on to the next.
func (c *frontConn) serveOne() bool {
	n, err := h1.ReadHead(&c.r, c.beforeHeadRead)
	c.idle.Store(false)
	c.headTimed = false
	if err != nil {
		c.headFailed(err)
		return false
	}
	err = h1.ParseRequest(c.r.Buffered()[:n], &c.req)
	switch {
	case err == nil && !c.req.Upgrade && !c.req.Expect && !c.limitedStream():
	case string(c.req.Method) == "PRI" && !c.cfg.spec.H2C:
		// HTTP/2 with prior knowledge, which this listener does not take.
		c.answerAndClose(statusVersionNotSupported)
		return false
	case err == nil, errors.Is(err, h1.ErrUnsupported):
		c.handOver()
		return false
	case errors.Is(err, h1.ErrTooManyFields):
		c.answerAndClose(statusHeaderTooLarge)
		return false
	default:
		c.answerAndClose(statusBadRequest)
		return false
	}
	c.r.Discard(n)
	c.headLen = n
	c.bodyTaken = false
	c.served.Add(1)
	if limit := c.cfg.spec.MaxRequestBody; limit > 0 && c.req.ContentLength > limit {
		c.answerAndClose(statusBodyTooLarge)
		return false
	}
	return c.route() && !c.front.closing.Load()
}

// limitedStream reports whether the request's body has no declared length
// while the listener limits bodies: such a request goes to the net/http
// server, which holds the target's response until the body has ended within
// the limit (413 if not, never a 200 from a target that answered early).
func (c *frontConn) limitedStream() bool {
	return c.req.Chunked && c.cfg.spec.MaxRequestBody > 0
}

// beforeHeadRead runs before each read of a request head: it sends the
// responses owed so far, and sets the deadline: the idle timeout while no byte
// of the request has come, the header timeout once one has.
func (c *frontConn) beforeHeadRead(buffered int) error {
	if err := c.flush(); err != nil {
		return err
	}
	switch {
	case buffered == 0 && c.served.Load() > 0:
		c.releaseWriter()
		c.idle.Store(true)
		if c.front.closing.Load() {
			return net.ErrClosed // shutting down: no new request on this connection
		}
		// Now as the time since the accept: one clock read, not two.
		return c.idleUntil.extend(c.conn, c.accepted.Add(time.Since(c.accepted)), c.front.opts.idleTimeout)
	case buffered > 0 && !c.headTimed:
		c.headTimed = true
		c.idleUntil.forget()
		return c.conn.SetReadDeadline(time.Now().Add(c.front.opts.headerTimeout))
	}
	return nil
}

// headFailed ends a connection whose next request head could not be read.
func (c *frontConn) headFailed(err error) {
	switch {
	case errors.Is(err, h1.ErrHeadTooLarge):
		c.answerAndClose(statusHeaderTooLarge)
	case errors.Is(err, os.ErrDeadlineExceeded) && len(c.r.Buffered()) > 0:
		// A slow client that started a request and did not finish its head.
		c.answerAndClose(statusRequestTimeout)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, os.ErrDeadlineExceeded):
	default:
		c.front.svc.log.Debug("read request head", "err", err)
	}
}

// handOver gives the connection, with the bytes read so far, to the listener's
// net/http server.
func (c *frontConn) handOver() {
	if err := c.flush(); err != nil {
		return
	}
	pending := append([]byte(nil), c.r.Buffered()...)
	_ = c.conn.SetReadDeadline(time.Time{})
	c.front.untrack(c)
	c.release()
	c.handedOver = true
	inner := c.cc.conn
	if c.tls != nil {
		inner = c.tls
	}
	if !c.front.handoff.handOver(&replayConn{Conn: inner, pending: pending}) {
		_ = c.conn.Close()
	}
}

// writer returns the writer toward the client, taking one from the pool.
func (c *frontConn) writer() *bufio.Writer {
	if c.w == nil {
		c.w = c.buffers().getWriter(c.conn)
	}
	return c.w
}

func (c *frontConn) flush() error {
	if c.w == nil || c.w.Buffered() == 0 {
		return nil
	}
	return c.w.Flush()
}

func (c *frontConn) releaseWriter() {
	if c.w != nil {
		c.buffers().putWriter(c.w)
		c.w = nil
	}
}

func (c *frontConn) release() {
	c.releaseWriter()
	if c.rbuf != nil {
		c.buffers().putSmall(c.rbuf)
		c.rbuf = nil
		c.r.Reset(nil, nil, 0)
	}
	c.watch.close()
}

// answerAndClose sends one of the router's own answers and ends the connection
// (the rest of what the client sent cannot be trusted, or read).
func (c *frontConn) answerAndClose(status int) {
	c.unreadInput = true
	w := c.writer()
	writeRouterAnswer(w, c.front.svc.router.dates.lineFor(time.Now()), c.cfg.hsts, status, true, false)
	_ = w.Flush()
}
