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
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime/supervisor"
)

func newServer(dir string, cfg Config, socks *sockets, log *slog.Logger, shutdown func()) (*server, error) {
	token, err := loadOrCreateToken(filepath.Join(dir, TokenFile))
	if err != nil {
		return nil, err
	}
	rt := router.New(router.Options{Logger: log.With("component", "router"), MetricsRetention: cfg.MetricsRetention, Listen: socks.listen})
	return &server{
		dir: dir, router: rt, socks: socks, token: token, statePath: filepath.Join(dir, StateFile),
		log: log, version: cmp.Or(cfg.Version, "dev"), started: time.Now(), shutdown: shutdown, watchdog: cfg.Watchdog,
	}, nil
}

// start serves the routes, then (once a predecessor let go of them) adopts
// the supervised processes and serves the admin API.
func (s *server) start(ctx context.Context, from *takeover) error {
	if err := s.restore(ctx, from.services()); err != nil {
		return err
	}
	s.socks.closeUnclaimed()
	if from != nil {
		if err := s.socks.holdAll(); err != nil {
			return fmt.Errorf("give the keeper the sockets: %w", err)
		}
		if err := from.serving(); err != nil {
			// It may have died after hearing this agent serves: going on is
			// safer than leaving the sockets to nobody. The supervisor's lock
			// says when the processes are free.
			s.log.Warn("the old agent did not confirm the hand-over", "err", err)
		}
	}
	sup, err := s.adoptProcesses(ctx, from != nil)
	if err != nil {
		return err
	}
	s.sup = sup
	admin, err := s.adminListener()
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(s.dir, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	s.httpSrv = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(admin) }() // ends with Shutdown or Close
	s.startWatchdogs(ctx)
	if err := s.socks.keeper.up(); err != nil {
		s.log.Warn("socket keeper did not hear the agent is up: a crash would not be recovered", "err", err)
	}
	return nil
}

// adoptProcesses opens the supervisor; after a hand-over, waiting (up to
// handoverTimeout) for a predecessor that still holds it.
func (s *server) adoptProcesses(ctx context.Context, handedOver bool) (*supervisor.Supervisor, error) {
	deadline := time.Now()
	if handedOver {
		deadline = deadline.Add(handoverTimeout)
	}
	for {
		sup, err := supervisor.New(s.dir, s.log.With("component", "supervisor"))
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("start supervisor: %w", err)
			}
			return sup, nil
		}
		if !sleepCtx(ctx, 50*time.Millisecond) {
			return nil, fmt.Errorf("start supervisor: %w", ctx.Err())
		}
	}
}

func (s *server) startWatchdogs(ctx context.Context) {
	wctx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	s.stopWatchdog = func() { stop(); running.Wait() }
	if s.watchdog != nil {
		running.Go(func() { s.watchdog.Run(wctx, s.log.With("component", "watchdog")) })
	}
	if s.socks.keeper != nil {
		running.Go(func() { s.watchKeeper(wctx) })
	}
}

// adminListener returns the admin socket: inherited, or a new one given to
// the keeper.
func (s *server) adminListener() (*net.UnixListener, error) {
	s.socks.mu.Lock()
	ln := s.socks.admin
	s.socks.mu.Unlock()
	if ln != nil {
		return ln, nil
	}
	path, err := SocketPath(s.dir)
	if err != nil {
		return nil, err
	}
	ln, err = listenSocket(path)
	if err != nil {
		return nil, err
	}
	s.socks.mu.Lock()
	s.socks.admin = ln
	s.socks.mu.Unlock()
	s.socks.hold(fileAdmin, ln)
	return ln, nil
}

// keeperPoll is how often an agent checks that its keeper still runs.
const keeperPoll = time.Second

// watchKeeper notices the keeper's death (the agent is its child, so its
// parent changes) and hands over to a new agent under a new keeper: without
// one, a crash would refuse connections again.
func (s *server) watchKeeper(ctx context.Context) {
	parent := os.Getppid()
	tick := time.NewTicker(keeperPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if os.Getppid() == parent {
			continue
		}
		s.log.Error("socket keeper died: handing over to a new agent under a new keeper")
		if err := spawnSuccessor(s.dir); err != nil {
			s.log.Error("start a successor", "err", err)
		}
		return
	}
}

// spawnSuccessor starts a keeper whose agent takes over from this one.
func spawnSuccessor(dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	_, err = spawn(exe, agentArgs(dir, true), filepath.Join(dir, LogFile))
	return err
}

// stop ends the agent: after a hand-over, a drain; else a stop, with the
// supervised processes when asked.
func (s *server) stop() error {
	if s.replaced.Load() {
		return s.drainAfterHandover()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopProcesses := s.stopProcesses.Load()
	var errs []error
	if stopProcesses {
		if s.watchdog != nil {
			// The watchdog must be over before the controller is stopped: else
			// it could start one right after.
			s.stopWatchdog()
			errs = append(errs, s.watchdog.StopController(ctx))
		}
		errs = append(errs, s.sup.StopAll(ctx, 10*time.Second))
	}
	errs = append(errs, s.router.Close(ctx), s.httpSrv.Shutdown(ctx), s.sup.Close())
	if path, err := SocketPath(s.dir); err == nil {
		_ = os.Remove(path)
	}
	s.socks.dropAll()
	s.log.Info("agent stopped", "stopped_processes", stopProcesses)
	return errors.Join(errs...)
}

// drainAfterHandover lets the requests in flight, and those that come on the
// connections this agent has, finish on the routes as they are, bounded by the
// longest deregistration delay.
func (s *server) drainAfterHandover() error {
	bound := drainBound(s.router.Services())
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	err := s.router.Release(ctx)
	s.closeAdminAPI()
	s.socks.dropAll()
	s.log.Info("agent drained after the hand-over", "bound", bound, "err", err)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // what was left was cut, as a deregistration delay's end does
	}
	return err
}

// drainBound is the longest deregistration delay of services, plus the time
// net/http's connections get to end after their last response.
func drainBound(services []routing.ServiceStatus) time.Duration {
	longest := time.Duration(0)
	for _, st := range services {
		longest = max(longest, st.Spec.DeregistrationDelay.D())
	}
	return longest + 5*time.Second
}

// abort undoes a start that failed.
func (s *server) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.router.Close(ctx); err != nil {
		s.log.Warn("close router", "err", err)
	}
	if s.httpSrv != nil {
		_ = s.httpSrv.Close()
	}
	if s.sup != nil {
		_ = s.sup.Close()
	}
	s.socks.dropAll()
}

// closeAdminAPI lets the admin requests in flight finish (they are answered
// with handedOverHeader) before it closes what remains.
func (s *server) closeAdminAPI() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.httpSrv.Shutdown(ctx) != nil {
		_ = s.httpSrv.Close()
	}
}
