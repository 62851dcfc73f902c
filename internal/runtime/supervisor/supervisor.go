// Package supervisor runs revisions as local processes inside the long-lived
// agent, so that they keep running when the CLI that started them exits and even
// when the agent itself restarts. It owns processes.json (which processes it
// started, atomically rewritten on every change), the process groups and log
// files of its tasks, re-adopting running processes on start, and the HTTP API
// under /v1/processes that the process driver calls.
//
// It never restarts a task on its own: the deploy controller decides.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/flock"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// pollInterval is how often adopted processes are checked for exit and followed
// logs for new output.
const pollInterval = 200 * time.Millisecond

// errClosed is returned by calls that would change state after Close.
var errClosed = errors.New("supervisor closed")

var _ runtime.Driver = (*Supervisor)(nil)

// Supervisor starts, watches and stops tasks as process groups. All methods are
// safe for concurrent use.
type Supervisor struct {
	dir    string
	logger *slog.Logger

	mu     sync.Mutex
	tasks  map[string]*task
	closed bool

	done     chan struct{} // closed by Close: ends the watchers
	watchers sync.WaitGroup
	lock     *flock.Lock // held while open: one supervisor per dir
}

// task is one supervised task; its record changes under Supervisor.mu.
type task struct {
	record
	exited chan struct{}            // closed once the task has exited
	procs  map[string]chan struct{} // per container: closed once its process has exited
	// stopping: its containers are being stopped (Stop, or an essential
	// container exited).
	stopping bool
}

func newTask(r record) *task {
	t := &task{record: r, exited: make(chan struct{}), procs: map[string]chan struct{}{}}
	for _, c := range r.Containers {
		t.procs[c.Name] = make(chan struct{})
		if c.State != runtime.TaskRunning {
			close(t.procs[c.Name])
		}
	}
	if r.State != runtime.TaskRunning {
		close(t.exited)
	}
	return t
}

// container returns the record of the container named name, or nil.
func (t *task) container(name string) *container {
	for i := range t.Containers {
		if t.Containers[i].Name == name {
			return &t.Containers[i]
		}
	}
	return nil
}

// spec returns the spec of the container named name.
func (t *task) spec(name string) runtime.ContainerSpec {
	for _, c := range t.Spec.ContainerSpecs() {
		if c.Name == name {
			return c
		}
	}
	return runtime.ContainerSpec{Name: name}
}

// New opens the supervisor that keeps its state in dir (processes.json, and the
// default task logs under dir/tasks), and re-adopts the processes recorded there
// that still run; those that died meanwhile are reported exited.
func New(dir string, logger *slog.Logger) (*Supervisor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("supervisor dir: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("supervisor dir: %w", err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		dir:    abs,
		logger: logger,
		tasks:  map[string]*task{},
		done:   make(chan struct{}),
		lock:   lock,
	}
	records, err := loadState(s.statePath())
	if err != nil {
		lock.Release()
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		s.adoptLocked(r)
	}
	if err := s.saveLocked(); err != nil {
		s.closeLocked()
		return nil, err
	}
	return s, nil
}

// adoptLocked takes over a recorded task: each running container is watched
// again (with its health check) if its process is still the same, else it is
// marked exited.
func (s *Supervisor) adoptLocked(r record) {
	t := newTask(r)
	s.tasks[r.ID] = t
	for _, c := range r.Containers {
		if c.State != runtime.TaskRunning {
			continue
		}
		if !alive(c.PID, c.StartTime) {
			s.logger.Info("recorded process is gone", "task", r.ID, "container", c.Name, "pid", c.PID)
			s.containerExitedLocked(t, c.Name, -1, "exited while the supervisor was not running; exit status unknown")
			continue
		}
		s.logger.Info("re-adopted process", "task", r.ID, "container", c.Name, "pid", c.PID, "address", r.Address)
		s.watchers.Add(1)
		go s.watchAdopted(t, c)
		s.startHealthLocked(t, c.Name)
	}
	if t.State == runtime.TaskRunning && len(t.Containers) < len(t.Spec.ContainerSpecs()) {
		// The agent stopped while the task was starting: nobody starts the rest.
		t.State, t.ExitCode, t.Error = runtime.TaskExited, -1, "its start was interrupted by an agent restart"
		close(t.exited)
		t.stopping = true
		go s.stopRest(t)
	}
}

