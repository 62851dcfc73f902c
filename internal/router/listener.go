package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// listener is one bound listener address of a service and its HTTP server.
type listener struct {
	addr  string // as written in the spec
	bound string // the address actually bound
	ln    net.Listener
	srv   *http.Server
}

// Server timeouts toward clients. IdleTimeout is an ALB's default idle timeout;
// there is no write timeout, since streams may last as long as the client wants.
const (
	clientReadHeaderTimeout = 30 * time.Second
	clientIdleTimeout       = 60 * time.Second
)

// bindListener binds addr and prepares (but does not start) its server.
func (s *service) bindListener(addr string, test bool) (*listener, error) {
	kind := "production"
	if test {
		kind = "test"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bind %s listener %s: %w", kind, addr, err)
	}
	bound := ln.Addr().String()
	_, port, _ := net.SplitHostPort(bound)
	portValue := []string{port}
	srv := &http.Server{
		Handler:           &listenerHandler{svc: s, test: test},
		ReadHeaderTimeout: clientReadHeaderTimeout,
		IdleTimeout:       clientIdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			cc := &clientConn{conn: c, port: portValue}
			s.trackConn(cc)
			return context.WithValue(ctx, connKey{}, cc)
		},
		ConnState: s.connState,
	}
	return &listener{addr: addr, bound: bound, ln: ln, srv: srv}, nil
}

func (l *listener) serve(log *slog.Logger) {
	go func() {
		if err := l.srv.Serve(l.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("listener stopped", "address", l.bound, "err", err)
		}
	}()
}

// retire stops accepting on l, lets its connections finish their requests for up
// to grace, then closes what is left.
func (l *listener) retire(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = l.srv.Shutdown(ctx)
	_ = l.srv.Close()
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

// cutConns closes the client connections whose current request is served by t:
// its deregistration delay is over.
func (s *service) cutConns(t *target) int {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	n := 0
	for c, cc := range s.conns {
		if cc.target.Load() == t {
			_ = c.Close()
			n++
		}
	}
	return n
}

// closeAllConns closes every client connection left, upgraded ones included.
func (s *service) closeAllConns() {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.conns {
		_ = c.Close()
		delete(s.conns, c)
	}
}
