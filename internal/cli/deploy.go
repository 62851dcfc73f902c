package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/store"
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
			return a.deploy(cmd.Context(), group, taskdef, appspec, dir)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "deployment group as APPLICATION/GROUP (default: the only one defined)")
	cmd.Flags().StringVar(&taskdef, "taskdef", "taskdef.json", "task definition (ECS JSON)")
	cmd.Flags().StringVar(&appspec, "appspec", "appspec.yaml", "CodeDeploy appspec (ECS form)")
	cmd.Flags().StringVar(&dir, "dir", "", "revision directory: where hooks and process tasks run")
	cmd.AddCommand(a.deployVerbCommand("continue", deploy.CommandContinue, "Reroute traffic of a deployment waiting with STOP_DEPLOYMENT"),
		a.deployVerbCommand("stop", deploy.CommandStop, "Stop a deployment (it rolls back when DEPLOYMENT_STOP_ON_REQUEST is set)"))
	return cmd
}

func (a *app) deploy(ctx context.Context, group, taskdefPath, appspecPath, dir string) error {
	s, err := a.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	app, grp, err := s.pickGroup(group)
	if err != nil {
		return err
	}
	if dir == "" {
		dir = filepath.Dir(taskdefPath)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	rev, err := deploy.LoadBlueGreenRevision(appspecPath, taskdefPath, dir)
	if err != nil {
		return err
	}
	g, _ := s.def.DeploymentGroup(app, grp)
	driver, err := s.resolveDriver(ctx, g.Service)
	if err != nil {
		return err
	}
	cfg, err := deploy.BlueGreenConfig(s.def, app, grp, driver, rev.AppSpec)
	if err != nil {
		return err
	}
	if err := s.ensureController(ctx); err != nil {
		return err
	}
	d, err := deploy.Create(ctx, s.deployments(), deploy.Request{Kind: deploy.KindBlueGreen, Application: app, Group: grp, Config: cfg, Revision: rev, Creator: deploy.CreatorUser})
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	if !a.json {
		p.line("deployment %s: %s to %s/%s (%s, %s)", d.ID, rev.Image, app, grp, cfg.DeploymentConfig.Name, driver)
	}
	final, err := a.followDeployment(ctx, s, p, d.ID, func(d *deploy.Deployment) bool { return d.Status.Released() || d.Status.Done() })
	if err != nil {
		return err
	}
	return a.deploymentResult(p, final)
}

// followDeployment prints a deployment's events (and its rollback's) until until
// holds, and returns the deployment as it is then.
func (a *app) followDeployment(ctx context.Context, s *session, p *printer, id string, until func(*deploy.Deployment) bool) (*deploy.Deployment, error) {
	ids := map[string]bool{id: true}
	var last *deploy.Deployment
	var afterSeq int64
	for {
		d, err := s.deployments().Deployment(ctx, id)
		if err != nil {
			return nil, err
		}
		if d.RolledBackBy != "" {
			ids[d.RolledBackBy] = true
		}
		evs, err := s.db.Events(ctx, store.EventFilter{AfterSeq: afterSeq, Kinds: []event.Kind{event.KindDeployment, event.KindLifecycle, event.KindTraffic, event.KindAlarm}})
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			afterSeq = e.Seq
			if ids[e.DeploymentID] {
				p.event(e)
			}
		}
		if last != nil && until(last) {
			return d, nil
		}
		last = d
		if err := sleepCtx(ctx, 100); err != nil {
			return nil, err
		}
	}
}

func (a *app) deploymentResult(p *printer, d *deploy.Deployment) error {
	if a.json {
		p.object(map[string]any{"kind": "summary", "deployment": d})
	} else {
		switch {
		case d.Status.Released():
			p.line("✔ %s: production %s serves the new revision", d.ID, d.Config.Service.ProductionURL())
			if d.Status == deploy.StatusBaking {
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

// pickGroup resolves --group, defaulting to the only deployment group defined.
func (s *session) pickGroup(flag string) (string, string, error) {
	if flag != "" {
		app, grp, ok := strings.Cut(flag, "/")
		if !ok {
			return "", "", fmt.Errorf("--group %q: want APPLICATION/GROUP", flag)
		}
		if _, ok := s.def.DeploymentGroup(app, grp); !ok {
			return "", "", fmt.Errorf("deployment group %s is not defined in %s (defined: %s)", flag, s.def.Path, strings.Join(groupNames(s), ", "))
		}
		return app, grp, nil
	}
	names := groupNames(s)
	if len(names) != 1 {
		return "", "", fmt.Errorf("--group is required: %s defines %s", s.def.Path, strings.Join(names, ", "))
	}
	app, grp, _ := strings.Cut(names[0], "/")
	return app, grp, nil
}

func groupNames(s *session) []string {
	var names []string
	for an, app := range s.def.Applications {
		for gn := range app.DeploymentGroups {
			names = append(names, an+"/"+gn)
		}
	}
	return names
}

// deployVerbCommand queues a command for a running deployment.
func (a *app) deployVerbCommand(use, command, short string) *cobra.Command {
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
func (a *app) deploymentCommand(ctx context.Context, args []string, command, reason string) error {
	s, err := a.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	d, err := s.activeDeployment(ctx, args)
	if err != nil {
		return err
	}
	if err := s.ensureController(ctx); err != nil {
		return err
	}
	if err := s.deployments().AddCommand(ctx, d.ID, deploy.Command{Name: command, Reason: reason, Who: whoami()}); err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	// A stop or rollback has taken effect once the deployment is done (and, when it
	// rolls back, knows its rollback); a continue once it no longer waits.
	until := func(d *deploy.Deployment) bool { return d.Status.Done() }
	if command == deploy.CommandContinue {
		until = func(d *deploy.Deployment) bool { return d.Status != deploy.StatusReady }
	}
	final, err := a.followDeployment(ctx, s, p, d.ID, until)
	if err != nil {
		return err
	}
	if final.RolledBackBy != "" {
		rb, err := a.followDeployment(ctx, s, p, final.RolledBackBy, func(d *deploy.Deployment) bool { return d.Status.Done() })
		if err != nil {
			return err
		}
		return a.rollbackResult(p, final, rb)
	}
	if a.json {
		p.object(map[string]any{"kind": "summary", "deployment": final})
	} else {
		p.line("%s %s is %s %s", mark(string(final.Status)), final.ID, final.Status, final.ErrorMessage)
	}
	if command == deploy.CommandRollback {
		return exitError{code: 1} // done without a rollback: it was refused
	}
	return nil
}

// activeDeployment returns the deployment args names, or the only active one.
func (s *session) activeDeployment(ctx context.Context, args []string) (*deploy.Deployment, error) {
	if len(args) == 1 {
		return s.deployments().Deployment(ctx, args[0])
	}
	active, err := s.deployments().ActiveDeployments(ctx)
	if err != nil {
		return nil, err
	}
	var candidates []*deploy.Deployment
	for _, d := range active {
		if d.Kind != deploy.KindRollback {
			candidates = append(candidates, d)
		}
	}
	switch len(candidates) {
	case 0:
		return nil, fmt.Errorf("no deployment is in progress or baking (see `greenlight deployments`)")
	case 1:
		return candidates[0], nil
	}
	var ids []string
	for _, d := range candidates {
		ids = append(ids, fmt.Sprintf("%s (%s, %s)", d.ID, d.Config.Service.Name, d.Status))
	}
	return nil, fmt.Errorf("several deployments are active, name one: %s", strings.Join(ids, ", "))
}
