package local

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
)

// ListDeployments returns deployments newest first.
func (b *Backend) ListDeployments(ctx context.Context, q control.DeploymentQuery) ([]*control.Deployment, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	ds, err := b.deployStore().LatestDeployments(ctx, q.Service, limit)
	return ds, wrap(err)
}

// GetDeployment returns one deployment.
func (b *Backend) GetDeployment(ctx context.Context, id string) (*control.Deployment, error) {
	d, err := b.deployStore().Deployment(ctx, id)
	return d, wrap(err)
}

// CreateDeployment reads and checks the revision's files, snapshots the
// deployment group's configuration and records a blue-green deployment for the
// controller, which it starts when needed.
func (b *Backend) CreateDeployment(ctx context.Context, req control.DeploymentRequest) (*control.Deployment, error) {
	def := b.opts.Definition
	if def == nil {
		return nil, control.Errorf(control.CodeBadRequest, "a deployment needs the pipeline definition (greenlight.yaml)")
	}
	app, grp, err := b.pickGroup(req.Application, req.Group)
	if err != nil {
		return nil, err
	}
	dir := cmp.Or(req.RevisionDir, filepath.Dir(req.TaskDef))
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	rev, err := deploy.LoadBlueGreenRevision(req.AppSpec, req.TaskDef, dir)
	if err != nil {
		return nil, &control.Error{Code: control.CodeBadRequest, Err: err}
	}
	g, _ := def.DeploymentGroup(app, grp)
	driver, err := b.resolveDriver(ctx, g.Service)
	if err != nil {
		return nil, wrap(err)
	}
	cfg, err := deploy.BlueGreenConfig(def, app, grp, driver, rev)
	if err != nil {
		return nil, &control.Error{Code: control.CodeBadRequest, Err: err}
	}
	if err := b.opts.Site.EnsureController(ctx); err != nil {
		return nil, wrap(err)
	}
	// The creator is who asked (the token's name through a server, the user
	// on this machine), as for the starter of an execution.
	creator := deploy.Creator(cmp.Or(req.Who, string(deploy.CreatorUser)))
	d, err := deploy.Create(ctx, b.deployStore(), deploy.Request{Kind: deploy.KindBlueGreen, Application: app, Group: grp,
		Config: cfg, Revision: rev, Creator: creator})
	return d, wrap(err)
}

// pickGroup checks app/grp, or picks the only deployment group defined.
func (b *Backend) pickGroup(app, grp string) (string, string, error) {
	def := b.opts.Definition
	names := groupNames(b)
	if app != "" || grp != "" {
		if _, ok := def.DeploymentGroup(app, grp); !ok {
			return "", "", control.Errorf(control.CodeNotFound, "deployment group %s/%s is not defined in %s (defined: %s)", app, grp, def.Path, strings.Join(names, ", "))
		}
		return app, grp, nil
	}
	if len(names) != 1 {
		return "", "", control.Errorf(control.CodeBadRequest, "name the deployment group: %s defines %s", def.Path, strings.Join(names, ", "))
	}
	app, grp, _ = strings.Cut(names[0], "/")
	return app, grp, nil
}

func groupNames(b *Backend) []string {
	var names []string
	for an, app := range b.opts.Definition.Applications {
		for gn := range app.DeploymentGroups {
			names = append(names, an+"/"+gn)
		}
	}
	slices.Sort(names)
	return names
}

// CommandDeployment queues a command for the controller (started when needed).
// A continue is refused (conflict, not_ready) unless the deployment waits in
// its ready wait, as CodeDeploy refuses it.
func (b *Backend) CommandDeployment(ctx context.Context, c control.DeploymentCommand) (*control.Deployment, error) {
	if err := control.CheckCommand(c.Command); err != nil {
		return nil, err
	}
	d, err := b.activeDeployment(ctx, c.DeploymentID)
	if err != nil {
		return nil, err
	}
	if c.Command == control.CommandRollback && d.OriginalTargetGroup == "" && d.ReplacementWeight > 0 {
		// A service's first deployment has no original task set: rolling it back
		// would leave production without a target.
		return nil, control.Refused(control.ReasonNoOriginal, fmt.Errorf("deployment %s is the first of %s/%s: there is no original revision to roll back to (production would answer 503); deploy the revision you want instead", d.ID, d.Application, d.Group))
	}
	if c.Command == control.CommandContinue {
		// As CodeDeploy: only a deployment waiting in its ready wait takes a
		// continue, so that a pipeline behaves here as it will on AWS.
		if d, err = control.Continuable(d); err != nil {
			return nil, err
		}
	}
	if err := b.opts.Site.EnsureController(ctx); err != nil {
		return nil, wrap(err)
	}
	err = b.deployStore().AddCommand(ctx, d.ID, deploy.Command{Name: c.Command, Reason: c.Reason, Who: c.Who})
	return d, wrap(err)
}

// activeDeployment returns the deployment named id, or the only active one.
func (b *Backend) activeDeployment(ctx context.Context, id string) (*control.Deployment, error) {
	if id != "" {
		d, err := b.GetDeployment(ctx, id)
		if err != nil {
			return nil, err
		}
		return control.Commandable(d)
	}
	active, err := b.deployStore().ActiveDeployments(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	return control.OnlyActive(active)
}
