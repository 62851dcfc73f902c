package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// backend is a real HTTP server on loopback standing in for a task.
type backend struct {
	name   string
	addr   string
	srv    *http.Server
	health atomic.Int32 // status of /health
	// healthDelay makes /health slow (nanoseconds), to provoke timeouts.
	healthDelay atomic.Int64
	hits        atomic.Int64
	waiting     atomic.Int64 // /wait requests received
	cancelled   atomic.Int64 // /wait requests whose client went away
	conns       atomic.Int64 // connections accepted
	// /early: its answers gone out, and what it read of each body after.
	earlyAnswered chan struct{}
	earlyBodies   chan bodyRead
}

// bodyRead is what a backend handler read of a request body.
type bodyRead struct {
	n     int64
	whole bool // up to its end
}

func startBackend(t testing.TB, name string) *backend {
	t.Helper()
	return startBackendWith(t, name, func(*http.Server) {})
}

// startBackendWith lets a test tune the server (timeouts) before it starts.
func startBackendWith(t testing.TB, name string, configure func(*http.Server)) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return serveBackend(t, name, ln, configure)
}

// serveBackend serves a backend on ln.
func serveBackend(t testing.TB, name string, ln net.Listener, configure func(*http.Server)) *backend {
	t.Helper()
	b := &backend{name: name, addr: ln.Addr().String(), earlyAnswered: make(chan struct{}, 16), earlyBodies: make(chan bodyRead, 16)}
	b.health.Store(http.StatusOK)
	b.srv = &http.Server{Handler: b.mux(), ReadHeaderTimeout: 10 * time.Second}
	b.srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	configure(b.srv)
	go func() { _ = b.srv.Serve(ln) }()
	t.Cleanup(b.stop)
	return b
}

func (b *backend) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = b.srv.Shutdown(ctx)
	_ = b.srv.Close()
}

func (b *backend) mux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(b.healthDelay.Load()))
		w.WriteHeader(int(b.health.Load()))
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		code, _ := strconv.Atoi(r.PathValue("code"))
		w.Header().Set("X-Backend", b.name)
		w.WriteHeader(code)
	})
	mux.HandleFunc("/sleep/{d}", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		d, _ := time.ParseDuration(r.PathValue("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("X-Backend", b.name)
		_, _ = io.WriteString(w, b.name)
	})
	mux.HandleFunc("/sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Backend", b.name)
		rc := http.NewResponseController(w)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %s %d\n\n", b.name, i); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte(b.name+":"), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		w.Header().Set("X-Backend", b.name)
		_ = http.NewResponseController(w).EnableFullDuplex()
		_, _ = io.Copy(w, r.Body)
	})
	mux.HandleFunc("POST /early", func(w http.ResponseWriter, r *http.Request) {
		// A target that decides before it has the body: its first read asks
		// for the body (100 Continue), then it sends a whole response, then
		// reads the rest of the body.
		rc := http.NewResponseController(w)
		_ = rc.EnableFullDuplex()
		n, _ := io.ReadFull(r.Body, make([]byte, 1))
		w.Header().Set("Content-Length", "6")
		_, _ = io.WriteString(w, "early\n")
		_ = rc.Flush()
		notify(b.earlyAnswered, struct{}{})
		m, err := io.Copy(io.Discard, r.Body)
		notify(b.earlyBodies, bodyRead{n: int64(n) + m, whole: err == nil})
	})
	mux.HandleFunc("/wait/{d}", func(w http.ResponseWriter, r *http.Request) {
		// Like /sleep, but counts requests whose client went away.
		d, _ := time.ParseDuration(r.PathValue("d"))
		b.waiting.Add(1)
		select {
		case <-time.After(d):
			_, _ = io.WriteString(w, b.name)
		case <-r.Context().Done():
			b.cancelled.Add(1)
		}
	})
	small := []byte("hello from the backend\n")
	mux.HandleFunc("/small", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(small)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h := w.Header()
		h.Set("X-Backend", b.name)
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port"} {
			h.Set("Echo-"+k, r.Header.Get(k))
		}
		h.Set("Echo-Host", r.Host)
		_, _ = io.WriteString(w, b.name)
	})
	return mux
}

