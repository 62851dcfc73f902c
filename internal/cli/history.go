package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) historyCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List recent executions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBackend(ctx, true, func(b control.Backend) error {
				page, err := b.ListExecutions(ctx, control.ExecutionQuery{Limit: limit})
				if err != nil {
					return err
				}
				a.printHistory(page.Executions)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many, newest first")
	return cmd
}

func (a *app) printHistory(list []control.ExecutionSummary) {
	p := newPrinter(a.stdout, a.json)
	if !a.json {
		p.line("%-36s %-11s %-8s %-20s %-9s %s", "EXECUTION", "STATUS", "REVISION", "STARTED", "DURATION", "STAGE")
	}
	for _, ex := range list {
		if a.json {
			p.object(ex)
			continue
		}
		dur := "-"
		if !ex.EndedAt.IsZero() {
			dur = ex.EndedAt.Sub(ex.StartedAt).Round(100 * time.Millisecond).String()
		}
		p.line("%-36s %-11s %-8s %-20s %-9s %s", ex.ID, ex.Status, short7(ex.Source.CommitID), ex.StartedAt.Local().Format(time.DateTime), dur, ex.Stage)
	}
}
