package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/orders-service/internal/config"
)

func listen(t *testing.T, cfg config.Config) *Server {
	t.Helper()
	srv, err := Listen(cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestGracefulShutdownFinishesInFlightRequests is what a blue-green cutover relies
// on: SIGTERM (here: ctx cancelled) while a request is being handled lets that
// request finish, and the listener stops accepting new connections.
func TestGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	srv := listen(t, config.Config{Host: "127.0.0.1", Latency: 500 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	url := "http://" + srv.Addr().String()

	type result struct {
		status int
		err    error
	}
	inFlight := make(chan result, 1)
	go func() {
		resp, err := http.Post(url+"/orders", "application/json",
			strings.NewReader(`{"customer":"ada","items":[{"sku":"A","quantity":1,"price_cents":5}]}`))
		if err != nil {
			inFlight <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		inFlight <- result{status: resp.StatusCode}
	}()
	waitActive(t, srv)
	cancel()

	select {
	case r := <-inFlight:
		if r.err != nil || r.status != http.StatusCreated {
			t.Fatalf("in-flight request: status %d, err %v; want 201", r.status, r.err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v, want nil after a clean shutdown", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Serve did not return after shutdown")
	}
	if conn, err := net.Dial("tcp", srv.Addr().String()); err == nil {
		conn.Close()
		t.Fatal("the listener still accepts connections after shutdown")
	}
}

// waitActive polls until the slow request is being handled, not merely sent.
func waitActive(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.api.InFlight() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestListenReportsTheAddressInUse(t *testing.T) {
	first := listen(t, config.Config{Host: "127.0.0.1"})
	defer first.ln.Close()
	port := first.Addr().(*net.TCPAddr).Port
	_, err := Listen(config.Config{Host: "127.0.0.1", Port: port}, "test", slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "listen on 127.0.0.1:") {
		t.Fatalf("Listen on a used port = %v, want an error naming the address", err)
	}
}
