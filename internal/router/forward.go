package router

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// route picks a target for the request just read, as listenerHandler does, and
// forwards the request; it reports whether the connection can take another.
func (c *frontConn) route() bool {
	start := time.Now()
	svc := c.front.svc
	for range maxPickAttempts {
		g := svc.table.Load().route(c.front.test)
		if g == nil {
			// No target group: nothing to count the request against.
			return c.answer(http.StatusServiceUnavailable, start)
		}
		t := g.pick(start.UnixNano())
		if t == nil {
			g.group.rec.Record(metrics.Outcome{Status: http.StatusServiceUnavailable, Latency: -1})
			return c.answer(http.StatusServiceUnavailable, start)
		}
		if t.acquire() {
			return c.forward(g, t, start)
		}
	}
	return c.answer(http.StatusServiceUnavailable, start)
}

// answer sends one of the router's own answers. The connection goes on only if
// the request's body, which nobody read, can be skipped.
func (c *frontConn) answer(status int, now time.Time) bool {
	skipped := c.skipBody()
	c.unreadInput = c.unreadInput || !skipped
	keep := !c.req.Close && skipped
	writeRouterAnswer(c.writer(), c.front.svc.router.dates.lineFor(now), c.cfg.hsts, status, !keep, c.req.IsHead())
	return keep
}

// skipBody consumes the request body if it is all buffered already.
func (c *frontConn) skipBody() bool {
	q := &c.req
	switch {
	case c.bodyTaken:
		return true // taken with the head (newExchange)
	case q.Chunked:
		return false
	case q.ContentLength <= 0:
		return true
	case int64(len(c.r.Buffered())) >= q.ContentLength:
		c.r.Discard(int(q.ContentLength))
		return true
	}
	return false
}

// forward sends the request to t and relays the response, sending a request
// again on a fresh connection when a pooled one turns out to have been closed
// by the target before it answered (only requests that may be replayed). When
// t cannot be connected to, nothing of the request reached it: it goes to
// another target of g (passOver), whatever its method.
func (c *frontConn) forward(g *groupRoute, t *target, start time.Time) bool {
	ex := c.newExchange(start)
	for tries := 1; ; tries++ {
		keep, next := c.forwardOnce(&ex, g, t, tries)
		if next == nil {
			return keep
		}
		t = next
	}
}

// forwardOnce forwards the request to t, counted against it already; it
// returns the next target, counted against, when t could not be connected to
// and another target may take the request instead.
func (c *frontConn) forwardOnce(ex *exchange, g *groupRoute, t *target, tries int) (bool, *target) {
	ex.t = t
	c.cc.target.Store(t)
	keep, err := c.forwardTo(ex)
	if err != nil {
		if next := c.passOver(g, t, err, tries); next != nil {
			c.cc.target.Store(nil)
			t.release()
			return false, next
		}
		keep = c.targetFailed(ex, err)
	}
	// The response is sent before the request stops counting against t: once
	// nothing counts, a draining target's connections may be cut.
	if err := c.flush(); err != nil {
		keep = false
	}
	c.watch.giveBack(&c.r)
	c.cc.target.Store(nil)
	t.release()
	return keep, nil
}

// passOver handles a connect to t that failed with err: when it failed for
// t's sake (connectFailed), t is passed over for a while and the request goes
// to another target of g, which passOver returns counted against; nil when
// there is none (every one is passed over) or tries targets were tried.
func (c *frontConn) passOver(g *groupRoute, t *target, err error, tries int) *target {
	if !connectFailed(err) {
		return nil
	}
	now := time.Now()
	t.markDown(now, err)
	if tries >= maxPickAttempts {
		return nil
	}
	next := g.another(now)
	if next != nil {
		t.log.Debug("request passed on to another target", "to", next.spec.ID, "err", err)
	}
	return next
}

// newExchange starts a request's exchange: a body that came whole with the
// head is taken out of the client reader once, to be sent to whichever
// target the request goes to, as often as it goes.
func (c *frontConn) newExchange(start time.Time) exchange {
	ex := exchange{start: start, streamBody: c.req.HasBody()}
	if q := &c.req; !q.Chunked && q.ContentLength > 0 && int64(len(c.r.Buffered())) >= q.ContentLength {
		ex.body = c.r.Buffered()[:q.ContentLength]
		ex.streamBody = false
		c.r.Discard(len(ex.body))
		c.bodyTaken = true
	}
	ex.replayable = c.req.Idempotent() && !ex.streamBody
	ex.holdSend = !ex.streamBody && c.requestFits(len(ex.body))
	return ex
}

