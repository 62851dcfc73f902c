package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) rollbackCommand() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "rollback [DEPLOYMENT]",
		Short: "Move production back to the original revision at once",
		Long: `Roll back a deployment that is in progress or in its termination wait: production
and test traffic return to the original (blue) task set in one atomic change, and
the replacement drains and stops. Without an argument, the only active deployment.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deploymentCommand(cmd.Context(), args, control.CommandRollback, reason)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the rollback)")
	return cmd
}

func (a *app) rollbackResult(p *printer, d, rb *control.Deployment) error {
	if a.json {
		p.object(map[string]any{"kind": "summary", "deployment": d, "rollback": rb})
		return nil
	}
	restore := ""
	if rb.Rollback != nil {
		restore = " in " + rb.Rollback.Restore.String()
	}
	p.line("✔ %s rolled back by %s: production back on the original%s", d.ID, rb.ID, restore)
	return nil
}
