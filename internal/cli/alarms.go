package cli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
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

func (a *app) alarms(ctx context.Context) error {
	return a.withBackend(ctx, true, func(b control.Backend) error {
		p := newPrinter(a.stdout, a.json)
		views, err := b.Alarms(ctx)
		switch {
		case errors.Is(err, control.ErrUnavailable):
			if !a.json {
				p.line("(agent not reachable: %v; showing recorded state changes only)", err)
			}
		case err != nil:
			return err
		case len(views) == 0:
			if err := a.noAlarms(ctx, b, p); err != nil {
				return err
			}
		}
		for _, v := range views {
			printAlarm(p, a.json, v)
		}
		evs, err := b.Events(ctx, event.Query{Kinds: []event.Kind{event.KindAlarm}})
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
	})
}

// noAlarms says in one line why there is no alarm to show (--json: an
// empty list, {"alarms":[]}): alarms are evaluated on a deployed service's
// target groups, so nothing deployed means nothing to evaluate; else no
// deployment group of the deployed services names alarms. It asks the backend
// only, so that every backend says the same.
func (a *app) noAlarms(ctx context.Context, b control.Backend, p *printer) error {
	if a.json {
		p.object(struct {
			Alarms []control.AlarmStatus `json:"alarms"`
		}{Alarms: []control.AlarmStatus{}})
		return nil
	}
	ds, err := b.ListDeployments(ctx, control.DeploymentQuery{Limit: 100})
	if err != nil {
		return err
	}
	var services []string
	for _, d := range ds {
		if s := d.Config.Service.Name; s != "" && !slices.Contains(services, s) {
			services = append(services, s)
		}
	}
	if len(services) == 0 {
		p.line("no alarms: nothing deployed yet (alarms are evaluated on a deployed service's target groups)")
		return nil
	}
	slices.Sort(services)
	p.line("no alarms: no deployment group of service %s names alarms (alarms: in greenlight.yaml)", strings.Join(services, ", "))
	return nil
}

func printAlarm(p *printer, asJSON bool, v control.AlarmStatus) {
	if asJSON {
		p.object(v)
		return
	}
	p.line("%s %-24s %-17s %s %s/%s (%s)", mark(string(v.State)), v.Alarm, v.State, v.Group, v.Service, v.TargetGroup, v.Role)
	p.line("    %s", v.Reason)
	if len(v.Datapoints) > 0 {
		p.line("    datapoints: %s", formatDatapoints(v.Datapoints))
	}
}

func formatDatapoints(dps []control.Datapoint) string {
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
