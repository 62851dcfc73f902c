package local

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Alarms evaluates every group's alarms now on the router's metrics: on the
// production target group, and on the replacement of an active deployment. It
// starts nothing: Unavailable when no agent runs.
func (b *Backend) Alarms(ctx context.Context) ([]control.AlarmStatus, error) {
	def := b.opts.Definition
	if def == nil {
		return nil, control.Errorf(control.CodeBadRequest, "alarms need the pipeline definition (greenlight.yaml)")
	}
	client, err := b.opts.Site.RunningAgent(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	active, err := b.deployStore().ActiveDeployments(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	var out []control.AlarmStatus
	for _, appName := range slices.Sorted(maps.Keys(def.Applications)) {
		app := def.Applications[appName]
		for _, gName := range slices.Sorted(maps.Keys(app.DeploymentGroups)) {
			views, err := b.groupAlarms(ctx, client, appName+"/"+gName, app.DeploymentGroups[gName], active)
			if err != nil {
				return nil, wrap(err)
			}
			out = append(out, views...)
		}
	}
	return out, nil
}

// groupAlarms evaluates one group's alarms on each target group they judge.
func (b *Backend) groupAlarms(ctx context.Context, client *agent.Client, group string, g *manifest.DeploymentGroup, active []*deploy.Deployment) ([]control.AlarmStatus, error) {
	st, err := client.Service(ctx, g.Service)
	if err != nil || st == nil {
		return nil, err
	}
	now := time.Now()
	series, err := client.Series(ctx, g.Service, now.Add(-10*time.Minute).UnixMilli())
	if err != nil {
		return nil, err
	}
	targets := map[string]string{productionGroup(st.Spec.ProductionWeights): "production"}
	for _, d := range active {
		if d.Application+"/"+d.Group == group && d.ReplacementTargetGroup != "" {
			targets[d.ReplacementTargetGroup] = "replacement " + d.ID
		}
	}
	var out []control.AlarmStatus
	for _, tg := range slices.Sorted(maps.Keys(targets)) {
		for _, name := range g.Alarms.Names {
			ev := alarm.Evaluate(b.opts.Definition.Alarms[name], metrics.SlotsOf(series, tg), now, alarm.StateInsufficientData)
			out = append(out, control.AlarmStatus{Alarm: name, Group: group, Service: g.Service, TargetGroup: tg, Role: targets[tg],
				State: ev.State, Reason: ev.Reason, Datapoints: ev.Datapoints})
		}
	}
	return out, nil
}

// productionGroup is the target group with the larger production weight (by name
// on a tie).
func productionGroup(weights map[string]int) string {
	best, bw := "", -1
	for _, tg := range slices.Sorted(maps.Keys(weights)) {
		if w := weights[tg]; w > bw {
			best, bw = tg, w
		}
	}
	return best
}
