// Package local is the control surface (control.Backend) of this machine: it reads
// and writes the state directory's SQLite file, builds the pipeline engine with
// every action provider greenlight runs locally, drives the executions it starts in
// this process (owned and heart-beaten, left for a resume when the process ends),
// and starts the agent and the deployment controller when a verb needs them.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/source"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// Options say what a Backend works on.
type Options struct {
	// Definition is the validated greenlight.yaml; nil serves only what needs
	// none (deployments, events), the rest fails with a BadRequest.
	Definition *manifest.Definition
	StateDir   string    // absolute
	DB         *store.DB // the open state file; the caller closes it after Close
	Site       *daemon.Site
	Logger     *slog.Logger
	// PollInterval and HeartbeatInterval tune the engine (0: its defaults).
	PollInterval, HeartbeatInterval time.Duration
	// HiddenEnv names variables of this process's environment no build or
	// deployment hook inherits besides those Definition reads secrets from: a server of several
	// definitions names every definition's (manifest.Definition.SecretEnv).
	HiddenEnv []string
}

// Backend implements control.Backend on this machine.
type Backend struct {
	opts Options
	log  *slog.Logger

	engineOnce sync.Once
	engine     *pipeline.Engine

	// runs are the executions this process drives; Close ends them (they stay
	// recorded, for a resume) and waits until each released its ownership.
	runCtx     context.Context
	cancelRuns context.CancelFunc
	runs       sync.WaitGroup
	closeOnce  sync.Once
}

var _ control.Backend = (*Backend)(nil)

// New returns the backend of a state directory.
func New(opts Options) *Backend {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Site == nil {
		opts.Site = daemon.NewSite(opts.StateDir, opts.Logger)
	}
	b := &Backend{opts: opts, log: opts.Logger}
	b.runCtx, b.cancelRuns = context.WithCancel(context.Background())
	return b
}

// Close stops driving the executions this process started (they stay as
// recorded; `resume` continues them) and waits until each is released.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.cancelRuns()
		b.runs.Wait()
	})
	return nil
}

// Events returns the stored events q selects.
func (b *Backend) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	evs, err := b.opts.DB.Events(ctx, q)
	return evs, wrap(err)
}

// pipelineEngine returns the engine, built on first use.
func (b *Backend) pipelineEngine() (*pipeline.Engine, error) {
	def := b.opts.Definition
	if def == nil {
		return nil, control.Errorf(control.CodeBadRequest, "this needs the pipeline definition (greenlight.yaml)")
	}
	b.engineOnce.Do(func() {
		b.engine = pipeline.New(def, b.opts.DB.Pipelines(), pipeline.Options{
			StateDir: b.opts.StateDir, Providers: b.providers(), Logger: b.log, Processes: procfs.Table{},
			PollInterval: b.opts.PollInterval, HeartbeatInterval: b.opts.HeartbeatInterval,
		})
	})
	return b.engine, nil
}

// providers are the action providers greenlight runs locally.
func (b *Backend) providers() map[string]pipeline.Provider {
	deployments := provider.Deployments{
		Def:              b.opts.Definition,
		Store:            b.deployStore(),
		Follow:           b,
		Driver:           b.resolveDriver,
		EnsureController: b.opts.Site.EnsureController,
		HiddenEnv:        b.opts.HiddenEnv,
	}
	git := source.New()
	return map[string]pipeline.Provider{
		manifest.ProviderGit:             git,
		manifest.ProviderCodeStar:        git,
		manifest.ProviderCodeBuild:       &provider.CodeBuild{Def: b.opts.Definition, Env: b.buildEnv(), HiddenEnv: b.opts.HiddenEnv},
		manifest.ProviderECS:             provider.ECS{Deployments: deployments},
		manifest.ProviderCodeDeployToECS: provider.CodeDeployToECS{Deployments: deployments},
	}
}

func (b *Backend) deployStore() deploy.Store { return b.opts.DB.Deployments() }

// resolveDriver turns a service's configured driver into the one it runs on here.
func (b *Backend) resolveDriver(ctx context.Context, service string) (string, error) {
	svc, ok := b.opts.Definition.Services[service]
	if !ok {
		return "", fmt.Errorf("service %q is not defined", service)
	}
	d, err := b.opts.Site.ResolveDriver(ctx, svc.Driver)
	if err != nil {
		return "", fmt.Errorf("service %s: %w", service, err)
	}
	return d, nil
}

// buildEnv tells builds what greenlight runs services on: GREENLIGHT_DOCKER=1 when
// any service runs on Docker, so a buildspec builds an image only when it is used.
func (b *Backend) buildEnv() []string {
	for _, svc := range b.opts.Definition.Services {
		if b.opts.Site.UsesDocker(context.Background(), svc.Driver) {
			return []string{"GREENLIGHT_DOCKER=1"}
		}
	}
	return nil
}

// drive runs an execution in the background until it ends or Close.
func (b *Backend) drive(eng *pipeline.Engine, id string) {
	b.runs.Go(func() {
		_, err := eng.Run(b.runCtx, id)
		if err != nil && b.runCtx.Err() == nil {
			b.log.Error("execution stopped being driven here", "execution", id, "err", err)
		}
	})
}

// wrap turns the domain's errors into the control surface's.
func wrap(err error) error {
	var refused *pipeline.ApprovalRefusedError
	var ce *control.Error
	switch {
	case err == nil || errors.As(err, &ce):
		return err
	case errors.As(err, &refused):
		return control.Refused(string(refused.Reason), err)
	case errors.Is(err, pipeline.ErrNotFound), errors.Is(err, deploy.ErrNotFound):
		return &control.Error{Code: control.CodeNotFound, Err: err}
	case errors.Is(err, pipeline.ErrBadRequest):
		return &control.Error{Code: control.CodeBadRequest, Err: err}
	case errors.Is(err, pipeline.ErrNotStoppable):
		return control.Refused(control.ReasonFinished, err)
	case errors.Is(err, pipeline.ErrNotRetryable):
		return control.Refused(control.ReasonNotRetryable, err)
	case errors.Is(err, pipeline.ErrStageLocked):
		return control.Refused(control.ReasonStageLocked, err)
	case errors.Is(err, pipeline.ErrOwnedElsewhere):
		return control.Refused(control.ReasonOwnedElsewhere, err)
	case errors.Is(err, deploy.ErrServiceBusy):
		return control.Refused(control.ReasonServiceBusy, err)
	case errors.Is(err, runtime.ErrUnavailable):
		return &control.Error{Code: control.CodeUnavailable, Err: err}
	}
	return err
}
