// Command testapp is the revision the deploy tests release: an HTTP server on $HOST:$PORT
// whose behaviour each release sets through its environment, as a task definition
// would.
//
//   - VERSION: the body of GET / (which release answered).
//   - FAIL_RATE: fraction of GET / answered 500 (a bad release).
//   - LATENCY_MS: delay before answering GET /.
//   - UNHEALTHY=1: /health answers 503 (a release that never becomes healthy).
//   - CRASH_AFTER_MS: exit with status 3 after that long (a crashing release).
//   - PRINT_ENV=NAME: print NAME=value at start (a release that logs a secret).
//
// GET /env?name=X answers the variable X.
//
// GET /sse streams an event every 100 ms until the client or the server goes away.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	failRate, _ := strconv.ParseFloat(os.Getenv("FAIL_RATE"), 64)
	latency, _ := strconv.Atoi(os.Getenv("LATENCY_MS"))
	version := os.Getenv("VERSION")
	if ms, err := strconv.Atoi(os.Getenv("CRASH_AFTER_MS")); err == nil {
		time.AfterFunc(time.Duration(ms)*time.Millisecond, func() {
			fmt.Fprintln(os.Stderr, "testapp: crashing on purpose")
			os.Exit(3)
		})
	}
	if path := os.Getenv("CRASH_IF_EXISTS"); path != "" {
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintln(os.Stderr, "testapp: crashing at start on purpose")
			os.Exit(4)
		}
	}
	if name := os.Getenv("PRINT_ENV"); name != "" {
		fmt.Printf("%s=%s\n", name, os.Getenv(name))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("UNHEALTHY") == "1" {
			http.Error(w, "unhealthy on purpose", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Duration(latency) * time.Millisecond)
		if failRate > 0 && rand.Float64() < failRate {
			http.Error(w, "failing on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, version)
	})
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		flusher := w.(http.Flusher)
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %s %d\n\n", version, i); err != nil {
				return
			}
			flusher.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	host := os.Getenv("HOST") // the task's own loopback address (process driver)
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, os.Getenv("PORT")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("testapp %s listening on %s\n", version, ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
}
