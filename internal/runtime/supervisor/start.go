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
	"slices"
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
	if err := spec.Validate(); err != nil {
		return bad("%v", err)
	}
	switch {
	case spec.ProcessDir != "" && !filepath.IsAbs(spec.ProcessDir):
		return bad("ProcessDir %q is relative: the supervisor runs in another directory, give an absolute path", spec.ProcessDir)
	case spec.LogPath != "" && !filepath.IsAbs(spec.LogPath):
		return bad("LogPath %q is relative: the supervisor runs in another directory, give an absolute path", spec.LogPath)
	}
	for _, c := range spec.ContainerSpecs() {
		which := ""
		if len(spec.Containers) > 1 {
			which = "container " + c.Name + ": "
		}
		if argv := processArgv(c); len(argv) == 0 || argv[0] == "" {
			return bad("%sProcessCommand is empty: the process driver needs a command to run", which)
		}
		for i, kv := range slices.Concat(c.Env, c.Secrets) {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				return bad("%sEnv[%d] = %q: want KEY=VALUE", which, i, clipSecret(kv, i >= len(c.Env)))
			}
		}
	}
	return nil
}

// clipSecret keeps a malformed secret out of an error message.
func clipSecret(kv string, secret bool) string {
	if secret {
		return "(a secret)"
	}
	return kv
}

// processArgv is what the process driver runs for a container.
func processArgv(c runtime.ContainerSpec) []string {
	if len(c.ProcessCommand) > 0 {
		return c.ProcessCommand
	}
	return slices.Concat(c.EntryPoint, c.Command)
}

// launchPoll is how often a start looks at the conditions its containers wait for.
const launchPoll = 100 * time.Millisecond

// Start runs the task's containers as process groups, in dependency order, on the
// task's own loopback address (HOST; each container's first port in PORT), and
// returns once every one has started. A task with this ID that still runs is
// returned as it is; an exited one is replaced. A start that fails stops what
// it started and records nothing.
func (s *Supervisor) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	if err := validate(spec); err != nil {
		return runtime.Task{}, err
	}
	if err := ctx.Err(); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	running, t, err := s.reserve(ctx, spec)
	if err != nil || t == nil {
		return running, err
	}
	if err := runtime.Launch(ctx, spec, procRunner{s: s, t: t}, launchPoll); err != nil {
		s.abandon(t)
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logger.Info("started task", "task", t.ID, "address", t.Address, "containers", len(t.Containers))
	return t.task(), nil
}

// reserve records a new task for spec, with its address, before any process
// starts; it returns instead the task of that ID that runs already (t nil).
func (s *Supervisor) reserve(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, *task, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return runtime.Task{}, nil, fmt.Errorf("start task %s: %w", spec.ID, errClosed)
		}
		prev := s.tasks[spec.ID]
		if prev != nil && prev.State == runtime.TaskRunning {
			defer s.mu.Unlock()
			return prev.task(), nil, nil
		}
		if prev == nil {
			defer s.mu.Unlock()
			t, err := s.recordTaskLocked(spec)
			return runtime.Task{}, t, err
		}
		s.mu.Unlock()
		// An exited task of that ID: whatever still runs of it goes first.
		if err := s.Stop(ctx, spec.ID, 0); err != nil {
			return runtime.Task{}, nil, fmt.Errorf("start task %s: replace the exited one: %w", spec.ID, err)
		}
	}
}

func (s *Supervisor) recordTaskLocked(spec runtime.TaskSpec) (*task, error) {
	host, port, err := s.addressLocked(spec)
	if err != nil {
		return nil, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	t := newTask(record{ID: spec.ID, Spec: spec, Host: host, Address: net.JoinHostPort(host, strconv.Itoa(port)),
		Labels: spec.Labels, Started: time.Now().UTC(), State: runtime.TaskRunning})
	s.tasks[spec.ID] = t
	if err := s.saveLocked(); err != nil {
		delete(s.tasks, spec.ID)
		return nil, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	return t, nil
}

// abandon stops what a failed start started and forgets the task; after Close
// it leaves both to the next supervisor, which owns the state file then.
func (s *Supervisor) abandon(t *task) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), killWait)
	defer cancel()
	if err := s.terminate(ctx, t, 0); err != nil {
		s.logger.Error("stop a task that failed to start", "task", t.ID, "err", err)
	}
	if err := s.forget(t); err != nil {
		s.logger.Error("forget a task that failed to start", "task", t.ID, "err", err)
	}
}

// procRunner starts the containers of one task for runtime.Launch.
type procRunner struct {
	s *Supervisor
	t *task
}

func (r procRunner) ContainerStates(context.Context) ([]runtime.ContainerState, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.t.task().Containers, nil
}

