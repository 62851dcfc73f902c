package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) historyCommand() *cobra.Command {
	var limit int
	var pipeline string
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List recent executions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withBackend(ctx, true, func(b control.Backend) error {
				return a.history(ctx, b, control.ExecutionQuery{Pipeline: pipeline, Limit: limit})
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many, newest first")
	cmd.Flags().StringVar(&pipeline, "pipeline", "", "only this pipeline's executions (default: every pipeline of the backend)")
	return cmd
}

// history prints a page of executions; when the backend runs several pipelines
// (a server with -f repeated) and q names none, each line says whose it is.
func (a *app) history(ctx context.Context, b control.Backend, q control.ExecutionQuery) error {
	page, err := b.ListExecutions(ctx, q)
	if err != nil {
		return err
	}
	several := false
	if q.Pipeline == "" {
		pipelines, err := b.ListPipelines(ctx)
		if err != nil {
			return err
		}
		several = len(pipelines) > 1
	}
	a.printHistory(page.Executions, several)
	return nil
}

func (a *app) printHistory(list []control.ExecutionSummary, withPipeline bool) {
	p := newPrinter(a.stdout, a.json)
	if !a.json {
		p.line("%s%-36s %-11s %-8s %-20s %-9s %s", pipelineColumn(withPipeline, list, "PIPELINE"), "EXECUTION", "STATUS", "REVISION", "STARTED", "DURATION", "STAGE")
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
		p.line("%s%-36s %-11s %-8s %-20s %-9s %s", pipelineColumn(withPipeline, list, ex.Pipeline), ex.ID, ex.Status, short7(ex.Source.CommitID),
			ex.StartedAt.Local().Format(time.DateTime), dur, ex.Stage)
	}
}

// pipelineColumn is s padded to the longest pipeline name of list (and the
// header), or "" when the column is not shown.
func pipelineColumn(show bool, list []control.ExecutionSummary, s string) string {
	if !show {
		return ""
	}
	width := len("PIPELINE")
	for _, ex := range list {
		width = max(width, len(ex.Pipeline))
	}
	return fmt.Sprintf("%-*s ", width, s)
}
