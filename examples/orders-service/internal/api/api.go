// Package api owns the service's HTTP interface: the orders JSON API, /health,
// /version, request logging, and the fault injection (FAIL_RATE, LATENCY_MS) that
// makes a bad release reproducible.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"example.com/orders-service/internal/orders"
)

// List limits of GET /orders?limit=N.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// maxBodyBytes bounds a POST /orders body; the largest valid order is far smaller.
const maxBodyBytes = 1 << 20

// Options configures the handler.
type Options struct {
	Store   *orders.Store
	Version string    // reported by /version
	Started time.Time // reported by /version
	Faults  Faults    // applied to /orders requests only
	Logger  *slog.Logger
}

// Handler is the service's HTTP handler.
type Handler struct {
	http.Handler
	store    *orders.Store
	version  string
	started  time.Time
	inFlight atomic.Int64 // /orders requests being handled
}

// New returns the service's handler. Faults apply to /orders routes only: a bad
// release still passes health checks and is caught by hooks and alarms.
func New(opts Options) *Handler {
	h := &Handler{store: opts.Store, version: opts.Version, started: opts.Started}
	ordersRoute := func(f http.HandlerFunc) http.Handler { return h.track(opts.Faults.Wrap(f)) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", h.health)
	mux.HandleFunc("GET /version", h.versionInfo)
	mux.HandleFunc("GET /stats", h.stats)
	mux.Handle("POST /orders", ordersRoute(h.create))
	mux.Handle("GET /orders", ordersRoute(h.list))
	mux.Handle("GET /orders/{id}", ordersRoute(h.get))
	h.Handler = logRequests(opts.Logger, mux)
	return h
}

// InFlight is the number of /orders requests being handled: what a graceful
// shutdown waits for.
func (h *Handler) InFlight() int64 { return h.inFlight.Load() }

func (h *Handler) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.inFlight.Add(1)
		defer h.inFlight.Add(-1)
		next.ServeHTTP(w, r)
	})
}

// ErrorBody is the JSON body of every error response of the API.
type ErrorBody struct {
	Error   string              `json:"error"`
	Details []orders.FieldError `json:"details,omitempty"`
}

// StatsBody is the JSON body of GET /stats: what this task holds and is doing, to
// watch a drain.
type StatsBody struct {
	Orders         int   `json:"orders"`
	OrdersInFlight int64 `json:"orders_in_flight"`
}

// VersionBody is the JSON body of GET /version.
type VersionBody struct {
	Version string    `json:"version"`
	Started time.Time `json:"started"`
}

func (h *Handler) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (h *Handler) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, StatsBody{Orders: h.store.Len(), OrdersInFlight: h.InFlight()})
}

func (h *Handler) versionInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, VersionBody{Version: h.version, Started: h.started.UTC()})
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	n, err := DecodeNewOrder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, err)
		return
	}
	o, err := h.store.Create(n)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Location", "/orders/"+o.ID)
	writeJSON(w, http.StatusCreated, o)
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"orders": h.store.List(limit)})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	o, err := h.store.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// DecodeNewOrder reads one JSON object describing a new order. Unknown fields and
// trailing data are errors, so that a misspelt field never silently becomes zero.
func DecodeNewOrder(r io.Reader) (orders.NewOrder, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var n orders.NewOrder
	if err := dec.Decode(&n); err != nil {
		return orders.NewOrder{}, &badRequestError{msg: "invalid JSON body: " + describeJSONError(err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return orders.NewOrder{}, &badRequestError{msg: "invalid JSON body: unexpected data after the order object"}
	}
	return n, nil
}

func parseLimit(s string) (int, error) {
	if s == "" {
		return DefaultListLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, fmt.Errorf("limit=%q: must be an integer from 1 to %d", s, MaxListLimit)
	}
	return n, nil
}

type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }

func describeJSONError(err error) string {
	var tooBig *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Sprintf("body larger than %d bytes", tooBig.Limit)
	case errors.As(err, &typeErr):
		return fmt.Sprintf("field %q: expected %s, got JSON %s", typeErr.Field, jsonTypeName(typeErr.Type.Kind()), typeErr.Value)
	case errors.Is(err, io.EOF):
		return "empty body, expected an order object"
	default:
		return strings.TrimPrefix(err.Error(), "json: ")
	}
}

// jsonTypeName names a Go kind the way a JSON client thinks of it.
func jsonTypeName(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return k.String()
	}
}

// writeError maps domain errors to status codes.
func writeError(w http.ResponseWriter, err error) {
	var invalid *orders.ValidationError
	var bad *badRequestError
	switch {
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: "validation failed", Details: invalid.Fields})
	case errors.As(err, &bad):
		writeJSON(w, http.StatusBadRequest, ErrorBody{Error: bad.msg})
	case errors.Is(err, orders.ErrNotFound):
		writeJSON(w, http.StatusNotFound, ErrorBody{Error: err.Error()})
	default:
		writeJSON(w, http.StatusInternalServerError, ErrorBody{Error: "internal error"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The status line is sent; an encoding error can only be a broken connection.
	_ = json.NewEncoder(w).Encode(v)
}
