// Package serve is `greenlight serve`, the long-running mode: it owns what a
// running server holds together — one control.Backend over every pipeline it
// was given (one local backend per definition, one state directory, one agent
// and one controller), the GitHub webhook endpoint that starts executions, the
// pollers of sources without a webhook, the notifier following the event log,
// the Prometheus metrics, and the HTTP server's life from start (resuming what
// was left in progress) to a graceful stop on SIGTERM.
package serve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/notify/notifyhttp"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/source"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// Options say what a server runs.
type Options struct {
	Definitions  []*manifest.Definition // loaded with Load: names and listeners do not clash
	StateDir     string                 // absolute; shared by every pipeline
	DB           *store.DB              // the state file; the caller closes it after Run
	Site         *daemon.Site           // the agent and controller of StateDir
	PollInterval time.Duration          // sources without a webhook secret; 0: 1 minute
	BaseURL      string                 // where the server is reached, for links in notifications
	Logger       *slog.Logger
	// EnginePoll tunes how often the engines look for approvals and stops (0:
	// their default).
	EnginePoll time.Duration
	// ReadTimeout bounds the reading of a request, its body included (0:
	// DefaultReadTimeout); it does not bound the answer, so live streams
	// (server-sent events, followed logs, the console's live pages) run on. No
	// write timeout is set: it would cut them.
	ReadTimeout time.Duration
	// IdleTimeout bounds a kept-alive connection's wait for its next request
	// (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// Webhook bounds the reading of GitHub deliveries (zero: the defaults).
	Webhook WebhookLimits
}

// Defaults of the HTTP server's timeouts.
const (
	DefaultReadTimeout = time.Minute
	DefaultIdleTimeout = 2 * time.Minute
)

// Server is a running `greenlight serve`.
type Server struct {
	o        Options
	backend  *Multi
	webhook  *Webhook
	metrics  *Metrics
	notifier *notify.Notifier
	poller   *Poller
}

// New builds the server's parts; nothing runs until Run.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o}
	var members []Member
	hidden := secretEnv(o.Definitions)
	for _, def := range o.Definitions {
		b := local.New(local.Options{Definition: def, StateDir: o.StateDir, DB: o.DB, Site: o.Site,
			Logger: o.Logger.With("pipeline", def.Pipeline.Name), PollInterval: o.EnginePoll, HiddenEnv: hidden})
		members = append(members, Member{Pipeline: def.Pipeline.Name, Applications: sortedKeys(def.Applications), Backend: b})
	}
	s.backend = NewMulti(members, s.pipelineOf)
	queue := store.Notifications{DB: o.DB}
	s.metrics = NewMetrics(o.DB, queue, o.Logger)
	s.webhook = &Webhook{Definitions: o.Definitions, Starter: s.backend, Store: store.WebhookDeliveries{DB: o.DB},
		Files: source.New(), StateDir: o.StateDir, Metrics: s.metrics, Logger: o.Logger, Limits: o.Webhook}
	s.notifier = notify.New(notify.Options{RuleSets: ruleSets(o.Definitions), Store: queue, Poster: notifyhttp.New(),
		Secrets: definitionSecrets(o.Definitions), Lookup: queue, BaseURL: o.BaseURL, Logger: o.Logger})
	s.poller = &Poller{Definitions: o.Definitions, Starter: s.backend, Seen: o.DB, Interval: o.PollInterval, Logger: o.Logger}
	return s
}

// pipelineOf reads which pipeline an execution belongs to.
func (s *Server) pipelineOf(ctx context.Context, id string) (string, error) {
	name, err := s.o.DB.ExecutionPipeline(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", control.Errorf(control.CodeNotFound, "no execution %s", id)
	}
	return name, err
}

// Backend is the control surface over every pipeline of the server.
func (s *Server) Backend() control.Backend { return s.backend }

// Webhook is the handler of POST /webhooks/github.
func (s *Server) Webhook() http.Handler { return s.webhook }

// Metrics is the handler of GET /metrics.
func (s *Server) Metrics() http.Handler { return s.metrics.Handler() }

// Handler is the server's own mux, used until an API server is mounted in front
// of it: GET /healthz, POST /webhooks/github and GET /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	mux.Handle("POST /webhooks/github", s.Webhook())
	mux.Handle("GET /metrics", s.Metrics())
	return mux
}

// Run resumes the executions left in progress, serves h on ln and runs the
// notifier and the pollers until ctx ends. Then it stops accepting work: the
// pollers stop, beforeShutdown runs (the API server ends its live streams), the
// HTTP server finishes the requests under way, and the backends release the
// executions they drive (recorded, resumed at the next start); the agent keeps
// serving production. It returns nil after a stop asked through ctx.
func (s *Server) Run(ctx context.Context, ln net.Listener, h http.Handler, beforeShutdown func()) error {
	defer s.backend.Close()
	if ids, err := s.backend.ResumeExecutions(ctx); err != nil {
		s.o.Logger.Error("resume executions", "err", err)
	} else if len(ids) > 0 {
		s.o.Logger.Info("resumed executions left in progress", "executions", ids)
	}
	// net/http lifts a request's read deadline once it is read (its body to
	// the end), so ReadTimeout does not end live streams; a WriteTimeout would.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: cmp.Or(s.o.ReadTimeout, DefaultReadTimeout), IdleTimeout: cmp.Or(s.o.IdleTimeout, DefaultIdleTimeout)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	bg, stopBG := context.WithCancel(ctx)
	var wg sync.WaitGroup
	s.background(bg, &wg)
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		err = fmt.Errorf("serve http: %w", err)
	}
	stopBG()
	wg.Wait()
	if beforeShutdown != nil {
		beforeShutdown()
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil && err == nil {
		err = fmt.Errorf("shut the http server down: %w", serr)
	}
	return err
}

// background runs the notifier and the pollers until ctx ends.
func (s *Server) background(ctx context.Context, wg *sync.WaitGroup) {
	run := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			if err := fn(ctx); err != nil && ctx.Err() == nil {
				s.o.Logger.Error(name+" stopped", "err", err)
			}
		})
	}
	run("notification dispatcher", s.notifier.Run)
	run("notification follower", func(ctx context.Context) error { return s.notifier.Follow(ctx, store.Notifications{DB: s.o.DB}) })
	run("source poller", s.poller.Run)
}

// ruleSets are the definitions' notification rules, each set watching its own
// pipeline and deployment groups and reading its own secrets.
func ruleSets(defs []*manifest.Definition) []notify.RuleSet {
	out := make([]notify.RuleSet, len(defs))
	for i, def := range defs {
		out[i] = notify.RuleSetOf(def, provider.Secrets{Def: def})
	}
	return out
}