// notify sends v on c unless c is full: a backend never blocks on a test
// that does not listen.
func notify[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

func (b *backend) target(id string) TargetSpec { return TargetSpec{ID: id, Address: b.addr} }

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("ROUTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func newTestRouter(t testing.TB) *Router {
	t.Helper()
	return newTestRouterWith(t, Options{})
}

// newTestRouterWith is newTestRouter with opts (its logger and metrics
// retention are the tests').
func newTestRouterWith(t testing.TB, opts Options) *Router {
	t.Helper()
	opts.Logger, opts.MetricsRetention = testLogger(t), time.Minute
	r := New(opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Errorf("close router: %v", err)
		}
	})
	return r
}

// fastHealth checks often, so that tests see transitions quickly; the timeout
// and unhealthy threshold keep a loaded machine from flapping targets.
func fastHealth() HealthCheck {
	return HealthCheck{
		Path:               "/health",
		Interval:           Duration(200 * time.Millisecond),
		Timeout:            Duration(190 * time.Millisecond),
		HealthyThreshold:   2,
		UnhealthyThreshold: 3,
		Matcher:            "200",
	}
}

// twoGroupSpec is the usual blue-green shape: blue and green groups, one target
// each, production all on blue.
func twoGroupSpec(name string, blue, green []TargetSpec) ServiceSpec {
	return ServiceSpec{
		Name:                name,
		ProductionListener:  "127.0.0.1:0",
		HealthCheck:         fastHealth(),
		DeregistrationDelay: Duration(5 * time.Second),
		TargetGroups: []TargetGroupSpec{
			{Name: "blue", Targets: blue},
			{Name: "green", Targets: green},
		},
		ProductionWeights: map[string]int{"blue": 100},
	}
}

func mustApply(t testing.TB, r *Router, spec ServiceSpec) ServiceStatus {
	t.Helper()
	st, err := r.Apply(spec)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return st
}

// eventually polls cond until it holds or the (generous) timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func targetState(r *Router, service, id string) (TargetStatus, bool) {
	st, ok := r.Status(service)
	if !ok {
		return TargetStatus{}, false
	}
	for _, g := range st.TargetGroups {
		for _, ts := range g.Targets {
			if ts.ID == id {
				return ts, true
			}
		}
	}
	return TargetStatus{}, false
}

func waitState(t testing.TB, r *Router, service, id string, want TargetState) TargetStatus {
	t.Helper()
	var last TargetStatus
	eventually(t, 15*time.Second, fmt.Sprintf("target %s to be %s", id, want), func() bool {
		var ok bool
		last, ok = targetState(r, service, id)
		return ok && last.State == want
	})
	return last
}

func waitGone(t testing.TB, r *Router, service, id string) {
	t.Helper()
	eventually(t, 30*time.Second, fmt.Sprintf("target %s to leave the status", id), func() bool {
		_, ok := targetState(r, service, id)
		return !ok
	})
}

func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
		Timeout:   30 * time.Second,
	}
}

// get does one request and returns the status and X-Backend header.
func get(t testing.TB, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("X-Backend")
}

func isConnRefused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// requestInFlight sends GET url in the background and returns once the router
// counts it in flight on the target; the channel yields its status (-1 on error).
func requestInFlight(t *testing.T, r *Router, url, service, target string) <-chan int {
	t.Helper()
	result := make(chan int, 1)
	go func() {
		resp, err := newClient().Get(url)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	eventually(t, 10*time.Second, "request in flight", func() bool {
		ts, _ := targetState(r, service, target)
		return ts.InFlight == 1
	})
	return result
}
