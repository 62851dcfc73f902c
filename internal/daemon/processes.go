package daemon

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// RunAgent runs the agent of stateDir in the foreground until ctx ends: its
// socket keeper, which runs the agent process (`greenlight agent serve`) and
// starts another on the same sockets when it crashes. takeOver makes the new
// agent take over from the one serving now (a restart, an upgrade). It returns
// nil at once when another agent serves the directory and takeOver is false.
func RunAgent(ctx context.Context, stateDir string, log *slog.Logger, takeOver bool) error {
	exe, _, err := agent.InstallBinary(stateDir)
	if err != nil {
		return err
	}
	err = agent.Keep(ctx, agent.KeeperConfig{
		StateDir: stateDir, Exe: exe, Args: []string{"agent", "serve", "--state-dir", stateDir},
		TakeOver: takeOver, Logger: log,
	})
	if errors.Is(err, agent.ErrLocked) {
		return nil
	}
	return err
}

// ServeAgent runs one agent process of stateDir until ctx ends, under the
// keeper that started it (or none: then a crash refuses connections until the
// next agent listens).
func ServeAgent(ctx context.Context, stateDir string, log *slog.Logger, takeOver bool) error {
	keeper, err := agent.KeeperFromEnvironment()
	if err != nil {
		return err
	}
	cfg := agent.Config{StateDir: stateDir, Logger: log, Watchdog: &agent.Watchdog{StateDir: stateDir}, Keeper: keeper, TakeOver: takeOver}
	if _, version, err := agent.InstallBinary(stateDir); err == nil {
		cfg.Version = version
	}
	err = agent.Run(ctx, cfg)
	if errors.Is(err, agent.ErrLocked) {
		return nil
	}
	return err
}

// RunController drives the deployments of stateDir until ctx ends. It holds the
// controller lock, so exactly one runs per state directory; a second one returns
// nil at once. It keeps the agent running, as the agent keeps it running.
func RunController(ctx context.Context, stateDir string, log *slog.Logger) error {
	site := NewSite(stateDir, log)
	if err := site.install(); err != nil {
		return err
	}
	lock, err := agent.LockController(stateDir, site.version)
	if errors.Is(err, agent.ErrLocked) || errors.Is(err, agent.ErrNotWanted) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	db, err := store.Open(ctx, filepath.Join(stateDir, "state.db"))
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	client, err := site.Agent(ctx)
	if err != nil {
		return err
	}
	opts := controllerOptions(ctx, site, db, client, log)
	ctrl := deploy.NewController(opts)
	// The service scheduler replaces production tasks that exit between
	// deployments; it stops with the controller (ctx).
	scheduled := make(chan struct{})
	go func() {
		defer close(scheduled)
		_ = deploy.NewScheduler(opts, deploy.SchedulerOptions{}).Run(ctx)
	}()
	go agent.KeepAgentRunning(ctx, stateDir, site.exe, 500*time.Millisecond, func(err error) { log.Error("restart agent", "err", err) })
	log.Info("controller started", "pid", os.Getpid(), "version", site.version)
	err = ctrl.Run(ctx)
	<-scheduled
	log.Info("controller stopped")
	return err
}

func controllerOptions(ctx context.Context, site *Site, db *store.DB, client *agent.Client, log *slog.Logger) deploy.Options {
	return deploy.Options{
		Store:    db.Deployments(),
		Router:   client,
		Drivers:  site,
		Hooks:    hookrun.Local{HTTP: hookrun.HTTP{Waits: store.HookWaits{DB: db}}},
		Watchers: alarmWatchers(client),
		Secrets:  provider.ContainerSecret,
		Events:   db.EventSink(context.WithoutCancel(ctx), func(err error) { log.Error("store event", "err", err) }),
		Logger:   log,
		LogDir:   filepath.Join(site.stateDir, "logs", "deployments"),
		// A rollback during the termination wait fails the execution that released
		// the deployment; its action may still be recording its success.
		AfterRollback: func(ctx context.Context, d *deploy.Deployment) {
			err := pipeline.FailReleasedExecution(ctx, db.Pipelines(), d.ExecutionID, d.ID, d.ErrorMessage, 200*time.Millisecond, 30*time.Second)
			if err != nil {
				log.Error("mark execution failed after rollback", "deployment", d.ID, "execution", d.ExecutionID, "err", err)
			}
		},
	}
}

func alarmWatchers(src alarm.Source) deploy.WatcherFactory {
	return func(service, tg string, alarms []*manifest.Alarm, from time.Time, onChange func(alarm.Transition)) deploy.AlarmWatcher {
		return alarm.NewWatcher(src, service, tg, alarms, from, onChange)
	}
}
