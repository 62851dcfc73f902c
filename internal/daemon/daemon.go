// Package daemon wires greenlight's background processes for one state directory:
// it installs the binary they run from, starts the agent and the controller on
// demand, hands out the runtime drivers (the Docker Engine, the agent's process
// supervisor), builds and runs the deployment controller and the agent, and stops
// everything. Commands and backends use a Site; the `agent` and `controller`
// commands call RunAgent and RunController.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/docker"
)

// Site is the background processes of one state directory, as one command or
// backend uses them. Its methods are safe for concurrent use.
type Site struct {
	stateDir string
	log      *slog.Logger
	binary   string // the greenlight binary to install; "": this process's

	installOnce  sync.Once
	exe, version string // the installed greenlight binary background processes run
	installErr   error

	agentOnce sync.Once
	agent     *agent.Client
	agentErr  error

	dockerOnce sync.Once
	docker     runtime.Driver
	dockerErr  error
}

// NewSite returns the site of stateDir (an absolute path); nothing starts yet.
func NewSite(stateDir string, log *slog.Logger) *Site {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Site{stateDir: stateDir, log: log}
}

// InstallFrom makes the site run its background processes from the greenlight
// binary at path instead of this process's executable (for a test that is not
// greenlight). Call it before anything starts.
func (s *Site) InstallFrom(path string) *Site {
	s.binary = path
	return s
}

// StateDir is the site's state directory.
func (s *Site) StateDir() string { return s.stateDir }

// install puts this binary where background processes run from.
func (s *Site) install() error {
	s.installOnce.Do(func() {
		if s.binary != "" {
			s.exe, s.version, s.installErr = agent.InstallBinaryFrom(s.stateDir, s.binary)
			return
		}
		s.exe, s.version, s.installErr = agent.InstallBinary(s.stateDir)
	})
	return s.installErr
}

// Agent returns the agent client, starting the agent when it is not running.
// An agent of another version is replaced by one of this binary, without a
// refused connection (agent.Restart); if it cannot be, it goes on serving.
func (s *Site) Agent(ctx context.Context) (*agent.Client, error) {
	s.agentOnce.Do(func() {
		if s.agentErr = s.install(); s.agentErr != nil {
			return
		}
		s.agent, s.agentErr = agent.EnsureAgent(ctx, s.stateDir, s.exe)
		if s.agentErr == nil {
			s.upgradeAgent(ctx)
		}
	})
	return s.agent, s.agentErr
}

// upgradeAgent replaces a running agent of another version with one of this
// binary.
func (s *Site) upgradeAgent(ctx context.Context) {
	h, err := s.agent.Health(ctx)
	if err != nil || h.Version == s.version {
		return
	}
	from, to, err := agent.Restart(ctx, s.stateDir, s.exe)
	if err != nil {
		s.log.Warn("the agent of another version was not replaced: it goes on serving", "version", h.Version, "err", err)
		return
	}
	s.log.Info("agent upgraded", "from_pid", from.PID, "from_version", from.Version, "pid", to.PID, "version", to.Version)
}

// RestartAgent hands the agent over to a new agent of this binary (see
// agent.Restart) and returns the old and the new agent's identity.
func (s *Site) RestartAgent(ctx context.Context) (from, to agent.Health, err error) {
	if err := s.install(); err != nil {
		return agent.Health{}, agent.Health{}, err
	}
	return agent.Restart(ctx, s.stateDir, s.exe)
}

// RunningAgent returns a client of the agent without starting one: an error
// wrapping runtime.ErrUnavailable when none answers.
func (s *Site) RunningAgent(ctx context.Context) (*agent.Client, error) {
	c, err := agent.Dial(s.stateDir)
	if err == nil {
		_, err = c.Health(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("agent of %s: %w: %w", s.stateDir, runtime.ErrUnavailable, err)
	}
	return c, nil
}

// EnsureController starts the controller process (and the agent it needs) unless a
// controller of this binary runs.
func (s *Site) EnsureController(ctx context.Context) error {
	if _, err := s.Agent(ctx); err != nil {
		return err
	}
	return agent.EnsureController(ctx, s.stateDir, s.exe, s.version)
}

// Driver implements deploy.Drivers: docker through the engine, process through the
// agent's supervisor.
func (s *Site) Driver(ctx context.Context, name string) (runtime.Driver, error) {
	switch name {
	case manifest.DriverDocker:
		return s.dockerDriver(ctx)
	case manifest.DriverProcess:
		c, err := s.Agent(ctx)
		if err != nil {
			return nil, err
		}
		return c.ProcessDriver(), nil
	}
	return nil, fmt.Errorf("unknown runtime driver %q (allowed: docker, process)", name)
}

func (s *Site) dockerDriver(ctx context.Context) (runtime.Driver, error) {
	s.dockerOnce.Do(func() {
		s.docker, s.dockerErr = docker.New(docker.Options{StateDir: s.stateDir, Logger: s.log})
		if s.dockerErr == nil && !docker.Available(ctx) {
			s.docker, s.dockerErr = nil, fmt.Errorf("no Docker Engine answers: %w", runtime.ErrUnavailable)
		}
	})
	return s.docker, s.dockerErr
}

// ResolveDriver turns a configured driver (auto, docker, process) into the one it
// runs on here.
func (s *Site) ResolveDriver(ctx context.Context, configured string) (string, error) {
	d, err := runtime.Select(ctx, configured,
		func(ctx context.Context) (runtime.Driver, error) { return s.dockerDriver(ctx) },
		func(ctx context.Context) (runtime.Driver, error) { return s.Driver(ctx, manifest.DriverProcess) })
	if err != nil {
		return "", err
	}
	return d.Name(), nil
}

// Down stops the agent, the controller, every supervised process and the
// containers the docker driver started for this state directory.
func (s *Site) Down(ctx context.Context) error {
	return errors.Join(agent.Down(ctx, s.stateDir), s.removeContainers(ctx))
}

// removeContainers stops the containers the docker driver started for this state
// directory (when an engine answers).
func (s *Site) removeContainers(ctx context.Context) error {
	drv, err := s.dockerDriver(ctx)
	if err != nil {
		return nil // no engine, no containers
	}
	tasks, err := drv.List(ctx, nil)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	var errs []error
	for _, t := range tasks {
		if t.Labels[runtime.LabelStateDir] == s.stateDir || t.Labels[runtime.LabelStateDir] == "" {
			errs = append(errs, drv.Stop(ctx, t.ID, 10*time.Second))
		}
	}
	return errors.Join(errs...)
}

// UsesDocker reports whether a service configured with a driver (auto, docker,
// process) runs on Docker here. It starts nothing: auto asks the engine only.
func (s *Site) UsesDocker(ctx context.Context, configured string) bool {
	switch configured {
	case manifest.DriverDocker, runtime.DriverAuto, "":
		_, err := s.dockerDriver(ctx)
		return err == nil
	}
	return false
}
