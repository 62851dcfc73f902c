// Command testserver is the application the runtime tests run as a process and
// as a FROM scratch container: an HTTP server on $PORT (default 8080) that
// answers /health, /env?name=X, /uid, /cwd, /upstream and /, prints a line when
// it starts and when it stops, and stops gracefully on SIGTERM.
//
// Two other modes, for the containers of a task that are not servers:
//   - testserver probe PORT: a health check; exits 0 when GET /health on PORT
//     (at $HOST, else localhost) answers 200, 1 otherwise.
//   - testserver oneshot: prints "oneshot done" and exits with $EXIT_CODE
//     (default 0).
//
// Knobs, all environment variables:
//   - CRASH_AFTER_MS=N: exit with code 3 after N milliseconds (crash detection).
//   - IGNORE_SIGTERM=1: ignore SIGTERM, so that only a kill stops it.
//   - GREETING: the body of GET /.
//   - HOST: the address to listen on (default all interfaces, as in a container).
//   - UPSTREAM_PORT: GET /upstream answers what GET / answers on that port of the
//     task's own address ($HOST, else localhost): a sidecar reaching the app.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:]))
	}
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

// command runs the probe and oneshot modes and returns the exit status.
func command(args []string) int {
	switch {
	case args[0] == "probe" && len(args) == 2:
		status, _, err := get(args[1], "/health")
		if err != nil || status != http.StatusOK {
			fmt.Fprintln(os.Stderr, "probe failed:", status, err)
			return 1
		}
		return 0
	case args[0] == "oneshot":
		fmt.Println("oneshot done")
		code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
		return code
	}
	fmt.Fprintln(os.Stderr, "usage: testserver [probe PORT | oneshot]")
	return 2
}

// get fetches path on port of the task's own address: $HOST with the process
// driver, localhost in a container's network namespace.
func get(port, path string) (int, string, error) {
	host := os.Getenv("HOST")
	if host == "" {
		host = "localhost"
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + net.JoinHostPort(host, port) + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
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
	mux.HandleFunc("GET /upstream", func(w http.ResponseWriter, _ *http.Request) {
		status, body, err := get(os.Getenv("UPSTREAM_PORT"), "/")
		if err != nil || status != http.StatusOK {
			http.Error(w, fmt.Sprintf("upstream: %d %v", status, err), http.StatusBadGateway)
			return
		}
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, os.Getenv("GREETING"))
	})
	return mux
}
