package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/daemon"
)

func (a *app) agentCommand() *cobra.Command {
	var takeOver bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the data plane: router, process supervisor and admin API (started on demand)",
		Long: `Run the agent of a state directory in the foreground. greenlight run and deploy
start it in the background when it is not running; production keeps serving
through it after they exit. The command is the agent's socket keeper: it runs
the agent as a child process and holds its listening sockets, so that when the
agent crashes connections wait for the next one, started at once, instead of
being refused. SIGTERM stops the agent and leaves supervised processes running
for the next agent to adopt; greenlight down stops everything; greenlight agent
restart replaces the agent without refusing a connection.`,
		Args: cobra.NoArgs,
		RunE: a.daemonMain(func(ctx context.Context, dir string, log *slog.Logger) error {
			return daemon.RunAgent(ctx, dir, log, takeOver)
		}),
	}
	cmd.Flags().BoolVar(&takeOver, "take-over", false, "take the sockets, routes and processes over from the agent running now")
	cmd.AddCommand(a.agentServeCommand(), a.agentRestartCommand())
	return cmd
}

func (a *app) agentServeCommand() *cobra.Command {
	var takeOver bool
	cmd := &cobra.Command{
		Use:    "serve",
		Short:  "Run one agent process (its socket keeper, greenlight agent, runs it)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: a.daemonMain(func(ctx context.Context, dir string, log *slog.Logger) error {
			return daemon.ServeAgent(ctx, dir, log, takeOver)
		}),
	}
	cmd.Flags().BoolVar(&takeOver, "take-over", false, "take over from the agent running now")
	return cmd
}

// daemonMain is the main of a background process: run on the state
// directory, logging JSON to stderr (the process's log file).
func (a *app) daemonMain(run func(ctx context.Context, dir string, log *slog.Logger) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		dir, err := a.stateDirectory()
		if err != nil {
			return err
		}
		return run(cmd.Context(), dir, slog.New(slog.NewJSONHandler(a.stderr, nil)))
	}
}

func (a *app) controllerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "controller",
		Short:  "Run the deployment controller (started on demand, restarted by the agent)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE:   a.daemonMain(daemon.RunController),
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
			if err := s.site.Down(ctx); err != nil {
				return err
			}
			if p := newPrinter(a.stdout, a.json); a.json {
				p.object(map[string]any{"kind": "down", "state_dir": s.stateDir})
			} else {
				p.line("greenlight stopped for %s", s.stateDir)
			}
			return nil
		},
	}
}
