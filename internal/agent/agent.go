package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/runtime/supervisor"
)

// Files of a state directory the agent owns.
const (
	SocketFile = "agent.sock"
	TokenFile  = "agent.token"
	LockFile   = "agent.lock"
	PIDFile    = "agent.pid"
	LogFile    = "agent.log"
	StateFile  = "agent-state.json"
	ProcessDir = "tasks"
)

// Config configures the agent process.
type Config struct {
	StateDir string
	Logger   *slog.Logger
	// MetricsRetention is how long the router keeps 100ms metric slots.
	MetricsRetention time.Duration
	// Watchdog keeps the controller process running; nil disables it.
	Watchdog *Watchdog
	// Version is what /v1/health reports: the hash of the installed binary
	// (InstallBinary), "dev" when empty.
	Version string
}

// Run is the agent's main: it serves until ctx ends or a shutdown request arrives.
// On ctx's end (SIGTERM: an upgrade, a restart) supervised processes keep running
// and are re-adopted by the next agent; a shutdown request with processes=stop
// (`greenlight down`) stops them first.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	lock, err := flock.TryAcquire(filepath.Join(dir, LockFile))
	if err != nil {
		return fmt.Errorf("agent for %s: %w", dir, err)
	}
	defer lock.Release()
	token, err := loadOrCreateToken(filepath.Join(dir, TokenFile))
	if err != nil {
		return err
	}
	sup, err := supervisor.New(dir, log.With("component", "supervisor"))
	if err != nil {
		return fmt.Errorf("start supervisor: %w", err)
	}
	defer sup.Close()
	rt := router.New(router.Options{Logger: log.With("component", "router"), MetricsRetention: cfg.MetricsRetention})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	srv := &server{router: rt, sup: sup, token: token, statePath: filepath.Join(dir, StateFile), log: log,
		version: cmp.Or(cfg.Version, "dev"), started: time.Now()}
	srv.shutdown = func() { once.Do(cancel) }
	if err := srv.restore(ctx); err != nil {
		return err
	}
	sock, err := SocketPath(dir)
	if err != nil {
		return err
	}
	ln, err := listenSocket(sock)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	httpSrv := &http.Server{Handler: srv.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = httpSrv.Serve(ln) }() // ends with Shutdown
	if cfg.Watchdog != nil {
		go cfg.Watchdog.Run(ctx, log.With("component", "watchdog"))
	}
	log.Info("agent started", "state_dir", dir, "pid", os.Getpid())
	<-ctx.Done()
	return shutdown(httpSrv, rt, sup, cfg.Watchdog, srv.stopProcesses.Load(), log)
}

func shutdown(httpSrv *http.Server, rt *router.Router, sup *supervisor.Supervisor, wd *Watchdog, stopProcesses bool, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if stopProcesses {
		if wd != nil {
			errs = append(errs, wd.StopController(ctx))
		}
		errs = append(errs, sup.StopAll(ctx, 10*time.Second))
	}
	errs = append(errs, rt.Close(ctx), httpSrv.Shutdown(ctx))
	log.Info("agent stopped", "stopped_processes", stopProcesses)
	return errors.Join(errs...)
}

// listenSocket listens on the unix socket, replacing a stale one (the caller holds
// the lock, so no live agent owns it).
func listenSocket(path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict socket: %w", err)
	}
	return ln, nil
}
