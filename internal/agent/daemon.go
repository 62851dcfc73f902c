package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/flock"
)

// Files of the controller process.
const (
	ControllerLock    = "controller.lock"
	ControllerPID     = "controller.pid"
	ControllerLog     = "controller.log"
	ControllerExe     = "controller.exe" // the binary the watchdog (re)starts; absent: not wanted
	ControllerVersion = "controller.version"
	binDir            = "bin"
)

// InstallBinary copies the running executable into the state directory, named by
// its content hash, and returns the copy's path and the hash. Background processes
// run from the copy: `go run` deletes its binary when it exits, and an upgrade must
// not pull the file from under a running agent.
func InstallBinary(stateDir string) (path, version string, err error) {
	self, err := os.Executable()
	if err != nil {
		return "", "", fmt.Errorf("find own executable: %w", err)
	}
	if testing.Testing() {
		// A test binary run as `agent` would run its tests again, which would
		// start another agent from it: a fork bomb. Tests name the real binary.
		return "", "", fmt.Errorf("%s is a test binary, not greenlight: background processes need the greenlight binary (daemon.Site.InstallFrom)", self)
	}
	return InstallBinaryFrom(stateDir, self)
}

// InstallBinaryFrom is InstallBinary for the greenlight binary at self (a test
// that runs the real binary's background processes).
func InstallBinaryFrom(stateDir, self string) (path, version string, err error) {
	version, err = fileHash(self)
	if err != nil {
		return "", "", err
	}
	path = filepath.Join(stateDir, binDir, "greenlight-"+version)
	if _, err := os.Stat(path); err == nil {
		return path, version, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", err
	}
	if err := copyExecutable(self, path); err != nil {
		return "", "", fmt.Errorf("install greenlight binary: %w", err)
	}
	return path, version, nil
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp-" + strconv.Itoa(os.Getpid())
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// spawn starts exe with args as a daemon: its own session, output appended to
// logPath, no stdin. It returns without waiting.
func spawn(exe string, args []string, logPath string) (*exec.Cmd, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", logPath, err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s %s: %w", filepath.Base(exe), strings.Join(args, " "), err)
	}
	return cmd, nil
}

// Watchdog keeps the controller process running while it is wanted (the
// controller.exe file names its binary): a controller that crashes, or is killed,
// is started again, so that deployments resume without anyone's help.
type Watchdog struct {
	StateDir string
	Every    time.Duration // default 500ms

	mu sync.Mutex
	// starting holds the controllers this watchdog started, until each exits:
	// one started just before a stop may not hold the lock yet, and a stop
	// that did not wait for it would leave it running (and writing) after
	// greenlight down returned.
	starting map[*exec.Cmd]chan struct{}
}

// Run restarts the controller whenever it is wanted and not running, until ctx
// ends.
func (w *Watchdog) Run(ctx context.Context, log *slog.Logger) {
	every := w.Every
	if every <= 0 {
		every = 500 * time.Millisecond
	}
	backoff := time.Duration(0)
	var lastStart time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every + backoff):
		}
		exe, err := os.ReadFile(filepath.Join(w.StateDir, ControllerExe))
		if err != nil || locked(filepath.Join(w.StateDir, ControllerLock)) {
			continue
		}
		// A controller that dies right after starting is crash-looping: back off.
		if time.Since(lastStart) < 5*time.Second {
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
		} else {
			backoff = 0
		}
		lastStart = time.Now()
		cmd, err := spawn(strings.TrimSpace(string(exe)), []string{"controller", "--state-dir", w.StateDir}, filepath.Join(w.StateDir, ControllerLog))
		if err != nil {
			log.Error("restart controller", "err", err)
			continue
		}
		log.Info("controller started", "pid", cmd.Process.Pid)
		w.track(cmd)
	}
}

// track reaps a started controller and remembers it until it exits.
func (w *Watchdog) track(cmd *exec.Cmd) {
	exited := make(chan struct{})
	w.mu.Lock()
	if w.starting == nil {
		w.starting = map[*exec.Cmd]chan struct{}{}
	}
	w.starting[cmd] = exited
	w.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		w.mu.Lock()
		delete(w.starting, cmd)
		w.mu.Unlock()
		close(exited)
	}()
}

// StopController stops the controller and keeps the watchdog from restarting
// it. Call it once Run has returned: it also waits for every controller the
// watchdog started to exit (one that had not taken the lock yet finds itself
// unwanted and exits at once).
func (w *Watchdog) StopController(ctx context.Context) error {
	if err := StopController(ctx, w.StateDir); err != nil {
		return err
	}
	w.mu.Lock()
	waits := slices.Collect(maps.Values(w.starting))
	w.mu.Unlock()
	for _, exited := range waits {
		select {
		case <-exited:
		case <-ctx.Done():
			return fmt.Errorf("a controller the watchdog started did not exit: %w", ctx.Err())
		}
	}
	return nil
}

// StopController asks the controller of stateDir to stop (SIGTERM: deployments stay
// recorded and resume with the next controller) and waits until it has.
func StopController(ctx context.Context, stateDir string) error {
	os.Remove(filepath.Join(stateDir, ControllerExe))
	return terminate(ctx, filepath.Join(stateDir, ControllerPID), filepath.Join(stateDir, ControllerLock))
}

// terminate sends SIGTERM to the process in pidPath and waits until lockPath is free.
func terminate(ctx context.Context, pidPath, lockPath string) error {
	if !locked(lockPath) {
		return nil
	}
	b, err := os.ReadFile(pidPath)
	if err != nil {
		return fmt.Errorf("read %s: %w", pidPath, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("bad pid in %s: %w", pidPath, err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop pid %d: %w", pid, err)
	}
	for locked(lockPath) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("pid %d did not stop: %w", pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// ControllerLockHandle is held by the controller process for its whole life.
type ControllerLockHandle struct{ l *flock.Lock }

// Release releases the controller lock (the process is about to exit).
func (h *ControllerLockHandle) Release() { h.l.Release() }

// ErrNotWanted means the controller was stopped (greenlight down) while this
// one was starting: it must not run.
var ErrNotWanted = errors.New("controller not wanted: it was stopped")

// LockController takes the controller lock of stateDir and records the pid and
// version; ErrLocked when another controller runs, ErrNotWanted when the
// controller was stopped meanwhile.
func LockController(stateDir, version string) (*ControllerLockHandle, error) {
	l, err := flock.TryAcquire(filepath.Join(stateDir, ControllerLock))
	if err != nil {
		return nil, err
	}
	for name, content := range map[string]string{ControllerPID: strconv.Itoa(os.Getpid()), ControllerVersion: version} {
		if err := atomicfile.Write(filepath.Join(stateDir, name), []byte(content+"\n"), 0o644); err != nil {
			l.Release()
			return nil, err
		}
	}
	// StopController removes ControllerExe before it looks for a lock holder:
	// a controller that took the lock after that look finds the file gone here
	// (its pid is recorded, so one that took it before is signalled).
	if _, err := os.Stat(filepath.Join(stateDir, ControllerExe)); errors.Is(err, os.ErrNotExist) {
		l.Release()
		return nil, ErrNotWanted
	}
	return &ControllerLockHandle{l: l}, nil
}
