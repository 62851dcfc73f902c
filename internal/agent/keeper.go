package agent

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/flock"
)

// KeeperEnv names the environment variable that tells an agent process which
// descriptor is its link to the keeper that started it.
const KeeperEnv = "GREENLIGHT_AGENT_KEEPER"

// KeeperPIDFile holds the pid of the socket keeper.
const KeeperPIDFile = "agent-keeper.pid"

// KeeperConfig configures the socket keeper.
type KeeperConfig struct {
	StateDir string
	// Exe and Args run one agent process under this keeper (the agent finds
	// its link to the keeper in KeeperEnv).
	Exe  string
	Args []string
	// TakeOver makes the first agent take over from the agent that runs now
	// (a restart or an upgrade) instead of starting on its own.
	TakeOver bool
	Logger   *slog.Logger
}

// Keep runs the socket keeper of a state directory until its agent stops for
// good or ctx ends: a minimal process that starts the agent and holds a
// descriptor of every socket the agent listens on (and of the state
// directory's lock). When the agent crashes, the sockets stay open, new
// connections wait in their backlog instead of being refused, and the next
// agent, started at once, gets them all. ErrLocked when another agent serves
// the directory (unless taking over).
func Keep(ctx context.Context, cfg KeeperConfig) error {
	log := cmpLogger(cfg.Logger).With("component", "keeper")
	k := &keeper{cfg: cfg, log: log, held: map[string]*os.File{}}
	defer k.letGo()
	if !cfg.TakeOver {
		lock, err := flock.TryAcquire(filepath.Join(cfg.StateDir, LockFile))
		if err != nil {
			return fmt.Errorf("agent for %s: %w", cfg.StateDir, err)
		}
		k.held[fileLock] = lock.File()
	}
	return k.run(ctx)
}

func cmpLogger(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.Default()
	}
	return log
}

// keeper is the state of the keeper process.
type keeper struct {
	cfg  KeeperConfig
	log  *slog.Logger
	held map[string]*os.File
}

// childOutcome is how one agent process ended.
type childOutcome struct {
	up      bool  // it said it served
	retired bool  // another agent took over from it
	err     error // its exit
}

// Restart policy: an agent that served and died is restarted at once; one that
// dies before serving is tried again after a pause, a few times.
const (
	keeperStartAttempts = 3
	keeperRetryPause    = time.Second
)

func (k *keeper) run(ctx context.Context) error {
	takeOver := k.cfg.TakeOver
	failures := 0
	for {
		out := k.runAgent(ctx, takeOver)
		switch {
		case ctx.Err() != nil, out.retired, out.err == nil:
			return nil
		case takeOver && !out.up:
			return fmt.Errorf("take over from the running agent: %w", out.err)
		case out.up:
			failures = 0
			k.log.Error("agent died: starting another one on the same sockets", "err", out.err)
		default:
			failures++
			if failures >= keeperStartAttempts {
				return fmt.Errorf("agent failed to start %d times: %w", failures, out.err)
			}
			k.log.Error("agent failed to start: trying again", "err", out.err, "attempt", failures)
			if !sleepCtx(ctx, time.Duration(failures)*keeperRetryPause) {
				return nil
			}
		}
		takeOver = false
	}
}

