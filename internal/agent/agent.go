package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/statedir"
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
	// Keeper is the link to the socket keeper that started this agent
	// (KeeperFromEnvironment); nil when none did: a crash then closes the
	// listening sockets with the process.
	Keeper *net.UnixConn
	// TakeOver makes the agent take the sockets, routes and supervised
	// processes over from the agent serving the directory now, which drains
	// and exits (a restart, an upgrade). With no agent running it starts as
	// usual.
	TakeOver bool
}

// Run is the agent's main: it serves until ctx ends, a shutdown request
// arrives, or a successor took over. On ctx's end (SIGTERM) supervised
// processes keep running and are re-adopted by the next agent; a shutdown
// request with processes=stop (`greenlight down`) stops them first.
func Run(ctx context.Context, cfg Config) error {
	log := cmpLogger(cfg.Logger)
	dir, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return err
	}
	if opened, err := statedir.Ensure(dir); err != nil {
		return err
	} else if opened != 0 {
		log.Warn(fmt.Sprintf("the state directory was open to other users (%#o); it is now %#o", opened, statedir.Perm), "dir", dir)
	}
	keeper := newKeeperLink(cfg.Keeper)
	defer keeper.close()
	socks := newSockets(keeper, log)
	from, err := acquire(ctx, dir, cfg, socks)
	if err != nil {
		socks.dropAll()
		return err
	}
	defer from.abort()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := newServer(dir, cfg, socks, log, cancel)
	if err != nil {
		socks.dropAll()
		return err
	}
	if err := srv.start(ctx, from); err != nil {
		srv.abort()
		return err
	}
	log.Info("agent started", "state_dir", dir, "pid", os.Getpid(), "took_over_from", from.pid())
	<-ctx.Done()
	return srv.stop()
}

// acquire gets the agent's right to serve dir: the lock and the sockets from
// its keeper (after a crash), from the agent serving now (a take-over, which
// it returns), or a lock of its own.
func acquire(ctx context.Context, dir string, cfg Config, socks *sockets) (*takeover, error) {
	hello, files, err := socks.keeper.hello()
	if err == nil {
		err = socks.adopt(hello.Names, files)
	}
	if err != nil {
		return nil, fmt.Errorf("sockets from the keeper: %w", err)
	}
	if socks.lock != nil {
		return nil, nil
	}
	lockPath := filepath.Join(dir, LockFile)
	if (cfg.TakeOver || hello.TakeOver) && locked(lockPath) {
		return takeOverFrom(ctx, dir, cfg.Version, socks)
	}
	lock, err := flock.TryAcquire(lockPath)
	if err != nil {
		return nil, fmt.Errorf("agent for %s: %w", dir, err)
	}
	socks.lock = lock
	if err := socks.keeper.hold([]string{fileLock}, []*os.File{lock.File()}); err != nil {
		return nil, fmt.Errorf("give the keeper the lock: %w", err)
	}
	return nil, nil
}

func takeOverFrom(ctx context.Context, dir, version string, socks *sockets) (*takeover, error) {
	t, names, files, err := requestHandover(ctx, dir, version)
	if err != nil {
		return nil, err
	}
	if err := socks.adopt(names, files); err != nil {
		t.abort()
		return nil, err
	}
	if socks.lock == nil {
		t.abort()
		return nil, fmt.Errorf("take over from pid %d: it handed over no lock", t.state.PID)
	}
	return t, nil
}

// listenSocket listens on the unix socket, replacing a stale one (the caller holds
// the lock, so no live agent owns it).
func listenSocket(path string) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The path goes with the last agent to serve it (removed on a stop, kept
	// on a hand-over), not with whichever process closes a descriptor.
	ln.SetUnlinkOnClose(false)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("restrict socket: %w", err)
	}
	return ln, nil
}
