package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// listener is one bound listener address of a service: the fast path accepts
// its connections, and hands those it does not handle to its net/http server.
type listener struct {
	addr    string // as written in the spec
	bound   string // the address actually bound
	ln      net.Listener
	front   *front
	handoff *handoffListener
	srv     *http.Server
}

// bindListener binds addr with the router's listen function and prepares
// (but does not start) its servers.
func (s *service) bindListener(addr string, test bool) (*listener, error) {
	kind := "production"
	if test {
		kind = "test"
	}
	ln, err := s.router.listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bind %s listener %s: %w", kind, addr, err)
	}
	bound := ln.Addr().String()
	_, port, _ := net.SplitHostPort(bound)
	portValue := []string{port}
	handoff := newHandoffListener(ln.Addr())
	front := newFront(s, test, ln, handoff)
	opts := s.router.front
	srv := &http.Server{
		Handler:           &listenerHandler{svc: s, test: test},
		ReadHeaderTimeout: opts.headerTimeout,
		IdleTimeout:       opts.idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			cfg := front.cfg.Load()
			cc := &clientConn{conn: c, port: portValue, proto: cfg.protoHS, hsts: cfg.hstsHeader, maxBody: cfg.spec.MaxRequestBody}
			s.trackConn(cc)
			return context.WithValue(ctx, connKey{}, cc)
		},
		ConnState: s.connState,
		// HTTP/2 comes from the fast path only: negotiated by ALPN on HTTPS
		// listeners, or with prior knowledge where h2c is on (serveOne).
		Protocols: serverProtocols(),
	}
	return &listener{addr: addr, bound: bound, ln: ln, front: front, handoff: handoff, srv: srv}, nil
}

func serverProtocols() *http.Protocols {
	p := &http.Protocols{}
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// configure makes cfg the listener's config for the connections it accepts
// from now on.
func (l *listener) configure(cfg *listenerConfig) { l.front.cfg.Store(cfg) }

// currentConfig returns the listener's current config; nil for no listener.
func (l *listener) currentConfig() *listenerConfig {
	if l == nil {
		return nil
	}
	return l.front.cfg.Load()
}

func (l *listener) serve(log *slog.Logger) {
	go l.front.serve()
	go func() {
		if err := l.srv.Serve(l.handoff); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("listener stopped", "address", l.bound, "err", err)
		}
	}()
}

// shutdown stops accepting and lets the connections finish their requests
// until ctx ends.
func (l *listener) shutdown(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.front.shutdown(ctx) })
	wg.Go(func() { _ = l.srv.Shutdown(ctx) })
	wg.Wait()
	_ = l.handoff.Close() // in case the server had not started serving it
}

// close closes the listener and every connection left.
func (l *listener) close() {
	l.front.close()
	_ = l.srv.Close()
	_ = l.handoff.Close()
}

// retire stops accepting on l, lets its connections finish their requests for up
// to grace, then closes what is left.
func (l *listener) retire(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	l.shutdown(ctx)
	l.close()
}

// closeNow stops a listener that never served.
func (l *listener) closeNow() { _ = l.ln.Close() }

func (s *service) trackConn(cc *clientConn) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	s.conns[cc.conn] = cc
}

func (s *service) connState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateClosed:
		s.forgetConn(c)
	case http.StateHijacked:
		// The handler forgets the connection when the upgraded session ends.
		s.connMu.Lock()
		if cc := s.conns[c]; cc != nil {
			cc.hijacked.Store(true)
		}
		s.connMu.Unlock()
	}
}

func (s *service) forgetConn(c net.Conn) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	delete(s.conns, c)
}

// cutConns closes the client connections whose current request is served by t,
// and ends its HTTP/2 streams: its deregistration delay is over.
func (s *service) cutConns(t *target) int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	n := t.cutStreams()
	for _, cc := range s.conns {
		if cc.target.Load() == t {
			cc.cut()
			n++
		}
	}
	return n
}

// closeAllConns closes every client connection left, upgraded ones included.
func (s *service) closeAllConns() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c, cc := range s.conns {
		cc.cut()
		delete(s.conns, c)
	}
}
