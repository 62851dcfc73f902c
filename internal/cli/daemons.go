package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/daemon"
)

func (a *app) agentCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "agent",
		Short: "Run the data plane: router, process supervisor and admin API (started on demand)",
		Long: `Run the agent of a state directory in the foreground. greenlight run and deploy
start it in the background when it is not running; production keeps serving
through it after they exit. SIGTERM stops the agent and leaves supervised processes
running for the next agent to adopt; greenlight down stops everything.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := a.stateDirectory()
			if err != nil {
				return err
			}
			return daemon.RunAgent(cmd.Context(), dir, slog.New(slog.NewJSONHandler(a.stderr, nil)))
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
			dir, err := a.stateDirectory()
			if err != nil {
				return err
			}
			return daemon.RunController(cmd.Context(), dir, slog.New(slog.NewJSONHandler(a.stderr, nil)))
		},
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
			newPrinter(a.stdout, a.json).line("greenlight stopped for %s", s.stateDir)
			return nil
		},
	}
}
