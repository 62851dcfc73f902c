// Command testserver is the application the runtime tests run as a process and
// as a FROM scratch container: an HTTP server on $PORT (default 8080) that
// answers /health, /env?name=X, /uid, /cwd and /, prints a line when it starts
// and when it stops, and stops gracefully on SIGTERM.
//
// Knobs, all environment variables:
//   - CRASH_AFTER_MS=N: exit with code 3 after N milliseconds (crash detection).
//   - IGNORE_SIGTERM=1: ignore SIGTERM, so that only a kill stops it.
//   - GREETING: the body of GET /.
//   - HOST: the address to listen on (default all interfaces, as in a container).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

func run() error {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(os.Getenv("HOST"), port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: routes(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("testserver listening on %s pid %d\n", ln.Addr(), os.Getpid())

	if ms := os.Getenv("CRASH_AFTER_MS"); ms != "" {
		n, err := strconv.Atoi(ms)
		if err != nil {
			return fmt.Errorf("CRASH_AFTER_MS=%q: %w", ms, err)
		}
		time.AfterFunc(time.Duration(n)*time.Millisecond, func() {
			fmt.Fprintln(os.Stderr, "testserver crashing with exit code 3")
			os.Exit(3)
		})
	}

	sigs := make(chan os.Signal, 1)
	if os.Getenv("IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return err
	case sig := <-sigs:
		fmt.Printf("testserver stopping on %s\n", sig)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Println("testserver stopped")
	return nil
}

func routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("GET /uid", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, os.Getuid())
	})
	mux.HandleFunc("GET /cwd", func(w http.ResponseWriter, _ *http.Request) {
		dir, err := os.Getwd()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, dir)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, os.Getenv("GREETING"))
	})
	return mux
}
