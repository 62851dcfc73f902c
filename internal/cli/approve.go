package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) approveCommand(approve bool) *cobra.Command {
	verb, done, short := "approve", "approved", "Approve a manual approval an execution waits for"
	if !approve {
		verb, done, short = "reject", "rejected", "Reject a manual approval (the execution fails)"
	}
	var comment, stage, action string
	cmd := &cobra.Command{
		Use:   verb + " EXECUTION --comment TEXT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(b control.Backend, id string) error {
				d := control.Decision{ExecutionID: id, Stage: stage, Action: action, Approve: approve, Who: whoami(), Comment: comment}
				if err := b.Decide(ctx, d); err != nil {
					return err
				}
				p := newPrinter(a.stdout, a.json)
				if a.json {
					p.object(map[string]any{"kind": "decision", "execution_id": id, "decision": done})
				} else {
					p.line("%s %s", done, id)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "summary recorded with the decision")
	cmd.Flags().StringVar(&stage, "stage", "", "stage of the approval (default: the one waiting)")
	cmd.Flags().StringVar(&action, "action", "", "action of the approval (default: the one waiting)")
	return cmd
}
