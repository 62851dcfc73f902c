package local

import (
	"context"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// DeploymentMetrics reads the deployment's service from the agent: weights and
// target health now, and the traffic of each target group per second. It
// starts nothing: Unavailable when no agent runs.
func (b *Backend) DeploymentMetrics(ctx context.Context, q control.MetricsQuery) ([]control.TargetGroupMetrics, error) {
	d, err := b.GetDeployment(ctx, q.DeploymentID)
	if err != nil {
		return nil, err
	}
	client, err := b.opts.Site.RunningAgent(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	service := d.Config.Service.Name
	st, err := client.Service(ctx, service)
	if err != nil {
		return nil, control.Errorf(control.CodeUnavailable, "routing of %s: %v", service, err)
	}
	if st == nil {
		return []control.TargetGroupMetrics{}, nil // never routed, or removed
	}
	var sinceMs int64
	if !q.Since.IsZero() {
		sinceMs = q.Since.UnixMilli()
	}
	series, err := client.Series(ctx, service, sinceMs)
	if err != nil {
		return nil, control.Errorf(control.CodeUnavailable, "metrics of %s: %v", service, err)
	}
	roles := map[string]string{d.OriginalTargetGroup: control.RoleOriginal, d.ReplacementTargetGroup: control.RoleReplacement}
	return targetGroupMetrics(st, series, roles), nil
}

// targetGroupMetrics joins the router's status and series of one service.
func targetGroupMetrics(st *routing.ServiceStatus, series []metrics.Series, roles map[string]string) []control.TargetGroupMetrics {
	out := []control.TargetGroupMetrics{}
	for _, tg := range st.Spec.TargetGroups {
		m := control.TargetGroupMetrics{TargetGroup: tg.Name, Role: roles[tg.Name], ProductionWeight: st.Spec.ProductionWeights[tg.Name],
			Test: st.Spec.TestTargetGroup == tg.Name, Targets: []control.TargetHealth{}, Points: perSecond(metrics.SlotsOf(series, tg.Name))}
		if i := slices.IndexFunc(st.TargetGroups, func(g routing.TargetGroupStatus) bool { return g.Name == tg.Name }); i >= 0 {
			for _, t := range st.TargetGroups[i].Targets {
				m.Targets = append(m.Targets, control.TargetHealth{ID: t.ID, Address: t.Address, State: string(t.State), Reason: t.Reason})
			}
		}
		out = append(out, m)
	}
	return out
}

// slotsPerSecond is how many of the router's slots make one point.
const slotsPerSecond = int64(time.Second / metrics.SlotDuration)

// perSecond folds 100 ms slots into whole seconds. A second the router has only
// part of (the one in progress, or the oldest one kept) is left out, so that no
// point is a partial one read as a drop in traffic.
func perSecond(slots []metrics.Slot) []control.MetricsPoint {
	points := []control.MetricsPoint{}
	for i := 0; i < len(slots); {
		second := slots[i].Start - slots[i].Start%1000
		var sum metrics.Slot
		n := int64(0)
		for ; i < len(slots) && slots[i].Start-slots[i].Start%1000 == second; i++ {
			sum.Add(&slots[i])
			n++
		}
		if n == slotsPerSecond {
			points = append(points, pointOf(second, &sum))
		}
	}
	return points
}

func pointOf(secondMs int64, s *metrics.Slot) control.MetricsPoint {
	p := control.MetricsPoint{Time: time.UnixMilli(secondMs).UTC(), Requests: float64(s.Requests)}
	if s.Requests > 0 {
		p.ErrorRate = float64(s.Target5XX+s.ELB5XX) / float64(s.Requests)
	}
	if s.Latency.Count > 0 {
		p.P99 = s.Latency.Quantile(0.99)
	}
	return p
}
