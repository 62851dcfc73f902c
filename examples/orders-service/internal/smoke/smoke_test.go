package smoke

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/orders-service/internal/api"
	"example.com/orders-service/internal/orders"
)

// serve runs the real API on a loopback port.
func serve(t *testing.T, version string, faults api.Faults) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(api.New(api.Options{
		Store:   orders.NewStore(time.Now),
		Version: version,
		Started: time.Now(),
		Faults:  faults,
		Logger:  slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	return srv
}

func options(url string, out *bytes.Buffer) Options {
	return Options{
		BaseURL:      url,
		Rounds:       3,
		Timeout:      30 * time.Second,
		PollInterval: 10 * time.Millisecond,
		Client:       &http.Client{Timeout: 10 * time.Second},
		Out:          out,
	}
}

func TestPassesAgainstAHealthyRelease(t *testing.T) {
	srv := serve(t, "abc1234", api.Faults{})
	var out bytes.Buffer
	opts := options(srv.URL+"/", &out)
	opts.ExpectVersion = "abc1234"
	if err := Run(t.Context(), opts); err != nil {
		t.Fatalf("Run = %v\n%s", err, out.String())
	}
	for _, want := range []string{"ok  healthy", "version abc1234", "ok  rejects an invalid order", "ok  unknown order is 404", "(round 3)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestFailsAgainstABadRelease(t *testing.T) {
	srv := serve(t, "bad", api.Faults{FailRate: 1})
	var out bytes.Buffer
	err := Run(t.Context(), options(srv.URL, &out))
	want := "rejects an invalid order: POST /orders: status 500, want 400: " + `{"error":"injected failure (FAIL_RATE=1)"}`
	if err == nil || err.Error() != want {
		t.Fatalf("Run = %v\nwant %s", err, want)
	}
}

// TestCatchesHalfFailingRelease: the one-line bad release (FAIL_RATE=0.5) fails the
// smoke test. Seeded, so deterministic; any fair generator passes with odds 1 in 2048.
func TestCatchesHalfFailingRelease(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	srv := serve(t, "bad", api.Faults{FailRate: 0.5, Rand: rng.Float64})
	var out bytes.Buffer
	if err := Run(t.Context(), options(srv.URL, &out)); err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("Run = %v, want a 500 failure", err)
	}
}

func TestFailsOnAnotherVersion(t *testing.T) {
	srv := serve(t, "old1111", api.Faults{})
	var out bytes.Buffer
	opts := options(srv.URL, &out)
	opts.ExpectVersion = "new2222"
	err := Run(t.Context(), opts)
	if err == nil || err.Error() != `version: GET /version: serves version "old1111", expected "new2222"` {
		t.Fatalf("Run = %v", err)
	}
}

func TestWaitsUntilHealthy(t *testing.T) {
	real := api.New(api.Options{Store: orders.NewStore(time.Now), Version: "v", Started: time.Now(), Logger: slog.New(slog.DiscardHandler)})
	var healthChecks atomic.Int32
	// A router with no healthy target yet answers 503 for a while.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" && healthChecks.Add(1) <= 3 {
			http.Error(w, "no healthy targets", http.StatusServiceUnavailable)
			return
		}
		real.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	if err := Run(t.Context(), options(srv.URL, &out)); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if n := healthChecks.Load(); n != 4 {
		t.Fatalf("%d health checks, want 4 (three 503s, then 200)", n)
	}
}

func TestGivesUpWhenNothingAnswers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var out bytes.Buffer
	opts := options("http://"+addr, &out)
	opts.Timeout = 300 * time.Millisecond
	err = Run(t.Context(), opts)
	if err == nil || !strings.HasPrefix(err.Error(), "healthy: not healthy before the deadline: GET /health: ") {
		t.Fatalf("Run = %v", err)
	}
}

func TestCatchesAWrongTotal(t *testing.T) {
	// A release that answers 201 with a wrong total: the smoke test checks the
	// answer, not only the status.
	real := api.New(api.Options{Store: orders.NewStore(time.Now), Version: "v", Started: time.Now(), Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		real.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if r.Method == http.MethodPost && rec.Code == http.StatusCreated {
			var o orders.Order
			if err := json.Unmarshal(body, &o); err != nil {
				t.Error(err)
			}
			o.TotalCents++
			body, _ = json.Marshal(o)
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	err := Run(t.Context(), options(srv.URL, &out))
	want := "create, get and list an order (round 1): POST /orders: total_cents 2600, want 2599"
	if err == nil || err.Error() != want {
		t.Fatalf("Run = %v\nwant %s", err, want)
	}
}
