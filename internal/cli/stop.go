package cli

import (
	"cmp"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) stopCommand() *cobra.Command {
	var abandon bool
	var reason string
	cmd := &cobra.Command{
		Use:   "stop EXECUTION",
		Short: "Stop an execution (after in-progress actions finish, or at once with --abandon)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(b control.Backend, id string) error {
				return b.StopExecution(ctx, control.StopRequest{ExecutionID: id, Abandon: abandon, Reason: cmp.Or(reason, "stopped by "+whoami())})
			})
		},
	}
	cmd.Flags().BoolVar(&abandon, "abandon", false, "abandon in-progress actions instead of letting them finish")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}
