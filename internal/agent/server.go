// Package agent owns greenlight's long-lived data-plane process: it hosts the router
// and the process supervisor, serves their admin API on a unix socket guarded by a
// token, persists the routes atomically and restores them (health re-checked) after
// a restart, and keeps the controller process running. It owns the socket keeper
// that holds the agent's listening sockets through a crash (keeper.go) and the
// hand-over of sockets, routes and processes to a successor on a restart or an
// upgrade (handover.go), so that neither refuses a connection. It also provides
// the client the rest of greenlight uses to talk to it.
package agent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime/supervisor"
)

// server is the agent: its router, supervisor and sockets, and the admin API.
// Mutations are serialized: a spec is applied and persisted as one step, so
// the state file always matches what the router serves.
type server struct {
	dir       string
	router    *router.Router
	sup       *supervisor.Supervisor // nil until start adopted the processes
	socks     *sockets
	token     string
	statePath string
	log       *slog.Logger
	version   string // reported by /v1/health
	started   time.Time
	shutdown  func()
	watchdog  *Watchdog
	httpSrv   *http.Server
	// stopWatchdog ends the watchdog (a successor runs its own) and waits
	// until it has.
	stopWatchdog func()
	// stopProcesses is set by a shutdown request that also stops what the agent
	// supervises (`greenlight down`).
	stopProcesses atomic.Bool
	// replaced is set once a successor took over: every request is answered
	// with handedOverHeader from then on.
	replaced atomic.Bool
	// gate is held (shared) by every mutating request in flight; a hand-over
	// takes it to let them end before it releases the supervisor.
	gate sync.RWMutex

	mu sync.Mutex // serializes mutations and state writes
}

// persisted is agent-state.json.
type persisted struct {
	Services []routing.ServiceSpec `json:"services"`
	// Versions are the services' versions, so that a restored service goes on
	// counting and a change written against a version read before a crash is
	// stale, never mistaken for current.
	Versions map[string]uint64 `json:"versions,omitempty"`
}

func (s *server) handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.router.Collector())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", s.health)
	mux.HandleFunc("GET /v1/services", s.listServices)
	mux.HandleFunc("GET /v1/services/{name}", s.getService)
	mux.HandleFunc("PUT /v1/services/{name}", s.putService)
	mux.HandleFunc("DELETE /v1/services/{name}", s.deleteService)
	mux.HandleFunc("GET /v1/services/{name}/metrics", s.serviceMetrics)
	mux.HandleFunc("POST /v1/shutdown", s.postShutdown)
	mux.HandleFunc("POST /v1/handover", s.postHandover)
	mux.Handle("/v1/processes", s.sup.Handler())
	mux.Handle("/v1/processes/", s.sup.Handler())
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s.authenticate(s.gated(mux))
}

// gated answers every request with handedOverHeader once a successor took
// over, and holds the gate for the mutating ones in flight.
func (s *server) gated(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/handover" {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.gate.RLock()
			defer s.gate.RUnlock()
		}
		if s.replaced.Load() {
			writeHandedOver(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate requires the bearer token on every request. The socket is 0600
// already; the token keeps a process of the same user that only found the socket
// from driving production.
func (s *server) authenticate(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong agent token"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Health is the agent's identity.
type Health struct {
	PID     int       `json:"pid"`
	Version string    `json:"version"`
	Started time.Time `json:"started"`
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Health{PID: os.Getpid(), Version: s.version, Started: s.started})
}

func (s *server) listServices(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.router.Services())
}

func (s *server) getService(w http.ResponseWriter, r *http.Request) {
	st, ok := s.router.Status(r.PathValue("name"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("service %q is not routed", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) putService(w http.ResponseWriter, r *http.Request) {
	var spec routing.ServiceSpec
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode service spec: %w", err))
		return
	}
	if spec.Name != r.PathValue("name") {
		writeError(w, http.StatusBadRequest, fmt.Errorf("spec name %q does not match path %q", spec.Name, r.PathValue("name")))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaced.Load() { // taken over while this request waited
		writeHandedOver(w)
		return
	}
	prev, existed := s.router.Status(spec.Name)
	if ifMatch := r.Header.Get("If-Match"); ifMatch != "" {
		want, err := strconv.ParseUint(ifMatch, 10, 64)
		if err != nil || !existed || prev.Version != want {
			writeError(w, http.StatusConflict, fmt.Errorf("service %q changed: version is %d, not %s", spec.Name, prev.Version, ifMatch))
			return
		}
	}
	st, err := s.router.Apply(spec)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if err := s.persist(); err != nil {
		// The state file must match what is served: undo, and say why.
		if existed {
			_, _ = s.router.Apply(prev.Spec) // it was applied before: it applies again
		} else {
			_ = s.router.Remove(r.Context(), spec.Name)
		}
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *server) deleteService(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaced.Load() {
		writeHandedOver(w)
		return
	}
	if err := s.router.Remove(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if err := s.persist(); err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) serviceMetrics(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	series, ok := s.router.Series(r.PathValue("name"), since)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("service %q is not routed", r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, series)
}

func (s *server) postShutdown(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("processes") == "stop" {
		s.stopProcesses.Store(true)
	}
	w.WriteHeader(http.StatusAccepted)
	go s.shutdown()
}

// persist writes every service spec to the state file atomically.
func (s *server) persist() error {
	p := persisted{Versions: map[string]uint64{}}
	for _, st := range s.router.Services() {
		p.Services = append(p.Services, st.Spec)
		p.Versions[st.Spec.Name] = st.Version
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode agent state: %w", err)
	}
	return atomicfile.Write(s.statePath, data, 0o600)
}

// restore re-applies the persisted routes after a restart. handedOver is what
// the agent before reported when it handed over (nil after a crash): the
// health its targets keep. Other targets are health-checked before their
// listener opens, so traffic resumes only on live targets.
func (s *server) restore(ctx context.Context, handedOver map[string]routing.ServiceStatus) error {
	data, err := os.ReadFile(s.statePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read agent state: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(data, &p); err != nil {
		return fmt.Errorf("decode agent state %s: %w", s.statePath, err)
	}
	for _, spec := range p.Services {
		last, ok := handedOver[spec.Name]
		if !ok {
			last = routing.ServiceStatus{Version: p.Versions[spec.Name]}
		}
		if _, err := s.router.Restore(ctx, spec, last); err != nil {
			return fmt.Errorf("restore service %s: %w", spec.Name, err)
		}
		s.log.Info("restored service", "service", spec.Name, "health_handed_over", ok)
	}
	return nil
}

// apiError is the JSON body of every error response.
type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, apiError{Error: err.Error()})
}
