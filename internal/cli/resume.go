package cli

import (
	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) resumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Continue executions a crashed or interrupted greenlight left in progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBackend(ctx, true, func(b control.Backend) error {
				ids, err := b.ResumeExecutions(ctx)
				if err != nil {
					return err
				}
				p := newPrinter(a.stdout, a.json)
				if len(ids) == 0 {
					if a.json {
						p.object(map[string]any{"kind": "resume", "executions": []string{}})
					} else {
						p.line("nothing to resume")
					}
					return nil
				}
				failed := false
				for _, id := range ids {
					st, err := a.follow(ctx, b, p, id, false)
					if err != nil {
						return err
					}
					failed = failed || st != control.StatusSucceeded
				}
				if failed {
					return exitError{code: 1}
				}
				return nil
			})
		},
	}
}