// forwardTo sends the request to ex.t and relays the response; it returns the
// error of a connect that failed, the request unanswered, else whether the
// client connection can go on.
func (c *frontConn) forwardTo(ex *exchange) (bool, error) {
	start := ex.start
	for attempt := 1; ; attempt++ {
		now := start
		if attempt > 1 {
			now = time.Now()
		}
		up, err := ex.t.upstreams.get(c.front.svc.ctx, now, attempt == maxAttempts, ex.holdSend)
		if err != nil {
			return false, err
		}
		if !up.reused {
			now = time.Now() // after the dial
		}
		ex.up, ex.sent = up, now
		ex.canRetry = ex.replayable && attempt < maxAttempts
		keep, retry := c.exchange(ex)
		if !retry {
			return keep, nil
		}
	}
}

// bodyGrace is how long a request body may take to end after the response
// has: a target that echoes reads the body to its end as it answers.
const bodyGrace = time.Second

// exchange is one request's trip to a target over one connection.
type exchange struct {
	t          *target
	up         *upstreamConn
	start      time.Time
	sent       time.Time // when the request goes: the response header timeout's start
	body       []byte    // the request body when it came whole with the head
	streamBody bool      // the body is streamed by the copier
	replayable bool      // idempotent, its body whole: may go again on another connection
	canRetry   bool
	// holdSend: the request goes in one write, which a reused connection
	// makes once found quiet (rawSocket.sendOnRead) instead of being probed
	// when taken.
	holdSend bool
}

// requestSlack bounds what writeRequestHead adds to a request head besides
// the Host value, the client's address, the port and the protocol.
const requestSlack = 256

// requestFits reports whether the request head as sent to the target, with a
// body of bodyLen bytes, fits in a target connection's write buffer: then it
// goes in one write, when the buffer is flushed.
func (c *frontConn) requestFits(bodyLen int) bool {
	q := &c.req
	n := c.headLen + len(q.Host) + len(c.remoteIP) + len(c.front.port) + len(c.cfg.proto) + requestSlack + bodyLen
	return n <= writeBuffer
}

// errSwitchedProtocols is a 101 answer to a request that asked for no upgrade.
var errSwitchedProtocols = errors.New("target switched protocols without an upgrade request")

// exchange sends the request over ex.up and relays the response. It reports
// whether the client connection can go on, or that the request should be sent
// again on another connection.
func (c *frontConn) exchange(ex *exchange) (keep, retry bool) {
	up, opts := ex.up, &c.front.svc.router.transport
	c.cc.setUpstream(up)
	c.watch.gone = false
	up.r.ResetCount()
	// Only reads need a deadline here: a write that waits has its own idle
	// timeout (rawSocket), and no write deadline is ever left set.
	if ex.streamBody {
		// The response header timeout starts once the body is sent (copier).
		up.headUntil.forget()
		_ = up.conn.SetReadDeadline(time.Time{})
	} else {
		_ = up.headUntil.extend(up.conn, ex.sent, opts.responseHeaderTimeout)
	}
	writeRequestHead(up.w, &c.req, c.remoteIP, c.front.port, c.cfg.proto)
	var err error
	if ex.streamBody {
		c.copier.start(c, up, opts.responseHeaderTimeout)
	} else {
		_, _ = up.w.Write(ex.body)
		if ex.holdSend && up.reused && up.sock != nil {
			up.sock.sendOnRead() // checked and sent by the response's first read
		}
		err = up.w.Flush()
		c.watch.arm()
	}
	var headLen int
	if err == nil {
		headLen, err = c.readResponseHead(up)
	}
	if err != nil {
		return c.exchangeFailed(ex, err)
	}
	return c.relayResponse(ex, headLen), false
}

// readResponseHead reads the final response head into c.resp, passing
// informational responses on to the client.
func (c *frontConn) readResponseHead(up *upstreamConn) (int, error) {
	for {
		n, err := h1.ReadHead(&up.r, c.beforeResponseRead)
		if err != nil {
			return 0, fmt.Errorf("read response from target %s: %w", up.conn.RemoteAddr(), err)
		}
		if err := h1.ParseResponse(up.r.Buffered()[:n], &c.resp); err != nil {
			return 0, fmt.Errorf("parse response from target %s: %w", up.conn.RemoteAddr(), err)
		}
		switch {
		case c.resp.Status == http.StatusSwitchingProtocols:
			return 0, errSwitchedProtocols
		case c.resp.Status < 200:
			w := c.writer()
			writeInterimHead(w, &c.resp)
			if err := w.Flush(); err != nil {
				return 0, err
			}
			up.r.Discard(n)
			continue
		}
		return n, nil
	}
}

// beforeResponseRead sends the client what it is owed (the responses to
// earlier pipelined requests) before waiting for the target.
func (c *frontConn) beforeResponseRead(int) error {
	_ = c.flush() // a client write error shows when the response is relayed
	return nil
}

