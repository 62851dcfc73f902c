package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// SpecError is a TaskSpec the supervisor cannot run; the HTTP API answers 400.
type SpecError struct {
	ID     string
	Reason string
}

func (e *SpecError) Error() string {
	return fmt.Sprintf("task %q: %s", e.ID, e.Reason)
}

func validate(spec runtime.TaskSpec) error {
	bad := func(format string, args ...any) error {
		return &SpecError{ID: spec.ID, Reason: fmt.Sprintf(format, args...)}
	}
	if err := runtime.ValidateID(spec.ID); err != nil {
		return &SpecError{ID: spec.ID, Reason: err.Error()}
	}
	switch {
	case len(spec.ProcessCommand) == 0 || spec.ProcessCommand[0] == "":
		return bad("ProcessCommand is empty: the process driver needs a command to run")
	case spec.ProcessDir != "" && !filepath.IsAbs(spec.ProcessDir):
		return bad("ProcessDir %q is relative: the supervisor runs in another directory, give an absolute path", spec.ProcessDir)
	case spec.LogPath != "" && !filepath.IsAbs(spec.LogPath):
		return bad("LogPath %q is relative: the supervisor runs in another directory, give an absolute path", spec.LogPath)
	}
	for i, kv := range spec.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return bad("Env[%d] = %q: want KEY=VALUE", i, kv)
		}
	}
	return nil
}

// Start runs spec.ProcessCommand as a new process group, listening on a free
// loopback port given in PORT, and returns once it has been started. A task with
// this ID that still runs is returned as it is; an exited one is replaced.
func (s *Supervisor) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	if err := validate(spec); err != nil {
		return runtime.Task{}, err
	}
	if err := ctx.Err(); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, errClosed)
	}
	prev, ok := s.tasks[spec.ID]
	if ok && prev.State == runtime.TaskRunning {
		return prev.task(), nil
	}
	t, cmd, err := s.spawn(spec)
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	s.tasks[spec.ID] = t
	if err := s.saveLocked(); err != nil {
		// An unrecorded process would outlive the agent untracked: better none.
		_ = syscall.Kill(-t.PID, syscall.SIGKILL)
		if prev != nil {
			s.tasks[spec.ID] = prev
		} else {
			delete(s.tasks, spec.ID)
		}
		go func() { _ = cmd.Wait() }()
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	go s.wait(t, cmd)
	s.logger.Info("started process", "task", t.ID, "pid", t.PID, "address", t.Address,
		"command", spec.ProcessCommand, "log", t.LogPath)
	return t.task(), nil
}

// spawn starts the process. Its output goes straight to the log file (the child
// holds the descriptor), so that it survives the agent; its own process group
// keeps it out of signals aimed at the agent's group.
func (s *Supervisor) spawn(spec runtime.TaskSpec) (*task, *exec.Cmd, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	logPath := spec.LogPath
	if logPath == "" {
		logPath = filepath.Join(s.dir, "tasks", spec.ID+".log")
	}
	logFile, offset, err := openLog(logPath)
	if err != nil {
		return nil, nil, err
	}
	defer logFile.Close() // the child has its own copy

	cmd := exec.Command(spec.ProcessCommand[0], spec.ProcessCommand[1:]...)
	cmd.Dir = spec.ProcessDir
	// Later entries win: the task's Env over the agent's, PORT over both.
	cmd.Env = append(append(os.Environ(), spec.Env...), "PORT="+strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("run %q in %q: %w", spec.ProcessCommand, spec.ProcessDir, err)
	}
	// Readable until the process is reaped, which only s.wait does.
	st, err := procfs.ReadStat(cmd.Process.Pid)
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, nil, fmt.Errorf("read process start time: %w", err)
	}
	t := &task{
		record: record{
			ID:        spec.ID,
			PID:       cmd.Process.Pid,
			StartTime: st.StartTime,
			Spec:      spec,
			Address:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Labels:    spec.Labels,
			Started:   time.Now().UTC(),
			LogPath:   logPath,
			LogOffset: offset,
			State:     runtime.TaskRunning,
		},
		exited: make(chan struct{}),
	}
	return t, cmd, nil
}

// wait records the exit of a process this supervisor started.
func (s *Supervisor) wait(t *task, cmd *exec.Cmd) {
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		s.markExited(t, -1, fmt.Sprintf("wait: %v", err))
		return
	}
	code, reason := exitStatus(cmd.ProcessState)
	s.markExited(t, code, reason)
}

// exitStatus reports a signal death as the shell and Docker do: 128+signal.
func exitStatus(ps *os.ProcessState) (int, string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), "killed by signal: " + ws.Signal().String()
	}
	return ps.ExitCode(), ""
}

// freePort asks the kernel for a loopback port nobody uses. Another program may
// take it before the task binds it; the task then fails to start, visibly.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// openLog opens path for appending and returns where this run's output begins.
func openLog(path string) (*os.File, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, fmt.Errorf("task log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("task log: %w", err)
	}
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("task log: %w", err)
	}
	return f, offset, nil
}
