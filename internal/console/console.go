// Package console is greenlight's web console: an http.Handler that shows
// pipelines, executions, action logs and test reports, approvals, deployments
// with their traffic, and the audit log, and lets people stop, retry, approve,
// reject, continue and roll back, each as their token's role allows.
//
// It owns the pages (html/template, embedded with their CSS and JavaScript),
// the login that turns an API token into a session cookie, CSRF protection of
// every form, and the live updates of its pages (server-sent events built on
// control.Backend's Events, ReadLog and DeploymentMetrics). It talks to
// greenlight only through control.Backend, and checks and audits every call
// with the same access.Verb as the HTTP API. Every page is complete without
// JavaScript; the script only patches live regions and follows logs.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// Access is what the console needs of internal/access (*access.Service has it).
type Access interface {
	Authenticate(ctx context.Context, token string) (access.Principal, error)
	Authorize(p access.Principal, verb access.Verb) error
	Record(ctx context.Context, r access.AuditRecord) error
	Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error)
	Tokens(ctx context.Context) ([]access.Token, error)
}

// Options say what a Console serves.
type Options struct {
	Backend control.Backend // required
	Access  Access          // required
	// Secure marks the cookies Secure (and names them with the __Host- prefix)
	// on every request. Without it they are so on a request that came over
	// TLS: r.TLS set, or X-Forwarded-Proto: https from a proxy in front.
	Secure bool
	Logger *slog.Logger
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// Poll is how often live pages read the backend again (default 500ms).
	Poll time.Duration
}

// Console is the web console's handler.
type Console struct {
	opts     Options
	log      *slog.Logger
	pages    *pages
	sessions *sessions
	origin   *http.CrossOriginProtection
	mux      *http.ServeMux

	closing   chan struct{} // closed by Close: live streams end
	closeOnce sync.Once
}

var _ http.Handler = (*Console)(nil)

// New returns the console on opts.Backend and opts.Access.
func New(opts Options) (*Console, error) {
	if opts.Backend == nil || opts.Access == nil {
		return nil, errors.New("console: Backend and Access are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	p, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	c := &Console{opts: opts, log: opts.Logger, pages: p, sessions: newSessions(opts.SessionTTL),
		origin: http.NewCrossOriginProtection(), mux: http.NewServeMux(), closing: make(chan struct{})}
	c.routes()
	return c, nil
}

// Close ends the live update streams the console serves, so that a server's
// graceful shutdown does not wait for them (browsers reconnect to the next
// server). Pages keep being served. It is idempotent.
func (c *Console) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	return nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	c.mux.ServeHTTP(w, r)
}

// routes registers every page; those behind c.user need a session.
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /static/", staticHandler())
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.login)
	m.HandleFunc("POST /logout", c.user(c.logout))
	m.HandleFunc("GET /{$}", c.user(c.pipelinesPage))
	m.HandleFunc("GET /pipelines/{pipeline}", c.user(c.historyPage))
	m.HandleFunc("POST /pipelines/{pipeline}/executions", c.user(c.startExecution))
	m.HandleFunc("GET /executions/{id}", c.user(c.executionPage))
	m.HandleFunc("GET /executions/{id}/live", c.user(c.executionLive))
	m.HandleFunc("POST /executions/{id}/stop", c.user(c.stopExecution))
	m.HandleFunc("POST /executions/{id}/retry", c.user(c.retryStage))
	m.HandleFunc("GET /executions/{id}/actions/{stage}/{action}", c.user(c.actionPage))
	m.HandleFunc("GET /executions/{id}/actions/{stage}/{action}/log", c.user(c.actionLog))
	m.HandleFunc("GET /executions/{id}/approvals/{stage}/{action}", c.user(c.approvalPage))
	m.HandleFunc("POST /executions/{id}/approvals/{stage}/{action}", c.user(c.decide))
	m.HandleFunc("GET /deployments", c.user(c.deploymentsPage))
	m.HandleFunc("GET /deployments/{id}", c.user(c.deploymentPage))
	m.HandleFunc("GET /deployments/{id}/live", c.user(c.deploymentLive))
	m.HandleFunc("POST /deployments/{id}/command", c.user(c.commandDeployment))
	m.HandleFunc("GET /audit", c.user(c.auditPage))
	m.HandleFunc("/", c.notFound)
}