// exchangeFailed ends an exchange that got no response head: the client is
// gone, or its body failed (400, 408, 413), or the request goes again, or the
// router answers 502 or 504.
func (c *frontConn) exchangeFailed(ex *exchange, err error) (keep, retry bool) {
	c.watch.stop()
	copyErr, copyDone := c.copier.finish(c, ex.up, 0)
	aborted := c.cc.clearUpstream()
	gotBytes := ex.up.r.BytesRead() > 0
	ex.t.upstreams.discard(ex.up)
	rec := ex.t.group.rec
	if status := bodyFault(copyErr); status != 0 {
		rec.Record(metrics.Outcome{Status: status, Latency: -1})
		c.answerAndClose(status)
		return false, false
	}
	var re *h1.ReadError
	switch {
	case errors.As(copyErr, &re) || c.watch.gone || aborted && !isTimeout(copyErr):
		// The client went away before any response: a request without a status.
		rec.Record(metrics.Outcome{Latency: -1})
		return false, false
	case ex.canRetry && ex.up.reused && !gotBytes:
		// A pooled connection the target had closed: send again.
		return false, true
	case errors.Is(err, errNotQuiet):
		// Nothing was sent on the pooled connection: any request may go again.
		return false, true
	}
	status := http.StatusBadGateway
	if isTimeout(err) || isTimeout(copyErr) {
		status = http.StatusGatewayTimeout
	}
	ex.t.log.Warn("proxy error", "status", status, "err", err, "body_err", copyErr)
	rec.Record(metrics.Outcome{Status: status, Latency: -1})
	keep = c.answer(status, time.Now())
	if !copyDone {
		c.unreadInput = true // the rest of the body is still on its way
		keep = false
	}
	return keep, false
}

// bodyFault is the router's answer to a request body that failed on the
// client's side: 400 when malformed, 408 when it stalled past the body
// timeout; 0 for any other error.
func bodyFault(err error) int {
	var re *h1.ReadError
	switch {
	case !errors.As(err, &re):
		return 0
	case errors.Is(re, h1.ErrMalformed):
		return statusBadRequest
	case errors.Is(re, os.ErrDeadlineExceeded):
		return statusRequestTimeout
	}
	return 0
}

func isTimeout(err error) bool { return err != nil && errors.Is(err, os.ErrDeadlineExceeded) }

// targetFailed answers for a target that could not be reached.
func (c *frontConn) targetFailed(ex *exchange, err error) bool {
	status := http.StatusBadGateway
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		status = http.StatusGatewayTimeout
	}
	ex.t.log.Warn("proxy error", "status", status, "err", err)
	ex.t.group.rec.Record(metrics.Outcome{Status: status, Latency: -1})
	return c.answer(status, time.Now())
}

// relayResponse sends the response head read into c.resp and its body to the
// client; it reports whether the client connection can go on.
func (c *frontConn) relayResponse(ex *exchange, headLen int) bool {
	p, up, t := &c.resp, ex.up, ex.t
	now := time.Now()
	t.group.rec.Record(metrics.Outcome{Status: p.Status, FromTarget: true, Latency: now.Sub(ex.start)})
	framing := p.Framing(c.req.IsHead())
	if framing != h1.NoBody && (p.EventStream || framing != h1.Fixed) {
		// A stream may last as long as the connection.
		t.longLived.Add(1)
		defer t.longLived.Add(-1)
	}
	c.copier.headRead()
	closeClient := c.req.Close || c.front.closing.Load()
	streams := framing != h1.NoBody && (framing != h1.Fixed || int64(len(up.r.Buffered())-headLen) < p.ContentLength)
	if streams {
		// The body may stream for as long as it likes, as long as it moves.
		up.headUntil.forget()
		_ = up.conn.SetReadDeadline(time.Time{})
		up.sock.setReadIdle(c.front.svc.router.transport.responseHeaderTimeout)
		defer up.sock.setReadIdle(0)
	}
	w := c.writer()
	writeResponseHead(w, p, c.front.svc.router.dates.lineFor(now), c.cfg.hsts, framing, closeClient)
	up.r.Discard(headLen)
	var err error
	switch framing {
	case h1.Fixed:
		err = h1.CopyFixed(w, &up.r, p.ContentLength)
	case h1.Chunked:
		err = h1.CopyChunked(w, &up.r)
	case h1.UntilClose:
		err = h1.ChunkUntilEOF(w, &up.r)
	}
	c.watch.stop()
	// A target may answer before reading the whole body (an early error) or
	// while it does (an echo): in the second case the body is about done.
	copyErr, copyDone := c.copier.finish(c, up, bodyGrace)
	aborted := c.cc.clearUpstream()
	reusable := err == nil && copyErr == nil && copyDone && !aborted && !p.Close &&
		framing != h1.UntilClose && len(up.r.Buffered()) == 0
	if reusable {
		idleSince := now // the target had sent all by now, unless the body streamed
		if streams {
			idleSince = time.Now()
		}
		t.upstreams.put(up, idleSince)
	} else {
		t.upstreams.discard(up)
	}
	if err != nil {
		t.log.Debug("response relay ended early", "err", err)
		return false
	}
	if !copyDone {
		c.unreadInput = true
		return false
	}
	return !closeClient && copyErr == nil && !c.watch.gone && !aborted
}