// runAgent starts one agent process, serves its link until it closes, and
// waits for it.
func (k *keeper) runAgent(ctx context.Context, takeOver bool) childOutcome {
	mine, theirs, err := socketPair()
	if err != nil {
		return childOutcome{err: err}
	}
	defer mine.Close()
	cmd := exec.Command(k.cfg.Exe, k.cfg.Args...)
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.Env = append(os.Environ(), KeeperEnv+"=3")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Start()
	_ = theirs.Close()
	if err != nil {
		return childOutcome{err: fmt.Errorf("start agent: %w", err)}
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	defer stop()
	k.log.Info("agent started", "pid", cmd.Process.Pid, "take_over", takeOver)
	out := k.serveLink(mine, takeOver)
	out.err = cmd.Wait()
	return out
}

// serveLink answers the agent's messages until the link closes (the agent
// exited).
func (k *keeper) serveLink(c *net.UnixConn, takeOver bool) childOutcome {
	var out childOutcome
	for {
		m, files, err := readMessage(c)
		if err != nil {
			return out
		}
		reply, replyFiles := k.handle(m, files, takeOver, &out)
		if err := writeMessage(c, reply, replyFiles); err != nil {
			return out
		}
	}
}

func (k *keeper) handle(m message, files []*os.File, takeOver bool, out *childOutcome) (message, []*os.File) {
	switch m.Kind {
	case msgHello:
		names := slices.Sorted(maps.Keys(k.held))
		replyFiles := make([]*os.File, len(names))
		for i, n := range names {
			replyFiles[i] = k.held[n]
		}
		return message{Kind: msgFiles, Names: names, TakeOver: takeOver}, replyFiles
	case msgHold:
		for i, name := range m.Names {
			if old := k.held[name]; old != nil {
				_ = old.Close()
			}
			k.held[name] = files[i]
		}
	case msgRelease:
		for _, name := range m.Names {
			if f := k.held[name]; f != nil {
				_ = f.Close()
				delete(k.held, name)
			}
		}
	case msgUp:
		out.up = true
		k.writePID()
	case msgRetire:
		out.retired = true
		k.letGo()
	default:
		closeFiles(files)
		return message{Kind: msgError, Error: fmt.Sprintf("unknown message %q", m.Kind)}, nil
	}
	return message{Kind: msgOK}, nil
}

func (k *keeper) writePID() {
	path := filepath.Join(k.cfg.StateDir, KeeperPIDFile)
	if err := atomicfile.Write(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		k.log.Warn("write keeper pid file", "err", err)
	}
}

// letGo closes every held descriptor. The lock is not unlocked: it stays with
// the agents that have it, and goes with the last of them.
func (k *keeper) letGo() {
	for name, f := range k.held {
		_ = f.Close()
		delete(k.held, name)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// socketPair returns a connected pair of unix stream sockets: this process's
// end as a connection, the other as a file to hand to a child.
func socketPair() (*net.UnixConn, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socket pair: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "keeper-link")
	theirs := os.NewFile(uintptr(fds[1]), "agent-link")
	c, err := unixConnOf(mine)
	if err != nil {
		_ = theirs.Close()
		return nil, nil, err
	}
	return c, theirs, nil
}

// unixConnOf turns f into a unix connection (f is closed: the connection has
// its own descriptor).
func unixConnOf(f *os.File) (*net.UnixConn, error) {
	defer f.Close()
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		_ = c.Close()
		return nil, fmt.Errorf("link is %T, not a unix socket", c)
	}
	return uc, nil
}

// KeeperFromEnvironment returns the link to the keeper that started this
// process, nil when none did. It clears KeeperEnv, so that no process the
// agent starts believes it has a keeper.
func KeeperFromEnvironment() (*net.UnixConn, error) {
	v, ok := os.LookupEnv(KeeperEnv)
	if !ok {
		return nil, nil
	}
	_ = os.Unsetenv(KeeperEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("%s=%q: not a descriptor", KeeperEnv, v)
	}
	syscall.CloseOnExec(fd)
	return unixConnOf(os.NewFile(uintptr(fd), "keeper-link"))
}

// keeperLink is the agent's side of the link to its keeper. A nil link (no
// keeper) does nothing.
type keeperLink struct {
	mu      sync.Mutex
	conn    *net.UnixConn
	retired bool
}

func newKeeperLink(c *net.UnixConn) *keeperLink {
	if c == nil {
		return nil
	}
	return &keeperLink{conn: c}
}

func (k *keeperLink) call(m message, files []*os.File) (message, []*os.File, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.retired {
		return message{Kind: msgOK}, nil, nil
	}
	return call(k.conn, m, files)
}

// hello returns the sockets the keeper holds, and whether to take over.
func (k *keeperLink) hello() (message, []*os.File, error) {
	if k == nil {
		return message{}, nil, nil
	}
	m, files, err := k.call(message{Kind: msgHello}, nil)
	if err == nil && m.Kind != msgFiles {
		closeFiles(files)
		err = fmt.Errorf("keeper answered hello with %q", m.Kind)
	}
	return m, files, err
}

func (k *keeperLink) send(m message, files []*os.File) error {
	if k == nil {
		return nil
	}
	reply, extra, err := k.call(m, files)
	closeFiles(extra)
	if err == nil && reply.Kind != msgOK {
		err = fmt.Errorf("keeper answered %s with %q", m.Kind, reply.Kind)
	}
	return err
}

func (k *keeperLink) hold(names []string, files []*os.File) error {
	return k.send(message{Kind: msgHold, Names: names}, files)
}

func (k *keeperLink) release(names []string) error {
	return k.send(message{Kind: msgRelease, Names: names}, nil)
}

func (k *keeperLink) up() error { return k.send(message{Kind: msgUp}, nil) }

// retire tells the keeper this agent was replaced; later messages are no-ops.
func (k *keeperLink) retire() error {
	if k == nil {
		return nil
	}
	err := k.send(message{Kind: msgRetire}, nil)
	k.mu.Lock()
	k.retired = true
	k.mu.Unlock()
	return err
}

// close ends the link (the keeper sees the agent gone).
func (k *keeperLink) close() {
	if k != nil {
		_ = k.conn.Close()
	}
}
