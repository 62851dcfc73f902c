package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// killWait bounds the wait for a killed process to be gone, for a caller whose
// context has no deadline.
const killWait = 30 * time.Second

// Stop stops the task's containers in reverse start order, each with SIGTERM,
// then SIGKILL after its StopTimeout (grace when it has none), and forgets the
// task. Stopping an unknown task, or one already stopped, returns nil.
func (s *Supervisor) Stop(ctx context.Context, id string, grace time.Duration) error {
	s.mu.Lock()
	t, ok := s.tasks[id]
	closed := s.closed
	s.mu.Unlock()
	if !ok {
		return nil
	}
	if closed {
		return fmt.Errorf("stop task %s: %w", id, errClosed)
	}
	if err := s.terminate(ctx, t, grace); err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	return s.forget(t)
}

// terminate ends every process of t, the last started first.
func (s *Supervisor) terminate(ctx context.Context, t *task, grace time.Duration) error {
	s.mu.Lock()
	t.stopping = true
	names := make([]string, 0, len(t.Containers))
	for _, c := range slices.Backward(t.Containers) {
		names = append(names, c.Name)
	}
	s.mu.Unlock()
	for _, name := range names {
		wait := grace
		if st := t.spec(name).StopTimeout; st > 0 {
			wait = st
		}
		if err := s.terminateContainer(ctx, t, name, wait); err != nil {
			return err
		}
	}
	return nil
}

// terminateContainer ends one container's process group: SIGTERM, grace, SIGKILL.
func (s *Supervisor) terminateContainer(ctx context.Context, t *task, name string, grace time.Duration) error {
	pid, exited := s.runningPID(t, name)
	if pid == 0 {
		return nil
	}
	log := s.logger.With("task", t.ID, "container", name, "pid", pid)
	log.Info("stopping process", "grace", grace)
	if err := signalGroup(pid, syscall.SIGTERM); err != nil {
		return err
	}
	if waitExit(ctx, exited, grace) {
		// Children the leader left behind in its group get no more grace than it.
		_ = signalGroup(pid, syscall.SIGKILL)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	log.Warn("process ignored SIGTERM, killing it", "grace", grace)
	if err := signalGroup(pid, syscall.SIGKILL); err != nil {
		return err
	}
	if !waitExit(ctx, exited, killWait) {
		return fmt.Errorf("process %d still runs after SIGKILL", pid)
	}
	return nil
}

// runningPID returns the container's pid while its process runs and is still
// the one it started (so that a reused pid is never signalled), else 0; and the
// channel closed at its exit.
func (s *Supervisor) runningPID(t *task, name string) (int, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := t.container(name)
	if c == nil || c.State != runtime.TaskRunning || !alive(c.PID, c.StartTime) {
		return 0, nil
	}
	return c.PID, t.procs[name]
}

// waitExit reports whether exited closes within d.
func waitExit(ctx context.Context, exited <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-exited:
		return true
	case <-ctx.Done():
		return false
	case <-timer.C:
		return false
	}
}

// signalGroup signals the process group led by pid (the task's own group, as
// it was started with Setpgid); a group that is already gone is not an error.
func signalGroup(pid int, sig syscall.Signal) error {
	if err := syscall.Kill(-pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal process group %d with %s: %w", pid, sig, err)
	}
	return nil
}

// forget drops t from the state, unless another Start replaced it meanwhile.
func (s *Supervisor) forget(t *task) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks[t.ID] != t {
		return nil
	}
	delete(s.tasks, t.ID)
	if s.closed {
		return nil
	}
	if err := s.saveLocked(); err != nil {
		return fmt.Errorf("stop task %s: %w", t.ID, err)
	}
	s.logger.Info("forgot task", "task", t.ID)
	return nil
}

// StopAll stops every task, in parallel, each with grace: for `greenlight down`.
func (s *Supervisor) StopAll(ctx context.Context, grace time.Duration) error {
	s.mu.Lock()
	ids := make([]string, 0, len(s.tasks))
	for id := range s.tasks {
		ids = append(ids, id)
	}
	s.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { errs[i] = s.Stop(ctx, id, grace) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