// bodyCopier streams a request body to the target on its own goroutine while
// the connection's goroutine waits for the response: a target may answer
// before the body is all sent (an echo, an early error), and must not wait on
// the router for it. Only the connection's goroutine calls its methods.
//
// Every wait is bounded: a read from the client by the body timeout (reset
// by every byte), a write to the target by the target timeout. When the
// client side fails (gone, stalled, malformed, over the limit) or the target
// stops reading, the copier ends the exchange with the target, so that the
// connection's goroutine stops waiting for a response that cannot come.
type bodyCopier struct {
	running  bool // started and not stopped
	finished bool // the goroutine has ended, with err
	err      error
	done     chan error

	mu       sync.Mutex
	response bool // the response head came: the goroutine must not set a deadline
	cutting  bool // finish cuts the copy short: the goroutine's error is the cut's
}

// errBodyCut is a copy finish cut short.
var errBodyCut = errors.New("request body copy cut short")

func (b *bodyCopier) start(c *frontConn, up *upstreamConn, headerTimeout time.Duration) {
	if b.done == nil {
		b.done = make(chan error, 1)
	}
	b.running, b.finished, b.err, b.response, b.cutting = true, false, nil, false, false
	// The head's deadline gives way to the body's idle timeout.
	c.idleUntil.forget()
	_ = c.conn.SetReadDeadline(time.Time{})
	c.sock.setReadIdle(c.front.opts.bodyTimeout)
	go func() { b.done <- b.copy(c, up, headerTimeout) }()
}

// copy runs on the copier's goroutine.
func (b *bodyCopier) copy(c *frontConn, up *upstreamConn, headerTimeout time.Duration) error {
	var err error
	if c.req.Chunked {
		err = h1.CopyChunked(up.w, &c.r) // a limited one is handed over (limitedStream)
	} else {
		err = h1.CopyFixed(up.w, &c.r, c.req.ContentLength)
	}
	if err == nil {
		err = up.w.Flush()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var re *h1.ReadError
	switch {
	case b.cutting && err != nil:
		return errBodyCut
	case err == nil && !b.response:
		// The request is sent: the response header timeout starts.
		_ = up.conn.SetReadDeadline(time.Now().Add(headerTimeout))
	case errors.As(err, &re), isTimeout(err):
		c.cc.abortUpstream() // the client went away or stalled, or the target stopped reading
	}
	return err
}

// poll reports whether the goroutine has ended.
func (b *bodyCopier) poll() bool {
	if !b.finished {
		select {
		case b.err = <-b.done:
			b.finished = true
		default:
		}
	}
	return b.finished
}

// headRead tells the copier the response head came: the response header
// timeout no longer applies.
func (b *bodyCopier) headRead() {
	if b.running {
		b.mu.Lock()
		b.response = true
		b.mu.Unlock()
	}
}

// finish waits up to grace for the copier to end, then cuts it short: it
// returns the copier's error (not the one the cut causes) and whether the body
// was all sent.
func (b *bodyCopier) finish(c *frontConn, up *upstreamConn, grace time.Duration) (error, bool) {
	if !b.running {
		return nil, true
	}
	b.running = false
	if !b.poll() && grace > 0 {
		timer := time.NewTimer(grace)
		select {
		case b.err = <-b.done:
			b.finished = true
		case <-timer.C:
		}
		timer.Stop()
	}
	if !b.finished {
		b.mu.Lock()
		b.cutting = true
		b.mu.Unlock()
		cutReads(c.conn, c.sock)
		cutWrites(up.conn, up.sock)
		b.err, b.finished = <-b.done, true
		c.sock.uncutRead()
	}
	c.sock.setReadIdle(0)
	if b.err == errBodyCut {
		return nil, false
	}
	return b.err, b.err == nil
}

// cutReads ends the reads of conn in progress.
func cutReads(conn net.Conn, s *rawSocket) {
	if s != nil {
		s.cutRead()
		return
	}
	_ = conn.SetReadDeadline(aLongTimeAgo)
}

// cutWrites ends the writes of conn in progress.
func cutWrites(conn net.Conn, s *rawSocket) {
	if s != nil {
		s.cutWrite()
		return
	}
	_ = conn.SetWriteDeadline(aLongTimeAgo)
}
