package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) agentRestartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "restart",
		Short: "Replace the agent with a new one of this binary without refusing a connection",
		Long: `Start a new agent from this greenlight binary and hand it the running agent's
work: its listening sockets (passed over the admin socket), its routes with each
target's health, and the supervised processes. The old agent stops accepting,
finishes its in-flight requests (at most the longest deregistration delay) and
exits. Running a newer greenlight does the same by itself when the agent is of
another version. With no agent running, it starts one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Minute)
			defer cancel()
			s, err := a.open(ctx, false)
			if err != nil {
				return err
			}
			defer s.close()
			from, to, err := s.site.RestartAgent(ctx)
			if err != nil {
				return err
			}
			p := newPrinter(a.stdout, a.json)
			if a.json {
				p.object(map[string]any{"kind": "agent_restart", "from": from, "to": to})
				return nil
			}
			if from.PID == 0 {
				p.line("agent started: pid %d, version %s", to.PID, to.Version)
				return nil
			}
			p.line("agent restarted: pid %d (version %s) took over from pid %d (version %s)", to.PID, to.Version, from.PID, from.Version)
			return nil
		},
	}
}
