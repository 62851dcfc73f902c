package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// DefaultGrace is the stop grace period when a DELETE names none (Docker's too).
const DefaultGrace = 10 * time.Second

const maxSpecBytes = 1 << 20

// Handler serves the supervisor's HTTP API. It routes full paths under
// /v1/processes, so mount it at that prefix without stripping it; the caller
// handles authentication.
//
//	POST   /v1/processes                   runtime.TaskSpec -> runtime.Task (201)
//	GET    /v1/processes?label=k=v         -> []runtime.Task (label may repeat)
//	GET    /v1/processes/{id}              -> runtime.Task (404 when unknown)
//	DELETE /v1/processes/{id}?grace=5s     -> 204 (idempotent)
//	GET    /v1/processes/{id}/logs?follow=1 -> text/plain, streamed with follow
//
// Errors are JSON {"error": "..."} with 400, 404, 503 or 500.
func (s *Supervisor) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/processes", s.handleStart)
	mux.HandleFunc("GET /v1/processes", s.handleList)
	mux.HandleFunc("GET /v1/processes/{id}", s.handleInspect)
	mux.HandleFunc("DELETE /v1/processes/{id}", s.handleStop)
	mux.HandleFunc("GET /v1/processes/{id}/logs", s.handleLogs)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Supervisor) handleStart(w http.ResponseWriter, r *http.Request) {
	var spec runtime.TaskSpec
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSpecBytes))
	if err := dec.Decode(&spec); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode task spec: %w", err))
		return
	}
	task, err := s.Start(r.Context(), spec)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusCreated, task)
}

func (s *Supervisor) handleList(w http.ResponseWriter, r *http.Request) {
	labels := map[string]string{}
	for _, kv := range r.URL.Query()["label"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			writeError(w, http.StatusBadRequest, fmt.Errorf("label %q: want key=value", kv))
			return
		}
		labels[k] = v
	}
	tasks, err := s.List(r.Context(), labels)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, tasks)
}

func (s *Supervisor) handleInspect(w http.ResponseWriter, r *http.Request) {
	task, err := s.Inspect(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	writeJSON(w, http.StatusOK, task)
}

func (s *Supervisor) handleStop(w http.ResponseWriter, r *http.Request) {
	grace := DefaultGrace
	if g := r.URL.Query().Get("grace"); g != "" {
		d, err := time.ParseDuration(g)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("grace %q: want a duration such as 5s or 500ms, not negative", g))
			return
		}
		grace = d
	}
	if err := s.Stop(r.Context(), r.PathValue("id"), grace); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Supervisor) handleLogs(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	follow := r.URL.Query().Get("follow")
	if follow != "" && follow != "0" && follow != "1" && follow != "true" && follow != "false" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("follow %q: want 1 or 0", follow))
		return
	}
	// Answer 404 while the status can still change; the stream commits to 200.
	if _, err := s.Inspect(r.Context(), id); err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	following := follow == "1" || follow == "true"
	if following {
		_ = rc.SetWriteDeadline(time.Time{}) // a follow outlives any server write timeout
		_ = rc.Flush()
	}
	err := s.Logs(r.Context(), id, &flushWriter{w: w, rc: rc}, following)
	if err != nil && r.Context().Err() == nil {
		s.logger.Warn("stream task logs", "task", id, "err", err)
	}
}

// flushWriter sends each write to the client at once, for followed logs.
type flushWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err != nil {
		return n, err
	}
	return n, f.rc.Flush()
}

func statusOf(err error) int {
	var specErr *SpecError
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return http.StatusNotFound
	case errors.As(err, &specErr):
		return http.StatusBadRequest
	case errors.Is(err, errClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
