package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/hookrun"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func (a *app) agentCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "agent",
		Short: "Run the data plane: router, process supervisor and admin API (started on demand)",
		Long: `Run the agent of a state directory in the foreground. greenlight run, deploy and
serve start it in the background when it is not running; production keeps serving
through it after they exit. SIGTERM stops the agent and leaves supervised processes
running for the next agent to adopt; greenlight down stops everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.stateDirectory()
			if err != nil {
				return err
			}
			if _, version, err := agent.InstallBinary(dir); err == nil {
				agent.Version = version
			}
			log := slog.New(slog.NewJSONHandler(a.stderr, nil))
			err = agent.Run(cmd.Context(), agent.Config{StateDir: dir, Logger: log, Watchdog: &agent.Watchdog{StateDir: dir}})
			if errors.Is(err, agent.ErrLocked) {
				return nil // another agent serves this state directory
			}
			return err
		},
	}
}

func (a *app) controllerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "controller",
		Short:  "Run the deployment controller (started on demand, restarted by the agent)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.controller(cmd.Context())
		},
	}
}

// controller drives deployments until SIGTERM. It holds the controller lock so
// exactly one runs per state directory; a second one exits at once.
func (a *app) controller(ctx context.Context) error {
	dir, err := a.stateDirectory()
	if err != nil {
		return err
	}
	exe, version, err := agent.InstallBinary(dir)
	if err != nil {
		return err
	}
	lock, err := agent.LockController(dir, version)
	if errors.Is(err, agent.ErrLocked) {
		return nil
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	log := slog.New(slog.NewJSONHandler(a.stderr, nil))
	s, err := a.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	s.exe, s.version = exe, version
	client, err := s.ensureAgent(ctx)
	if err != nil {
		return err
	}
	ctrl := deploy.NewController(deploy.Options{
		Store:    s.deployments(),
		Router:   client,
		Drivers:  s,
		Hooks:    hookrun.Local{},
		Watchers: alarmWatchers(client),
		Events:   s.db.EventSink(context.WithoutCancel(ctx), func(err error) { log.Error("store event", "err", err) }),
		Logger:   log,
		LogDir:   filepath.Join(dir, "logs", "deployments"),
		AfterRollback: func(ctx context.Context, d *deploy.Deployment) {
			if err := failReleasedExecution(ctx, s.db, d); err != nil {
				log.Error("mark execution failed after rollback", "deployment", d.ID, "execution", d.ExecutionID, "err", err)
			}
		},
	})
	go agent.KeepAgentRunning(ctx, dir, exe, 500*time.Millisecond, func(err error) { log.Error("restart agent", "err", err) })
	log.Info("controller started", "pid", os.Getpid(), "version", version)
	err = ctrl.Run(ctx)
	log.Info("controller stopped")
	return err
}

// failReleasedExecution fails the pipeline execution that released a deployment
// rolled back afterwards (during its termination wait). The action may still be
// recording its success: try again for a while.
func failReleasedExecution(ctx context.Context, db *store.DB, d *deploy.Deployment) error {
	if d.ExecutionID == "" {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := pipeline.FailReleasedAction(ctx, db.Pipelines(), d.ExecutionID, d.ID, d.ErrorMessage, time.Now())
		if !errors.Is(err, pipeline.ErrActionInProgress) || time.Now().After(deadline) {
			return err
		}
		if err := sleepCtx(ctx, 200); err != nil {
			return err
		}
	}
}

func alarmWatchers(src alarm.Source) deploy.WatcherFactory {
	return func(service, tg string, alarms []*manifest.Alarm, from time.Time, onChange func(alarm.Transition)) deploy.AlarmWatcher {
		return alarm.NewWatcher(src, service, tg, alarms, from, onChange)
	}
}

func (a *app) downCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the agent, the controller, every supervised process and greenlight's containers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 60*time.Second)
			defer cancel()
			s, err := a.open(ctx, false)
			if err != nil {
				return err
			}
			defer s.close()
			errs := []error{agent.Down(ctx, s.stateDir), s.removeContainers(ctx)}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			newPrinter(a.stdout, a.json).line("greenlight stopped for %s", s.stateDir)
			return nil
		},
	}
}

// removeContainers stops the containers the docker driver started for this state
// directory (when an engine answers).
func (s *session) removeContainers(ctx context.Context) error {
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
