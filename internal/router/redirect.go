package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// redirectServer serves a listener's RedirectHTTP address: ACME HTTP-01
// challenges when the listener uses ACME, and for everything else a permanent
// redirect to the HTTPS listener, as an ALB's HTTP-to-HTTPS redirect rule
// does.
type redirectServer struct {
	addr   string // as in the spec
	ln     net.Listener
	srv    *http.Server
	target atomic.Pointer[redirectTarget]
}

// redirectTarget is where requests go: the HTTPS listener's port, and the
// ACME challenge handler.
type redirectTarget struct {
	port string
	acme http.Handler // nil without ACME
}

const acmeChallengePrefix = "/.well-known/acme-challenge/"

func (s *service) bindRedirect(addr string) (*redirectServer, error) {
	ln, err := s.router.listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bind redirect listener %s: %w", addr, err)
	}
	rs := &redirectServer{addr: addr, ln: ln}
	rs.srv = &http.Server{
		Handler:           rs,
		ReadHeaderTimeout: s.router.front.headerTimeout,
		IdleTimeout:       s.router.front.idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return rs, nil
}

func (rs *redirectServer) serve(log *slog.Logger) {
	go func() {
		if err := rs.srv.Serve(rs.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("redirect listener stopped", "address", rs.addr, "err", err)
		}
	}()
}

func (rs *redirectServer) retire(grace time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_ = rs.srv.Shutdown(ctx)
	_ = rs.srv.Close()
}

func (rs *redirectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := rs.target.Load()
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if t.acme != nil && strings.HasPrefix(r.URL.Path, acmeChallengePrefix) {
		// autocert checks the Host against the domains as is; a CA reaching
		// a listener on another port than 80 names the port too.
		r = r.Clone(r.Context())
		r.Host = host
		t.acme.ServeHTTP(w, r)
		return
	}
	if host == "" {
		http.Error(w, "400 Bad Request: no Host to redirect to", http.StatusBadRequest)
		return
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if t.port != "443" {
		host += ":" + t.port
	}
	http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusMovedPermanently)
}

// bindRedirects binds the redirect addresses the service does not serve yet.
func (s *service) bindRedirects(b *boundListeners, spec ServiceSpec) error {
	var err error
	if want := spec.Listeners.Production.RedirectHTTP; want != "" && (s.prodRedirect == nil || s.prodRedirect.addr != want) {
		if b.prodRedirect, err = s.bindRedirect(want); err != nil {
			return err
		}
	}
	if want := spec.Listeners.Test.RedirectHTTP; want != "" && (s.testRedirect == nil || s.testRedirect.addr != want) {
		if b.testRedirect, err = s.bindRedirect(want); err != nil {
			return err
		}
	}
	return nil
}

// swapRedirects puts the redirect servers of the new spec in service and
// retires those it no longer has.
func (s *service) swapRedirects(b boundListeners, cfgs listenerConfigs, grace time.Duration) {
	s.prodRedirect = s.swapRedirect(s.prodRedirect, b.prodRedirect, s.prod, cfgs.prod, grace)
	s.testRedirect = s.swapRedirect(s.testRedirect, b.testRedirect, s.test, cfgs.test, grace)
}

func (s *service) swapRedirect(cur, bound *redirectServer, l *listener, cfg *listenerConfig, grace time.Duration) *redirectServer {
	if bound != nil || cfg == nil || cfg.spec.RedirectHTTP == "" || l == nil {
		if cur != nil {
			go cur.retire(grace)
		}
		cur = bound
	}
	if cur == nil {
		return nil
	}
	_, port, _ := net.SplitHostPort(l.bound)
	t := &redirectTarget{port: port}
	if cfg.tls != nil && cfg.tls.acme != nil {
		t.acme = cfg.tls.acme.HTTPHandler(nil)
	}
	cur.target.Store(t)
	if bound != nil {
		bound.serve(s.log)
	}
	return cur
}
