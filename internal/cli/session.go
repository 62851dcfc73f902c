package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/docker"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// session is what a command that touches state works with: the definition (when
// it needs one), the state directory and its SQLite file, and the agent.
type session struct {
	def      *manifest.Definition
	stateDir string
	db       *store.DB
	log      *slog.Logger

	exe, version string // the installed greenlight binary background processes run

	agentOnce sync.Once
	agent     *agent.Client
	agentErr  error

	dockerOnce sync.Once
	docker     runtime.Driver
	dockerErr  error
}

// open loads what a command needs: withDef loads and validates greenlight.yaml.
func (a *app) open(ctx context.Context, withDef bool) (*session, error) {
	s := &session{log: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if withDef {
		def, err := manifest.Load(a.file)
		if err != nil {
			return nil, err
		}
		s.def = def
	}
	dir, err := a.stateDirectory()
	if err != nil {
		return nil, err
	}
	s.stateDir = dir
	if err := createStateDir(dir); err != nil {
		return nil, err
	}
	s.db, err = store.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// createStateDir makes the state directory, with a .gitignore that ignores all of
// it: it lives beside greenlight.yaml, in the repository, and holds the agent's
// token, builds and artifacts, none of which may end up in a commit.
func createStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	ignore := filepath.Join(dir, ".gitignore")
	if _, err := os.Stat(ignore); os.IsNotExist(err) {
		if err := os.WriteFile(ignore, []byte("# greenlight state: never commit it\n*\n"), 0o644); err != nil {
			return fmt.Errorf("create state directory: %w", err)
		}
	}
	return nil
}

func (s *session) close() {
	if s.db != nil {
		s.db.Close()
	}
}

func (s *session) deployments() deploy.Store { return s.db.Deployments() }

// install puts this binary where background processes run from.
func (s *session) install() error {
	if s.exe != "" {
		return nil
	}
	exe, version, err := agent.InstallBinary(s.stateDir)
	if err != nil {
		return err
	}
	s.exe, s.version = exe, version
	return nil
}

// ensureAgent returns the agent client, starting the agent when it is not running.
func (s *session) ensureAgent(ctx context.Context) (*agent.Client, error) {
	s.agentOnce.Do(func() {
		if s.agentErr = s.install(); s.agentErr != nil {
			return
		}
		s.agent, s.agentErr = agent.EnsureAgent(ctx, s.stateDir, s.exe)
	})
	return s.agent, s.agentErr
}

// ensureController starts the controller process (and the agent it needs).
func (s *session) ensureController(ctx context.Context) error {
	if _, err := s.ensureAgent(ctx); err != nil {
		return err
	}
	return agent.EnsureController(ctx, s.stateDir, s.exe, s.version)
}

// Driver implements deploy.Drivers: docker through the engine, process through the
// agent's supervisor.
func (s *session) Driver(ctx context.Context, name string) (runtime.Driver, error) {
	switch name {
	case manifest.DriverDocker:
		return s.dockerDriver(ctx)
	case manifest.DriverProcess:
		c, err := s.ensureAgent(ctx)
		if err != nil {
			return nil, err
		}
		return c.ProcessDriver(), nil
	}
	return nil, fmt.Errorf("unknown runtime driver %q (allowed: docker, process)", name)
}

func (s *session) dockerDriver(ctx context.Context) (runtime.Driver, error) {
	s.dockerOnce.Do(func() {
		s.docker, s.dockerErr = docker.New(docker.Options{StateDir: s.stateDir, Logger: s.log})
		if s.dockerErr == nil && !docker.Available(ctx) {
			s.docker, s.dockerErr = nil, fmt.Errorf("no Docker Engine answers: %w", runtime.ErrUnavailable)
		}
	})
	return s.docker, s.dockerErr
}

// resolveDriver turns a service's configured driver into the one it runs on here.
func (s *session) resolveDriver(ctx context.Context, service string) (string, error) {
	svc, ok := s.def.Services[service]
	if !ok {
		return "", fmt.Errorf("service %q is not defined", service)
	}
	d, err := runtime.Select(ctx, svc.Driver,
		func(ctx context.Context) (runtime.Driver, error) { return s.dockerDriver(ctx) },
		func(ctx context.Context) (runtime.Driver, error) { return s.Driver(ctx, manifest.DriverProcess) })
	if err != nil {
		return "", fmt.Errorf("service %s: %w", service, err)
	}
	return d.Name(), nil
}
