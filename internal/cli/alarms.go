package cli

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

func (a *app) alarmsCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "alarms",
		Short: "Show each alarm's state, reason and recent datapoints",
		Long: `Evaluate every alarm of every deployment group now: on the production target
group, and on the replacement of a deployment in progress (the traffic a rollback
decision is made on). Also lists the latest alarm state changes recorded.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.alarms(cmd.Context())
		},
	}
}

// alarmView is one alarm evaluated on one target group.
type alarmView struct {
	Alarm       string            `json:"alarm"`
	Group       string            `json:"deployment_group"`
	Service     string            `json:"service"`
	TargetGroup string            `json:"target_group"`
	Role        string            `json:"role"` // production, replacement
	State       alarm.State       `json:"state"`
	Reason      string            `json:"reason"`
	Datapoints  []alarm.Datapoint `json:"datapoints"`
}

func (a *app) alarms(ctx context.Context) error {
	s, err := a.open(ctx, true)
	if err != nil {
		return err
	}
	defer s.close()
	p := newPrinter(a.stdout, a.json)
	client, err := agent.Dial(s.stateDir)
	var views []alarmView
	if err == nil {
		views, err = s.evaluateAlarms(ctx, client)
	}
	if err != nil && !a.json {
		p.line("(agent not reachable: %v; showing recorded state changes only)", err)
	}
	for _, v := range views {
		if a.json {
			p.object(v)
			continue
		}
		p.line("%s %-24s %-17s %s %s/%s (%s)", mark(string(v.State)), v.Alarm, v.State, v.Group, v.Service, v.TargetGroup, v.Role)
		p.line("    %s", v.Reason)
		if len(v.Datapoints) > 0 {
			p.line("    datapoints: %s", formatDatapoints(v.Datapoints))
		}
	}
	evs, err := s.db.Events(ctx, event.Query{Kinds: []event.Kind{event.KindAlarm}})
	if err != nil {
		return err
	}
	if len(evs) > 10 {
		evs = evs[len(evs)-10:]
	}
	if !a.json && len(evs) > 0 {
		p.line("recent state changes:")
	}
	for _, e := range evs {
		p.event(e)
	}
	return nil
}

// evaluateAlarms judges every group's alarms on production, and on the replacement
// of an active deployment.
func (s *session) evaluateAlarms(ctx context.Context, client *agent.Client) ([]alarmView, error) {
	active, err := s.deployments().ActiveDeployments(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var views []alarmView
	for appName, app := range s.def.Applications {
		for gName, g := range app.DeploymentGroups {
			st, err := client.Service(ctx, g.Service)
			if err != nil {
				return nil, err
			}
			if st == nil {
				continue
			}
			series, err := client.Series(ctx, g.Service, now.Add(-10*time.Minute).UnixMilli())
			if err != nil {
				return nil, err
			}
			targets := map[string]string{productionGroup(st.Spec.ProductionWeights): "production"}
			for _, d := range active {
				if d.Application == appName && d.Group == gName && d.ReplacementTargetGroup != "" {
					targets[d.ReplacementTargetGroup] = "replacement " + d.ID
				}
			}
			for tg, role := range targets {
				for _, name := range g.Alarms.Names {
					def := s.def.Alarms[name]
					ev := alarm.Evaluate(def, slotsFor(series, tg), now, alarm.StateInsufficientData)
					views = append(views, alarmView{Alarm: name, Group: appName + "/" + gName, Service: g.Service, TargetGroup: tg, Role: role,
						State: ev.State, Reason: ev.Reason, Datapoints: ev.Datapoints})
				}
			}
		}
	}
	return views, nil
}

func productionGroup(weights map[string]int) string {
	best, bw := "", -1
	for tg, w := range weights {
		if w > bw || (w == bw && tg < best) {
			best, bw = tg, w
		}
	}
	return best
}

func slotsFor(series []metrics.Series, tg string) []metrics.Slot {
	for _, s := range series {
		if s.TargetGroup == tg {
			return s.Slots
		}
	}
	return nil
}

func formatDatapoints(dps []alarm.Datapoint) string {
	var parts []string
	for _, dp := range dps {
		switch {
		case dp.Missing:
			parts = append(parts, "–")
		case math.IsNaN(dp.Value):
			parts = append(parts, "NaN")
		default:
			s := fmt.Sprintf("%.3g", dp.Value)
			if dp.Breaching {
				s += "!"
			}
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}