// watchAdopted polls /proc for the exit of a process this agent did not start
// (so cannot wait for); its exit status is lost with its parent.
func (s *Supervisor) watchAdopted(t *task, c container) {
	defer s.watchers.Done()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		if !alive(c.PID, c.StartTime) {
			s.containerExited(t, c.Name, -1, "exited while adopted after a supervisor restart; exit status unknown")
			return
		}
	}
}

// containerExited records that a container's process ended, unless the
// supervisor was closed meanwhile (the state file then belongs to its
// successor).
func (s *Supervisor) containerExited(t *task, name string, code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.containerExitedLocked(t, name, code, reason)
	if s.tasks[t.ID] != t {
		return
	}
	if err := s.saveLocked(); err != nil {
		s.logger.Error("record process exit", "task", t.ID, "container", name, "err", err)
	}
}

// containerExitedLocked marks the container exited; when it was essential the
// task has exited, and its other containers are stopped.
func (s *Supervisor) containerExitedLocked(t *task, name string, code int, reason string) {
	c := t.container(name)
	if c == nil || c.State != runtime.TaskRunning {
		return
	}
	c.State, c.ExitCode, c.Error = runtime.TaskExited, code, reason
	close(t.procs[name])
	s.logger.Info("process exited", "task", t.ID, "container", name, "pid", c.PID, "exit_code", code, "reason", reason)
	if t.State != runtime.TaskRunning {
		return
	}
	state, taskCode, taskReason := runtime.Outcome(t.Spec.ContainerSpecs(), t.task().Containers)
	if state != runtime.TaskExited {
		return
	}
	t.State, t.ExitCode, t.Error = state, taskCode, taskReason
	close(t.exited)
	if !t.stopping {
		t.stopping = true
		go s.stopRest(t)
	}
}

// stopRest stops the containers still running in a task that has exited.
func (s *Supervisor) stopRest(t *task) {
	if err := s.terminate(context.Background(), t, DefaultGrace); err != nil {
		s.logger.Warn("stop the rest of an exited task", "task", t.ID, "err", err)
	}
}

// Close stops watching. It does not stop the processes: a later supervisor on
// the same dir re-adopts them.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closeLocked()
	s.mu.Unlock()
	s.watchers.Wait()
	return nil
}

func (s *Supervisor) closeLocked() {
	if !s.closed {
		s.closed = true
		close(s.done)
		s.lock.Release()
	}
}

// lockDir takes an exclusive lock on dir, so that two agents never adopt and
// rewrite the same processes. The kernel drops it when the agent dies.
func lockDir(dir string) (*flock.Lock, error) {
	l, err := flock.TryAcquire(filepath.Join(dir, lockFile))
	if errors.Is(err, flock.ErrLocked) {
		return nil, fmt.Errorf("another supervisor is running on %s", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("supervisor lock: %w", err)
	}
	return l, nil
}

// Name is the runtime driver name the supervisor's tasks run under.
func (s *Supervisor) Name() string { return runtime.DriverProcess }

// Inspect returns the task with this ID, runtime.ErrNotFound when unknown.
func (s *Supervisor) Inspect(_ context.Context, id string) (runtime.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return runtime.Task{}, fmt.Errorf("task %s: %w", id, runtime.ErrNotFound)
	}
	return t.task(), nil
}

// List returns the tasks carrying every one of labels (all tasks when empty),
// exited ones included, ordered by ID.
func (s *Supervisor) List(_ context.Context, labels map[string]string) ([]runtime.Task, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tasks := []runtime.Task{}
	for _, id := range slices.Sorted(maps.Keys(s.tasks)) {
		t := s.tasks[id]
		if hasLabels(t.Labels, labels) {
			tasks = append(tasks, t.task())
		}
	}
	return tasks, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func (s *Supervisor) statePath() string { return filepath.Join(s.dir, stateFile) }

func (s *Supervisor) saveLocked() error {
	records := make([]record, 0, len(s.tasks))
	for _, t := range s.tasks {
		records = append(records, t.record)
	}
	return saveState(s.statePath(), records)
}
