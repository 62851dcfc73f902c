package console

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
)

// deploymentPoll is the slowest a deployment page updates: its charts have a
// point a second.
const deploymentPoll = time.Second

type deploymentsData struct {
	Deployments []*control.Deployment
}

// deploymentsPage lists the newest deployments.
func (c *Console) deploymentsPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbListDeployments) {
		return
	}
	ds, err := c.opts.Backend.ListDeployments(r.Context(), control.DeploymentQuery{Limit: 50})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "deployments", &page{Title: "Deployments", Nav: "deployments", Data: deploymentsData{Deployments: ds}})
}

// deploymentView is what the deployment page's regions show.
type deploymentView struct {
	D          *control.Deployment
	RolledBack *control.Deployment // the rollback that replaced it, if any
	Groups     []control.TargetGroupMetrics
	MetricsErr string
	Charts     []chart
	Shares     []share // production traffic split, left to right
	Traffic    []event.Event
	Alarms     []control.AlarmStatus
	AlarmsErr  string
	CanCommand bool
	CSRF       string
}

type deploymentData struct {
	D       *control.Deployment
	Regions map[string]template.HTML
}

// deploymentPage shows a deployment's lifecycle, traffic, targets, charts and
// alarms, kept live.
func (c *Console) deploymentPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetDeployment) || !c.allow(w, r, access.VerbReadAlarms) || !c.allow(w, r, access.VerbReadEvents) {
		return
	}
	id := r.PathValue("id")
	view, regions, err := c.deploymentRegions(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &page{Title: "Deployment " + id, Nav: "deployments", Data: deploymentData{D: view.D, Regions: htmlOf(regions)}}
	if !settled(view) {
		p.Live = liveURL("/deployments/"+url.PathEscape(id)+"/live", regions)
	}
	c.render(w, r, http.StatusOK, "deployment", p)
}

// settled reports whether nothing on a deployment's page changes any more
// but the traffic charts: it and its rollback are done.
func settled(v deploymentView) bool {
	return v.D.Status.Done() && (v.RolledBack == nil || v.RolledBack.Status.Done())
}

// deploymentLive streams the deployment page's regions; they keep changing
// while there is traffic to chart, so the stream ends only when the deployment
// and its rollback are done.
func (c *Console) deploymentLive(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetDeployment) || !c.allow(w, r, access.VerbReadAlarms) || !c.allow(w, r, access.VerbReadEvents) {
		return
	}
	id := r.PathValue("id")
	c.streamRegions(w, r, max(c.opts.Poll, deploymentPoll), func(ctx context.Context, _ *eventStream) (map[string]string, bool, error) {
		view, regions, err := c.deploymentRegions(ctx, id)
		if err != nil {
			return nil, control.CodeOf(err) == control.CodeNotFound, err
		}
		return regions, settled(view), nil
	})
}

// deploymentRegions reads a deployment with its traffic, targets and alarms,
// and renders the page's regions.
func (c *Console) deploymentRegions(ctx context.Context, id string) (deploymentView, map[string]string, error) {
	view, err := c.readDeployment(ctx, id)
	if err != nil {
		return view, nil, err
	}
	regions := map[string]string{}
	for _, name := range []string{"deployment-summary", "commands", "timeline", "traffic", "targets", "charts", "alarms"} {
		if regions[name], err = c.pages.fragment("deployment", name, view); err != nil {
			return view, nil, err
		}
	}
	return view, regions, nil
}

// readDeployment gathers what the page shows. The router's metrics and the
// alarms may be unavailable (no agent runs): the page says so and shows the
// rest.
func (c *Console) readDeployment(ctx context.Context, id string) (deploymentView, error) {
	b := c.opts.Backend
	d, err := b.GetDeployment(ctx, id)
	if err != nil {
		return deploymentView{}, err
	}
	u := userOf(ctx)
	v := deploymentView{D: d, CSRF: u.session.csrf, CanCommand: may(u, access.VerbRollback) && d.Active()}
	ids := []string{d.ID}
	if d.RolledBackBy != "" {
		if v.RolledBack, err = b.GetDeployment(ctx, d.RolledBackBy); err != nil {
			return deploymentView{}, err
		}
		ids = append(ids, d.RolledBackBy)
	}
	if v.Traffic, err = b.Events(ctx, event.Query{DeploymentIDs: ids, Kinds: []event.Kind{event.KindTraffic}}); err != nil {
		return deploymentView{}, err
	}
	now := time.Now()
	if v.Groups, err = b.DeploymentMetrics(ctx, control.MetricsQuery{DeploymentID: id, Since: now.Add(-chartWindow - 2*time.Second)}); err != nil {
		v.MetricsErr = err.Error()
	}
	v.Charts = charts(v.Groups, chartSpan(d.Created, now), now.Truncate(time.Second))
	v.Shares = shares(v.Groups)
	v.Alarms, v.AlarmsErr = c.groupAlarms(ctx, d)
	return v, nil
}

// groupAlarms are the alarms of the deployment's group, as evaluated now.
func (c *Console) groupAlarms(ctx context.Context, d *control.Deployment) ([]control.AlarmStatus, string) {
	all, err := c.opts.Backend.Alarms(ctx)
	if err != nil {
		return nil, err.Error()
	}
	var out []control.AlarmStatus
	for _, a := range all {
		if a.Group == d.Application+"/"+d.Group {
			out = append(out, a)
		}
	}
	return out, ""
}

// commandDeployment continues, stops or rolls back a deployment.
func (c *Console) commandDeployment(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_ = readForm(r)
	cmd := control.CommandName(r.PostForm.Get("command"))
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	verbs := map[control.CommandName]access.Verb{control.CommandContinue: access.VerbContinueDeploy,
		control.CommandStop: access.VerbStopDeployment, control.CommandRollback: access.VerbRollback}
	verb, ok := verbs[cmd]
	if !ok {
		verb = access.VerbRollback // the most demanding of the three, for the role check and the audit log
	}
	c.act(w, r, action{verb: verb, target: id, note: reason, refused: "Command refused",
		back: "/deployments/" + url.PathEscape(id), done: commandDone(cmd, userOf(r.Context()).Name),
		do: func(ctx context.Context) error {
			_, err := c.opts.Backend.CommandDeployment(ctx, control.DeploymentCommand{DeploymentID: id, Command: cmd, Reason: reason, Who: userOf(ctx).Name})
			return err
		}})
}

func commandDone(cmd control.CommandName, who string) string {
	switch cmd {
	case control.CommandContinue:
		return "Continue requested by " + who + ": traffic shifts to the replacement now."
	case control.CommandStop:
		return "Stop requested by " + who + ": the deployment stops at the next safe point (and rolls back when configured)."
	}
	return "Rollback requested by " + who + ": production goes back to the original; the rollback shows below."
}

// share is one target group's part of the production traffic bar.
type share struct {
	X, Width int
	Class    string
}

func shares(groups []control.TargetGroupMetrics) []share {
	var out []share
	x := 0
	for _, g := range groups {
		if g.ProductionWeight > 0 {
			out = append(out, share{X: x, Width: g.ProductionWeight, Class: roleClass(g.Role)})
			x += g.ProductionWeight
		}
	}
	return out
}
