package supervisor

import (
	"cmp"
	"context"
	"os/exec"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Health check defaults, ECS's and Docker's.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthRetries  = 3
)

// healthAtStart is a container's health before its first check.
func healthAtStart(c runtime.ContainerSpec) runtime.Health {
	if c.HealthCheck == nil {
		return ""
	}
	return runtime.HealthUnknown
}

// startHealthLocked runs the container's health check, if it has one, every
// interval until its process exits or the supervisor closes.
func (s *Supervisor) startHealthLocked(t *task, name string) {
	c := t.spec(name)
	if c.HealthCheck == nil {
		return
	}
	s.watchers.Add(1)
	go s.checkHealth(t, c, t.procs[name])
}

// checkHealth follows Docker's rules: the first check runs an interval after
// the start; failures inside the start period do not count; a pass makes the
// container HEALTHY, retries failures in a row UNHEALTHY.
func (s *Supervisor) checkHealth(t *task, c runtime.ContainerSpec, exited <-chan struct{}) {
	defer s.watchers.Done()
	hc := c.HealthCheck
	interval := cmp.Or(hc.Interval, defaultHealthInterval)
	retries := cmp.Or(hc.Retries, defaultHealthRetries)
	started, failures := time.Now(), 0
	for {
		select {
		case <-s.done:
			return
		case <-exited:
			return
		case <-time.After(interval):
		}
		if s.probe(t, c) {
			failures = 0
			s.setHealth(t, c.Name, runtime.HealthHealthy)
			continue
		}
		if time.Since(started) < hc.StartPeriod {
			continue
		}
		if failures++; failures >= retries {
			s.setHealth(t, c.Name, runtime.HealthUnhealthy)
		}
	}
}

// probe runs the health check command once, as the container's process runs:
// same environment and directory, its own process group, killed at the timeout.
func (s *Supervisor) probe(t *task, c runtime.ContainerSpec) bool {
	argv, err := runtime.HealthArgv(c.HealthCheck.Command)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmp.Or(c.HealthCheck.Timeout, defaultHealthTimeout))
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	s.mu.Lock()
	cmd.Dir, cmd.Env = t.Spec.ProcessDir, t.environ(c)
	s.mu.Unlock()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	return cmd.Run() == nil
}

func (s *Supervisor) setHealth(t *task, name string, h runtime.Health) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := t.container(name)
	if c == nil || c.Health == h || c.State != runtime.TaskRunning || s.closed {
		return
	}
	c.Health = h
	s.logger.Info("container health", "task", t.ID, "container", name, "health", h)
	if err := s.saveLocked(); err != nil {
		s.logger.Error("record container health", "task", t.ID, "err", err)
	}
}
