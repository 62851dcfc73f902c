package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
)

func (a *app) deploymentsCommand() *cobra.Command {
	var limit int
	var service string
	cmd := &cobra.Command{
		Use:   "deployments [DEPLOYMENT]",
		Short: "List deployments, or show one with its lifecycle events",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return a.showDeployment(cmd.Context(), args[0])
			}
			return a.listDeployments(cmd.Context(), service, limit)
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many, newest first")
	cmd.Flags().StringVar(&service, "service", "", "only this service's")
	return cmd
}

func (a *app) listDeployments(ctx context.Context, service string, limit int) error {
	return a.withBackend(ctx, false, func(b control.Backend) error {
		ds, err := b.ListDeployments(ctx, control.DeploymentQuery{Service: service, Limit: limit})
		if err != nil {
			return err
		}
		p := newPrinter(a.stdout, a.json)
		if !a.json {
			p.line("%-12s %-26s %-10s %-11s %-9s %-20s %s", "DEPLOYMENT", "SERVICE", "KIND", "STATUS", "REVISION", "CREATED", "NOTE")
		}
		for _, d := range ds {
			if a.json {
				p.object(d)
				continue
			}
			p.line("%-12s %-26s %-10s %-11s %-9s %-20s %s", d.ID, d.Config.Service.Name, d.Kind, d.Status, revisionLabel(d),
				d.Created.Local().Format("2006-01-02 15:04:05"), deploymentNote(d))
		}
		return nil
	})
}

func deploymentNote(d *control.Deployment) string {
	switch {
	case d.RolledBackBy != "":
		return "rolled back by " + d.RolledBackBy + ": " + d.ErrorMessage
	case d.RollbackOf != "":
		note := "rollback of " + d.RollbackOf
		if d.Rollback != nil && d.Rollback.Restore > 0 {
			note += fmt.Sprintf(", restored in %s", d.Rollback.Restore.D().Round(time.Millisecond))
		}
		return note
	case d.ErrorMessage != "":
		return d.ErrorMessage
	case d.Status == control.DeploymentBaking:
		return "original warm until " + d.TerminationDue.Local().Format("15:04:05")
	}
	return ""
}

func (a *app) showDeployment(ctx context.Context, id string) error {
	return a.withBackend(ctx, false, func(b control.Backend) error {
		d, err := b.GetDeployment(ctx, id)
		if err != nil {
			return err
		}
		evs, err := b.Events(ctx, event.Query{DeploymentIDs: []string{id}})
		if err != nil {
			return err
		}
		p := newPrinter(a.stdout, a.json)
		if a.json {
			p.object(map[string]any{"deployment": d, "events": evs})
			return nil
		}
		printDeployment(p, d)
		p.line("  events:")
		for _, e := range evs {
			p.event(e)
		}
		return nil
	})
}

// revisionLabel is a deployment's revision in a list: its commit, or, for one
// made without a pipeline (greenlight deploy), its image's tag.
func revisionLabel(d *control.Deployment) string {
	if d.Revision.CommitID != "" {
		return short7(d.Revision.CommitID)
	}
	image := d.Revision.Image
	if i := strings.LastIndexByte(image, ':'); i >= 0 && !strings.Contains(image[i:], "/") {
		return ":" + image[i+1:]
	}
	return "-"
}

func printDeployment(p *printer, d *control.Deployment) {
	p.line("deployment %s (%s) of %s/%s to %s: %s", d.ID, d.Kind, d.Application, d.Group, d.Config.Service.Name, d.Status)
	if d.Revision.CommitID != "" {
		p.line("  revision   %s (%s) from %s", d.Revision.Image, short7(d.Revision.CommitID), d.Revision.ArtifactDir)
	} else {
		p.line("  revision   %s from %s", d.Revision.Image, d.Revision.ArtifactDir)
	}
	p.line("  config     %s, driver %s, termination wait %s", d.Config.DeploymentConfig.Name, d.Config.Service.Driver, d.Config.TerminationWait)
	p.line("  created    %s by %s", d.Created.Local().Format(time.DateTime), d.Creator)
	if note := deploymentNote(d); note != "" {
		p.line("  note       %s", note)
	}
	if d.Rollback != nil {
		p.line("  rollback   detection %s, restore %s (%s)", d.Rollback.Detection.D().Round(time.Millisecond), d.Rollback.Restore.D().Round(time.Millisecond), d.Rollback.Reason)
	}
	p.line("  lifecycle:")
	for _, st := range d.Steps {
		took := ""
		if !st.End.IsZero() && !st.Start.IsZero() {
			took = st.End.Sub(st.Start).Round(time.Millisecond).String()
		}
		p.line("    %s %-22s %-10s %-8s %s", mark(string(st.Status)), st.Name, st.Status, took, st.Message)
	}
	if len(d.Replacements) > 0 {
		p.line("  tasks replaced by the service scheduler:")
		for _, r := range d.Replacements {
			p.line("    %s %s %s: replaced by %s", r.At.Local().Format(time.DateTime), r.Old, r.Reason, r.New)
		}
	}
}
