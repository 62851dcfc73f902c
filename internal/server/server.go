// Package server is the HTTP face of `greenlight serve`: the JSON API under
// /api/v1 (one route per control-surface verb, plus the audit log, tokens and
// notification deliveries), its live streams (server-sent events of the event
// log, followed action logs), and the mounts of what the serve command composes
// (the GitHub webhook, Prometheus metrics, the web console).
//
// It owns authentication (bearer tokens), the role check of every route (from
// one table, Routes) and the audit record of every mutating call. It drives
// greenlight only through control.Backend, so it serves any backend.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/notify"
)

// Access is what the server needs of internal/access (*access.Service has it).
type Access interface {
	Authenticate(ctx context.Context, token string) (access.Principal, error)
	Authorize(p access.Principal, verb access.Verb) error
	Record(ctx context.Context, r access.AuditRecord) error
	Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error)
	Tokens(ctx context.Context) ([]access.Token, error)
	Create(ctx context.Context, name string, role access.Role, expiresIn time.Duration) (string, access.Token, error)
	Revoke(ctx context.Context, name string) (access.Token, error)
}

// Deliveries lists notification deliveries, newest first (store.Notifications
// has it).
type Deliveries interface {
	RecentDeliveries(ctx context.Context, limit int) ([]notify.Delivery, error)
}

// Options say what a Server serves.
type Options struct {
	Backend control.Backend // required
	Access  Access          // required
	// Deliveries lists notification deliveries; nil answers the route with
	// not_supported.
	Deliveries Deliveries
	// Webhook is mounted at POST /webhooks/github without a token: the
	// delivery's signature authenticates it. nil: not mounted.
	Webhook http.Handler
	// Metrics is mounted at GET /metrics behind a viewer token. nil: not mounted.
	Metrics http.Handler
	// Console is mounted at / (it has its own sign-in). nil: not mounted.
	Console http.Handler
	Logger  *slog.Logger
	// Poll is how often live streams read the backend again (default 250ms).
	Poll time.Duration
	// Heartbeat is how long an idle event stream waits before a comment keeps
	// it open through proxies (default 15s).
	Heartbeat time.Duration
}

// Server is the HTTP handler of `greenlight serve`.
type Server struct {
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	closing chan struct{} // closed by Close: live streams end
	once    sync.Once
}

var _ http.Handler = (*Server)(nil)

// New returns the server of opts.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil || opts.Access == nil {
		return nil, errors.New("server: Backend and Access are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 15 * time.Second
	}
	s := &Server{opts: opts, log: opts.Logger, mux: http.NewServeMux(), closing: make(chan struct{})}
	s.mount()
	return s, nil
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// Close ends the live streams being served, so that http.Server.Shutdown does
// not wait for them; ordinary requests are still answered. It is idempotent.
func (s *Server) Close() error {
	s.once.Do(func() { close(s.closing) })
	return nil
}

// mount registers the route table and the mounted handlers.
func (s *Server) mount() {
	for _, rt := range routes {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.guard(rt))
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, control.Errorf(control.CodeNotFound, "no API route %s %s (see docs/api.md)", r.Method, r.URL.Path))
	})
	if s.opts.Webhook != nil {
		s.mux.Handle("POST /webhooks/github", s.opts.Webhook)
	}
	if s.opts.Console != nil {
		s.mux.Handle("/", s.opts.Console)
	}
}
