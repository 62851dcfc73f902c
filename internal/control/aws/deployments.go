package aws

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// batchSize is how many deployments BatchGetDeployments reads at once.
const batchSize = 25

// activeStatuses are the statuses of a deployment that holds its group.
var activeStatuses = []cdtypes.DeploymentStatus{
	cdtypes.DeploymentStatusCreated, cdtypes.DeploymentStatusQueued, cdtypes.DeploymentStatusInProgress,
	cdtypes.DeploymentStatusReady, cdtypes.DeploymentStatusBaking,
}

// ListDeployments returns the groups' deployments newest first (ListDeployments,
// then BatchGetDeployments; lifecycle events only with GetDeployment).
func (b *Backend) ListDeployments(ctx context.Context, q control.DeploymentQuery) ([]*control.Deployment, error) {
	limit := cmp.Or(q.Limit, defaultLimit)
	ids, err := b.deploymentIDs(ctx, q.Service, nil, limit)
	if err != nil {
		return nil, err
	}
	ds, err := b.batchDeployments(ctx, ids)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(ds, func(x, y *control.Deployment) int { return y.Created.Compare(x.Created) })
	return ds[:min(len(ds), limit)], nil
}

// deploymentIDs lists up to limit deployment ids of each group (of service,
// when given), in statuses when given.
func (b *Backend) deploymentIDs(ctx context.Context, service string, statuses []cdtypes.DeploymentStatus, limit int) ([]string, error) {
	var ids []string
	for _, g := range b.opts.Groups {
		if service != "" && g.Service != service {
			continue
		}
		got, err := b.groupDeployments(ctx, g, statuses, limit)
		if err != nil {
			return nil, err
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// groupDeployments lists up to limit deployment ids of a group, in statuses
// when given.
func (b *Backend) groupDeployments(ctx context.Context, g Group, statuses []cdtypes.DeploymentStatus, limit int) ([]string, error) {
	in := &codedeploy.ListDeploymentsInput{ApplicationName: &g.Application, DeploymentGroupName: &g.Name, IncludeOnlyStatuses: statuses}
	var ids []string
	for len(ids) < limit {
		out, err := b.cd.ListDeployments(ctx, in)
		if err != nil {
			return nil, explain("list deployments of "+g.Ref(), err)
		}
		ids = append(ids, out.Deployments...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return ids[:min(len(ids), limit)], nil
}

func (b *Backend) batchDeployments(ctx context.Context, ids []string) ([]*control.Deployment, error) {
	out := []*control.Deployment{}
	for chunk := range slices.Chunk(ids, batchSize) {
		got, err := b.cd.BatchGetDeployments(ctx, &codedeploy.BatchGetDeploymentsInput{DeploymentIds: chunk})
		if err != nil {
			return nil, explain("read deployments", err)
		}
		for i := range got.DeploymentsInfo {
			out = append(out, b.deployment(&got.DeploymentsInfo[i]))
		}
	}
	return out, nil
}

// GetDeployment reads a deployment (GetDeployment) with its lifecycle events
// and task sets (ListDeploymentTargets, BatchGetDeploymentTargets) and the image
// it deploys (ECS DescribeTaskDefinition).
func (b *Backend) GetDeployment(ctx context.Context, id string) (*control.Deployment, error) {
	out, err := b.cd.GetDeployment(ctx, &codedeploy.GetDeploymentInput{DeploymentId: &id})
	if err != nil {
		return nil, explain("read deployment "+id, err)
	}
	d := b.deployment(out.DeploymentInfo)
	targets, err := b.targets(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if t.EcsTarget != nil {
			applyTarget(d, t.EcsTarget)
		}
	}
	if app := d.Revision.AppSpec; app != nil {
		if d.Revision.Image, err = b.image(ctx, app.Target().TaskDefinition, d.Revision.ContainerName); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// targets are a deployment's targets: for ECS, the one service.
func (b *Backend) targets(ctx context.Context, id string) ([]cdtypes.DeploymentTarget, error) {
	var ids []string
	in := &codedeploy.ListDeploymentTargetsInput{DeploymentId: &id}
	for {
		out, err := b.cd.ListDeploymentTargets(ctx, in)
		if err != nil {
			return nil, explain("list targets of deployment "+id, err)
		}
		ids = append(ids, out.TargetIds...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := b.cd.BatchGetDeploymentTargets(ctx, &codedeploy.BatchGetDeploymentTargetsInput{DeploymentId: &id, TargetIds: ids})
	if err != nil {
		return nil, explain("read targets of deployment "+id, err)
	}
	return out.DeploymentTargets, nil
}

// image is the image of the container the appspec routes traffic to. A task
// definition revision never changes: each is described once.
func (b *Backend) image(ctx context.Context, taskDefinition, container string) (string, error) {
	key := taskDefinition + "|" + container
	if img, ok := b.images.Load(key); ok {
		return img.(string), nil
	}
	out, err := b.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: &taskDefinition})
	if err != nil {
		return "", explain("describe task definition "+taskDefinition, err)
	}
	img := ""
	if out.TaskDefinition != nil {
		for _, c := range out.TaskDefinition.ContainerDefinitions {
			if sdkaws.ToString(c.Name) == container {
				img = sdkaws.ToString(c.Image)
			}
		}
	}
	b.images.Store(key, img)
	return img, nil
}

// deploymentStatuses maps CodeDeploy's statuses (Queued waits like Created).
var deploymentStatuses = map[cdtypes.DeploymentStatus]control.DeploymentStatus{
	cdtypes.DeploymentStatusCreated: deploy.StatusCreated, cdtypes.DeploymentStatusQueued: deploy.StatusCreated,
	cdtypes.DeploymentStatusInProgress: deploy.StatusInProgress, cdtypes.DeploymentStatusReady: deploy.StatusReady,
	cdtypes.DeploymentStatusBaking: deploy.StatusBaking, cdtypes.DeploymentStatusSucceeded: deploy.StatusSucceeded,
	cdtypes.DeploymentStatusFailed: deploy.StatusFailed, cdtypes.DeploymentStatusStopped: deploy.StatusStopped,
}

// deployment maps CodeDeploy's deployment to the controller's record.
func (b *Backend) deployment(info *cdtypes.DeploymentInfo) *control.Deployment {
	d := &control.Deployment{Kind: deploy.KindBlueGreen, Steps: []control.Step{}}
	if info == nil {
		return d
	}
	d.ID, d.Application, d.Group = sdkaws.ToString(info.DeploymentId), sdkaws.ToString(info.ApplicationName), sdkaws.ToString(info.DeploymentGroupName)
	d.Status, d.Creator = deploymentStatuses[info.Status], deploy.Creator(info.Creator)
	d.Created, d.Completed = sdkaws.ToTime(info.CreateTime), sdkaws.ToTime(info.CompleteTime)
	if info.Creator == cdtypes.DeploymentCreatorCodeDeployRollback {
		d.Kind, d.Creator = deploy.KindRollback, deploy.CreatorAutoRollback
	}
	if e := info.ErrorInformation; e != nil {
		d.ErrorCode, d.ErrorMessage = deploy.ErrorCode(e.Code), sdkaws.ToString(e.Message)
	}
	if r := info.RollbackInfo; r != nil {
		d.RolledBackBy, d.RollbackOf = sdkaws.ToString(r.RollbackDeploymentId), sdkaws.ToString(r.RollbackTriggeringDeploymentId)
	}
	d.Revision = revisionOf(info)
	d.Config = b.configOf(info)
	return d
}

// revisionOf reads the appspec CodePipeline passed as content: the task
// definition's ARN and the container traffic reaches.
func revisionOf(info *cdtypes.DeploymentInfo) deploy.Revision {
	rev := deploy.Revision{Description: sdkaws.ToString(info.Description)}
	if info.Revision == nil || info.Revision.AppSpecContent == nil || info.Revision.AppSpecContent.Content == nil {
		return rev
	}
	app, err := manifest.ParseAppSpec("appspec of "+sdkaws.ToString(info.DeploymentId), []byte(*info.Revision.AppSpecContent.Content))
	if err != nil {
		rev.Description = strings.TrimSpace(rev.Description + " (appspec unreadable: " + err.Error() + ")")
		return rev
	}
	t := app.Target()
	rev.AppSpec, rev.ContainerName, rev.ContainerPort = app, t.ContainerName, t.ContainerPort
	return rev
}

// configOf is the group's configuration as the deployment ran with it.
func (b *Backend) configOf(info *cdtypes.DeploymentInfo) deploy.Config {
	cfg := deploy.Config{DeploymentConfig: manifest.DeploymentConfig{Name: sdkaws.ToString(info.DeploymentConfigName)}}
	if bg := info.BlueGreenDeploymentConfiguration; bg != nil {
		if r := bg.DeploymentReadyOption; r != nil {
			cfg.ReadyAction, cfg.ReadyWait = string(r.ActionOnTimeout), minutes(r.WaitTimeInMinutes)
		}
		if t := bg.TerminateBlueInstancesOnDeploymentSuccess; t != nil {
			cfg.TerminationWait = minutes(t.TerminationWaitTimeInMinutes)
		}
	}
	if ar := info.AutoRollbackConfiguration; ar != nil {
		cfg.AutoRollback.Enabled = ar.Enabled
		for _, e := range ar.Events {
			cfg.AutoRollback.Events = append(cfg.AutoRollback.Events, string(e))
		}
	}
	ref := sdkaws.ToString(info.ApplicationName) + "/" + sdkaws.ToString(info.DeploymentGroupName)
	for _, g := range b.opts.Groups {
		if g.Ref() == ref {
			cfg.Service.Name = g.Service
		}
	}
	return cfg
}

func minutes(n int32) jsontime.Duration { return jsontime.Duration(time.Duration(n) * time.Minute) }

// applyTarget adds the ECS target's lifecycle events and task sets.
func applyTarget(d *control.Deployment, t *cdtypes.ECSTarget) {
	for _, e := range t.LifecycleEvents {
		st := control.Step{Name: deploy.StepName(sdkaws.ToString(e.LifecycleEventName)), Status: deploy.StepStatus(e.Status),
			Start: sdkaws.ToTime(e.StartTime), End: sdkaws.ToTime(e.EndTime)}
		if e.Status == cdtypes.LifecycleEventStatusUnknown {
			st.Status = deploy.StepPending
		}
		if dg := e.Diagnostics; dg != nil {
			st.Message = strings.TrimSpace(sdkaws.ToString(dg.Message) + " " + sdkaws.ToString(dg.LogTail))
		}
		d.Steps = append(d.Steps, st)
		if st.Name == deploy.StepAfterAllowTraffic && !st.End.IsZero() {
			d.TerminationDue = st.End.Add(d.Config.TerminationWait.D())
		}
	}
	for _, ts := range t.TaskSetsInfo {
		group := ""
		if ts.TargetGroup != nil {
			group = sdkaws.ToString(ts.TargetGroup.Name)
		}
		switch string(ts.TaskSetLabel) {
		case "Green":
			d.ReplacementTargetGroup, d.ReplacementWeight = group, int(ts.TrafficWeight)
		case "Blue":
			d.OriginalTargetGroup = group
		}
	}
}

// CreateDeployment is not supported: on AWS a deployment comes from the
// pipeline, whose CodeDeployToECS action registers the task definition.
func (b *Backend) CreateDeployment(context.Context, control.DeploymentRequest) (*control.Deployment, error) {
	return nil, control.Errorf(control.CodeNotSupported, "on AWS deployments come from the pipeline (CodePipeline's CodeDeployToECS action registers the task definition): run `greenlight run --backend aws`")
}

// CommandDeployment continues (ContinueDeployment), stops (StopDeployment,
// rolling back when the group rolls back on a stop request) or rolls back
// (StopDeployment with autoRollbackEnabled) a deployment, the only active one
// when none is named.
func (b *Backend) CommandDeployment(ctx context.Context, c control.DeploymentCommand) (*control.Deployment, error) {
	if err := control.CheckCommand(c.Command); err != nil {
		return nil, err
	}
	d, err := b.activeDeployment(ctx, c.DeploymentID)
	if err != nil {
		return nil, err
	}
	switch c.Command {
	case control.CommandContinue:
		_, err = b.cd.ContinueDeployment(ctx, &codedeploy.ContinueDeploymentInput{DeploymentId: &d.ID, DeploymentWaitType: cdtypes.DeploymentWaitTypeReadyWait})
	default:
		rollback := c.Command == control.CommandRollback || d.Config.AutoRollback.RollsBackOn(manifest.RollbackOnRequest)
		_, err = b.cd.StopDeployment(ctx, &codedeploy.StopDeploymentInput{DeploymentId: &d.ID, AutoRollbackEnabled: sdkaws.Bool(rollback)})
	}
	if err != nil {
		return nil, explain(fmt.Sprintf("%s deployment %s", c.Command, d.ID), err)
	}
	return d, nil
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
	ids, err := b.deploymentIDs(ctx, "", activeStatuses, batchSize)
	if err != nil {
		return nil, err
	}
	active, err := b.batchDeployments(ctx, ids)
	if err != nil {
		return nil, err
	}
	d, err := control.OnlyActive(active)
	if err != nil {
		return nil, err
	}
	return b.GetDeployment(ctx, d.ID)
}