// StartContainer spawns the container's process and records it; a process that
// cannot be recorded is killed, as an unrecorded one would outlive the agent
// untracked.
func (r procRunner) StartContainer(_ context.Context, c runtime.ContainerSpec) error {
	s, t := r.s, r.t
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	proc, cmd, err := s.spawn(t, c)
	if err != nil {
		return err
	}
	t.Containers = append(t.Containers, proc)
	t.procs[c.Name] = make(chan struct{})
	if err := s.saveLocked(); err != nil {
		_ = syscall.Kill(-proc.PID, syscall.SIGKILL)
		t.Containers = t.Containers[:len(t.Containers)-1]
		go func() { _ = cmd.Wait() }()
		return err
	}
	go s.wait(t, c.Name, cmd)
	s.startHealthLocked(t, c.Name)
	s.logger.Info("started process", "task", t.ID, "container", c.Name, "pid", proc.PID, "command", processArgv(c), "log", proc.LogPath)
	return nil
}

// spawn starts one container's process. Its output goes straight to its log
// file (the child holds the descriptor), so that it survives the agent; its own
// process group keeps it out of signals aimed at the agent's group.
func (s *Supervisor) spawn(t *task, c runtime.ContainerSpec) (container, *exec.Cmd, error) {
	logPath := s.logPath(t.Spec, c.Name)
	logFile, offset, err := openLog(logPath)
	if err != nil {
		return container{}, nil, err
	}
	defer logFile.Close() // the child has its own copy

	argv := processArgv(c)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = t.Spec.ProcessDir
	cmd.Env = t.environ(c)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return container{}, nil, fmt.Errorf("run %q in %q: %w", argv, t.Spec.ProcessDir, err)
	}
	// Readable until the process is reaped, which only s.wait does.
	st, err := procfs.ReadStat(cmd.Process.Pid)
	if err != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return container{}, nil, fmt.Errorf("read process start time: %w", err)
	}
	return container{Name: c.Name, PID: cmd.Process.Pid, StartTime: st.StartTime, LogPath: logPath, LogOffset: offset,
		State: runtime.TaskRunning, Health: healthAtStart(c)}, cmd, nil
}

// environ is a container's environment: a minimal base from the agent's
// (baseEnviron), then the container's Env, its secrets, and HOST and PORT. Later
// entries win: HOST and PORT over everything (two tasks must not share an
// address).
func (t *task) environ(c runtime.ContainerSpec) []string {
	env := slices.Concat(baseEnviron(), c.Env, c.Secrets, []string{"HOST=" + t.Host})
	if port := t.portOf(c); port != "" {
		env = append(env, "PORT="+port)
	}
	return env
}

// baseEnv names the variables a process task takes from the agent's
// environment. On ECS, and with the Docker driver, a task sees its image's
// environment and its task definition's, never the host's; a process has no
// image, so it gets what a program needs of its host to run at all, and nothing
// that says what the host holds: PATH (to find the interpreters and tools its
// command and a CMD-SHELL health check call), HOME, USER and LOGNAME (the user
// it runs as, as an image's user has them), LANG, LC_* and TZ (how it reads
// and prints text and time), TMPDIR (where it may write temporary files). The
// agent's environment is the one of the command that first started it, `greenlight
// serve` with its webhook secret and Slack URLs, a terminal with its cloud
// credentials: none of that reaches a task, whose output others read (its log,
// the deployment's errors). Anything else a task needs is its definition's
// environment or secrets.
var baseEnv = []string{"PATH", "HOME", "USER", "LOGNAME", "LANG", "TZ", "TMPDIR"}

// baseEnviron is the agent's environment reduced to baseEnv and LC_*.
func baseEnviron() []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(baseEnv, name) || strings.HasPrefix(name, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}

// portOf is a container's PORT: its first container port, or for the target
// container without one the free port its address was given.
func (t *task) portOf(c runtime.ContainerSpec) string {
	if len(c.Ports) > 0 {
		return strconv.Itoa(c.Ports[0])
	}
	if c.Name == t.Spec.Target().Name {
		_, port, _ := net.SplitHostPort(t.Address)
		return port
	}
	return ""
}

// logPath is where a container's output goes: the task's LogPath (default
// tasks/<task>.log) for a task of one container, that name with .<container>
// before the extension for each of several.
func (s *Supervisor) logPath(spec runtime.TaskSpec, name string) string {
	path := spec.LogPath
	if path == "" {
		path = filepath.Join(s.dir, "tasks", spec.ID+".log")
	}
	if len(spec.ContainerSpecs()) == 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "." + name + ext
}

// wait records the exit of a process this supervisor started.
func (s *Supervisor) wait(t *task, name string, cmd *exec.Cmd) {
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		s.containerExited(t, name, -1, fmt.Sprintf("wait: %v", err))
		return
	}
	code, reason := exitStatus(cmd.ProcessState)
	s.containerExited(t, name, code, reason)
}

// exitStatus reports a signal death as the shell and Docker do: 128+signal.
func exitStatus(ps *os.ProcessState) (int, string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), "killed by signal: " + ws.Signal().String()
	}
	return ps.ExitCode(), ""
}

// openLog opens path for appending and returns where this run's output begins.
func openLog(path string) (*os.File, int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, fmt.Errorf("task log dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
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
