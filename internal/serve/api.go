package serve

import (
	"fmt"
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/console"
	"github.com/greenlight-ci/greenlight/internal/server"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// API is the server's HTTP face: the JSON API with tokens, roles and audit
// (internal/server) with the webhook, the metrics and the web console mounted.
// Close ends its live streams; call it before the HTTP server shuts down.
type API struct {
	http.Handler
	Close func()
}

// API builds the API server on the server's backend and state file.
func (s *Server) API() (*API, error) {
	acc := &access.Service{Store: store.Access{DB: s.o.DB}}
	con, err := console.New(console.Options{Backend: s.backend, Access: acc, Logger: s.o.Logger})
	if err != nil {
		return nil, fmt.Errorf("web console: %w", err)
	}
	api, err := server.New(server.Options{Backend: s.backend, Access: acc, Deliveries: store.Notifications{DB: s.o.DB},
		Webhook: s.Webhook(), Metrics: s.Metrics(), Console: con, Logger: s.o.Logger})
	if err != nil {
		return nil, fmt.Errorf("api server: %w", err)
	}
	return &API{Handler: api, Close: func() { _ = api.Close() }}, nil
}
