package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
)

func (a *app) deployCommand() *cobra.Command {
	var group, taskdef, appspec, dir string
	cmd := &cobra.Command{
		Use:   "deploy --group APP/GROUP --taskdef taskdef.json --appspec appspec.yaml",
		Short: "Run one blue-green deployment, without the rest of the pipeline",
		Long: `Deploy a task definition to a deployment group with CodeDeploy's ECS blue-green
lifecycle. Hook commands and process-driver tasks run in --dir (default: the
directory of the task definition). The command follows the deployment until
production serves the new revision (or it is rolled back); the termination wait
goes on in the background controller.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := deploymentRequest(group, taskdef, appspec, dir)
			if err != nil {
				return err
			}
			return a.deploy(cmd.Context(), req)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "deployment group as APPLICATION/GROUP (default: the only one defined)")
	cmd.Flags().StringVar(&taskdef, "taskdef", "taskdef.json", "task definition (ECS JSON)")
	cmd.Flags().StringVar(&appspec, "appspec", "appspec.yaml", "CodeDeploy appspec (ECS form)")
	cmd.Flags().StringVar(&dir, "dir", "", "revision directory: where hooks and process tasks run")
	cmd.AddCommand(a.deployVerbCommand("continue", control.CommandContinue, "Reroute traffic of a deployment waiting with STOP_DEPLOYMENT"),
		a.deployVerbCommand("stop", control.CommandStop, "Stop a deployment (it rolls back when DEPLOYMENT_STOP_ON_REQUEST is set)"))
	return cmd
}

// deploymentRequest turns the flags into a request with absolute paths.
func deploymentRequest(group, taskdef, appspec, dir string) (control.DeploymentRequest, error) {
	req := control.DeploymentRequest{Who: whoami()}
	if group != "" {
		app, grp, ok := strings.Cut(group, "/")
		if !ok {
			return req, fmt.Errorf("--group %q: want APPLICATION/GROUP", group)
		}
		req.Application, req.Group = app, grp
	}
	var err error
	for _, p := range []struct {
		in  string
		out *string
	}{{taskdef, &req.TaskDef}, {appspec, &req.AppSpec}, {dir, &req.RevisionDir}} {
		if p.in != "" {
			if *p.out, err = filepath.Abs(p.in); err != nil {
				return req, err
			}
		}
	}
	return req, nil
}

func (a *app) deploy(ctx context.Context, req control.DeploymentRequest) error {
	return a.withBackend(ctx, true, func(b control.Backend) error {
		d, err := b.CreateDeployment(ctx, req)
		if err != nil {
			return err
		}
		p := newPrinter(a.stdout, a.json)
		if !a.json {
			p.line("deployment %s: %s to %s/%s (%s, %s)", d.ID, d.Revision.Image, d.Application, d.Group, d.Config.DeploymentConfig.Name, d.Config.Service.Driver)
		}
		final, err := control.FollowDeployment(ctx, b, d.ID, control.Follow{
			Until:   func(d *control.Deployment) bool { return d.Status.Released() || d.Status.Done() },
			OnEvent: p.event,
		})
		if err != nil {
			return err
		}
		return a.deploymentResult(p, final)
	})
}

func (a *app) deploymentResult(p *printer, d *control.Deployment) error {
	if a.json {
		p.object(map[string]any{"kind": "summary", "deployment": d})
	} else {
		switch {
		case d.Status.Released():
			p.line("✔ %s: production %s serves the new revision", d.ID, d.Config.Service.ProductionURL())
			if d.Status == control.DeploymentBaking && d.OriginalTargetGroup != "" {
				p.line("  original kept warm until %s: `greenlight rollback %s` moves production back at once", d.TerminationDue.Local().Format("15:04:05"), d.ID)
			}
		default:
			p.line("✘ %s %s: %s", d.ID, d.Status, d.ErrorMessage)
		}
	}
	if !d.Status.Released() {
		return exitError{code: 1}
	}
	return nil
}

// deployVerbCommand queues a command for a running deployment.
func (a *app) deployVerbCommand(use string, command control.CommandName, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   use + " [DEPLOYMENT]",
		Short: short,
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deploymentCommand(cmd.Context(), args, command, reason)
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded with the deployment)")
	return cmd
}

// deploymentCommand sends command to the deployment named in args (or the only
// active one) and follows it until the command has taken effect.
func (a *app) deploymentCommand(ctx context.Context, args []string, command control.CommandName, reason string) error {
	return a.withBackend(ctx, false, func(b control.Backend) error {
		c := control.DeploymentCommand{Command: command, Reason: reason, Who: whoami()}
		if len(args) == 1 {
			c.DeploymentID = args[0]
		}
		d, err := b.CommandDeployment(ctx, c)
		if err != nil {
			return err
		}
		p := newPrinter(a.stdout, a.json)
		once := onceEach(p.event)
		// A stop or rollback has taken effect once the deployment is done (and, when
		// it rolls back, knows its rollback); a continue once it no longer waits.
		until := func(d *control.Deployment) bool { return d.Status.Done() }
		if command == control.CommandContinue {
			until = func(d *control.Deployment) bool { return d.Status != control.DeploymentReady }
		}
		final, err := control.FollowDeployment(ctx, b, d.ID, control.Follow{Until: until, OnEvent: once})
		if err != nil {
			return err
		}
		if final.RolledBackBy != "" {
			rb, err := control.FollowDeployment(ctx, b, final.RolledBackBy, control.Follow{Until: func(d *control.Deployment) bool { return d.Status.Done() }, OnEvent: once})
			if err != nil {
				return err
			}
			return a.rollbackResult(p, final, rb)
		}
		return a.commandResult(p, final, command)
	})
}

func (a *app) commandResult(p *printer, final *control.Deployment, command control.CommandName) error {
	if a.json {
		p.object(map[string]any{"kind": "summary", "deployment": final})
	} else {
		p.line("%s %s is %s %s", mark(string(final.Status)), final.ID, final.Status, final.ErrorMessage)
	}
	if command == control.CommandRollback {
		return exitError{code: 1} // done without a rollback: it was refused
	}
	return nil
}

// onceEach passes on each event once, however often it is handed over.
func onceEach(on func(event.Event)) func(event.Event) {
	var last int64
	return func(e event.Event) {
		if e.Seq > last {
			last = e.Seq
			on(e)
		}
	}
}
