package cli

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status [EXECUTION]",
		Short: "Show an execution (default: the latest) stage by stage",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withBackend(ctx, true, func(b control.Backend) error {
				id, err := a.statusTarget(ctx, b, args)
				if err != nil {
					return err
				}
				v, err := b.GetExecution(ctx, id)
				if err != nil {
					return err
				}
				a.printExecution(newPrinter(a.stdout, a.json), v)
				return nil
			})
		},
	}
}

// statusTarget is the execution args names, or the latest one.
func (a *app) statusTarget(ctx context.Context, b control.Backend, args []string) (string, error) {
	if len(args) == 1 {
		return resolveExecution(ctx, b, args[0])
	}
	page, err := b.ListExecutions(ctx, control.ExecutionQuery{Limit: 1})
	if err != nil {
		return "", err
	}
	if len(page.Executions) == 0 {
		return "", errors.New("no executions yet: `greenlight run` starts one")
	}
	return page.Executions[0].ID, nil
}

func (a *app) printExecution(p *printer, v *control.Execution) {
	if a.json {
		p.object(v)
		return
	}
	p.line("execution %s of %s: %s", v.ID, v.Pipeline, strings.TrimSpace(string(v.Status)+" "+statusSummary(v.ExecutionSummary)))
	p.line("  revision %s (%s) %s", short7(v.Source.CommitID), v.RefName(), firstLine(v.Source.Message))
	p.line("  started %s, trigger %s %s", v.StartedAt.Local().Format(time.DateTime), v.Trigger, v.TriggerDetail)
	for _, st := range v.Stages {
		p.line("  %s %-18s %s", mark(string(st.Status)), st.Name, orDash(string(st.Status)))
		for _, act := range st.Actions {
			took := ""
			if !act.EndedAt.IsZero() {
				took = act.EndedAt.Sub(act.StartedAt).Round(100 * time.Millisecond).String()
			}
			p.line("      %s %-18s %-10s %-8s %s", mark(string(act.Status)), act.Name, orDash(string(act.Status)), took, cmp.Or(act.ErrorMessage, act.Summary))
			if ap := act.Approval; ap != nil && ap.Status == control.ApprovalNeeded {
				p.line("          waiting for approval: %s %s — greenlight approve %s --comment '...'", ap.CustomData, ap.ExternalEntityLink, short(v.ID))
			}
		}
	}
}

// statusSummary is what the execution's status says, or why it waits.
func statusSummary(v control.ExecutionSummary) string {
	if v.StatusSummary == "" && v.Wait != nil {
		return v.Wait.Reason
	}
	return v.StatusSummary
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
