package router

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// front is the fast path of one listener: it accepts the connections itself and
// serves each on one goroutine with the h1 parser and a lean proxy loop, not
// through net/http's server. A connection whose request the fast path does not
// handle (protocol upgrades, Expect: 100-continue, HTTP/1.0, unusual framing) is
// handed over, with the bytes already read, to the listener's net/http server,
// which serves it from then on.
type front struct {
	svc     *service
	test    bool
	ln      net.Listener
	port    []byte // X-Forwarded-Port value
	handoff *handoffListener
	opts    frontOptions
	cfg     atomic.Pointer[listenerConfig] // swapped by Apply; each connection keeps its own

	closing atomic.Bool
	// acceptDone is closed when the accept loop (once started) ends:
	// shutdown waits for it, so that a connection the kernel handed over as
	// the listener closed is served, not dropped (the listening socket may
	// live on in a successor agent, which shares its queue of connections).
	acceptDone chan struct{}
	mu         sync.Mutex
	accepting  bool // the accept loop started; guarded by mu
	conns      map[*frontConn]struct{}
	watching   atomic.Bool // the watch loop runs
}

// frontOptions are the client-side limits.
type frontOptions struct {
	headerTimeout time.Duration // to read a request head, from its first byte
	idleTimeout   time.Duration // to wait for the next request on a keep-alive connection
	bodyTimeout   time.Duration // between two reads of a request body
	sendTimeout   time.Duration // for the client to take what the router writes
}

func newFront(s *service, test bool, ln net.Listener, handoff *handoffListener) *front {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &front{
		svc:        s,
		test:       test,
		ln:         ln,
		port:       []byte(port),
		handoff:    handoff,
		opts:       s.router.front,
		acceptDone: make(chan struct{}),
		conns:      map[*frontConn]struct{}{},
	}
}

// serve accepts connections until the listener is closed.
func (f *front) serve() {
	f.mu.Lock()
	if f.closing.Load() {
		f.mu.Unlock()
		return
	}
	f.accepting = true
	f.mu.Unlock()
	defer close(f.acceptDone)
	var backoff time.Duration
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			if f.closing.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait a little, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			f.svc.log.Warn("accept failed; retrying", "err", err, "delay", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := newFrontConn(f, conn)
		f.track(c)
		go c.serve()
	}
}

func (f *front) track(c *frontConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns[c] = struct{}{}
	f.svc.trackConn(c.cc)
}

func (f *front) untrack(c *frontConn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	f.svc.forgetConn(c.cc.conn)
}

// shutdown stops accepting, closes idle connections at once and the others
// after their current response, and waits for them to end or ctx to.
func (f *front) shutdown(ctx context.Context) error {
	if f.stopAccepting() {
		<-f.acceptDone // at once: the listener is closed
	}
	poll := time.Millisecond
	timer := time.NewTimer(poll)
	defer timer.Stop()
	for {
		if f.closeIdle() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
			poll = min(2*poll, 100*time.Millisecond)
			timer.Reset(poll)
		}
	}
}

// stopAccepting closes the listener; it reports whether the accept loop had
// started.
func (f *front) stopAccepting() bool {
	f.mu.Lock()
	f.closing.Store(true)
	accepting := f.accepting
	f.mu.Unlock()
	_ = f.ln.Close()
	return accepting
}

// newConnGrace is how long a new connection may take to send its first request
// once the listener shuts down, as net/http's server allows.
const newConnGrace = 5 * time.Second

// closeIdle closes the connections waiting for a request and returns how many
// connections are left.
func (f *front) closeIdle() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for c := range f.conns {
		if c.idle.Load() || c.served.Load() == 0 && now.Sub(c.accepted) > newConnGrace {
			_ = c.conn.Close()
		}
	}
	return len(f.conns)
}

// close stops accepting and closes every connection.
func (f *front) close() {
	f.stopAccepting()
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		c.cc.cut()
	}
}

// startWatching starts the listener's watch loop unless it runs.
func (f *front) startWatching() {
	if !f.watching.Load() && f.watching.CompareAndSwap(false, true) {
		go f.watchLoop()
	}
}

// watchLoop ticks every watchDelay while exchanges run, starting the watches
// of those that have run for a tick; it ends after a tick that finds none.
func (f *front) watchLoop() {
	ticker := time.NewTicker(watchDelay)
	defer ticker.Stop()
	for range ticker.C {
		if f.tickWatches() {
			continue
		}
		f.watching.Store(false)
		// An exchange armed during the tick may have seen the loop running:
		// one more look, after which an arm sees it stopped.
		if !f.tickWatches() || !f.watching.CompareAndSwap(false, true) {
			return
		}
	}
}

// tickWatches ticks every connection's watcher; it reports whether any has
// an exchange armed.
func (f *front) tickWatches() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	armed := false
	for c := range f.conns {
		if c.watch.tick() {
			armed = true
		}
	}
	return armed
}

// handoffListener is the net.Listener of a listener's net/http server: the fast
// path hands it connections instead of the network.
type handoffListener struct {
	addr  net.Addr
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// handOver gives c to the server; false when the server is closed.
func (l *handoffListener) handOver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

// replayConn is a connection handed over with bytes the fast path had already
// read: they are read again first.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// CloseWrite lets net/http half-close the connection after an error response,
// as it does with a plain TCP connection.
func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
