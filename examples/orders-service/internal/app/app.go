// Package app owns running the service: listening, serving, and the graceful
// shutdown that lets a blue-green cutover drain in-flight requests.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"example.com/orders-service/internal/api"
	"example.com/orders-service/internal/config"
	"example.com/orders-service/internal/orders"
)

// ShutdownTimeout is how long in-flight requests may take to finish after SIGTERM.
// ECS's default stopTimeout is 30s; the task definition gives the container more
// than this.
const ShutdownTimeout = 10 * time.Second

// Server is the service bound to its listener.
type Server struct {
	ln     net.Listener
	http   *http.Server
	api    *api.Handler
	logger *slog.Logger
}

// Listen binds cfg's address and prepares the service; Serve starts answering.
func Listen(cfg config.Config, version string, logger *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", cfg.Addr())
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
	}
	handler := api.New(api.Options{
		Store:   orders.NewStore(time.Now),
		Version: version,
		Started: time.Now(),
		Faults:  api.Faults{FailRate: cfg.FailRate, Latency: cfg.Latency},
		Logger:  logger,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      config.MaxLatency + 30*time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return &Server{ln: ln, http: srv, api: handler, logger: logger}, nil
}

// Addr is the address the server listens on (with the real port when PORT was 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve answers requests until ctx ends, then stops accepting connections and waits
// up to ShutdownTimeout for in-flight requests. It returns nil after a clean
// shutdown.
func (s *Server) Serve(ctx context.Context) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.http.Serve(s.ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down", "in_flight", s.api.InFlight(), "timeout", ShutdownTimeout.String())
	// ctx is done: shutdown gets its own deadline so in-flight requests can finish.
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	s.logger.Info("stopped")
	return nil
}
