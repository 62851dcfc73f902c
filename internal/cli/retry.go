package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) retryCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry EXECUTION STAGE",
		Short: "Retry a failed stage (its failed actions, or all with --all) and continue the execution",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(b control.Backend, id string) error {
				if err := b.RetryStage(ctx, control.RetryRequest{ExecutionID: id, Stage: args[1], All: all}); err != nil {
					return err
				}
				st, err := a.follow(ctx, b, newPrinter(a.stdout, a.json), id, false)
				if err != nil {
					return err
				}
				return exitUnlessSucceeded(st)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every action of the stage, not only the failed ones")
	return cmd
}
