package console

import (
	"context"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// executionView is what the execution page's regions show.
type executionView struct {
	Ex       *control.Execution
	Retried  bool
	CanStop  bool
	CSRF     string
	Stages   []stageView
	Variable []variable
}

// stageView is a stage with its actions grouped by run_order, as CodePipeline
// lays them out.
type stageView struct {
	control.Stage
	Groups    []actionGroup
	Retryable bool // failed or stopped in a finished execution, and the user may retry
}

type actionGroup struct {
	RunOrder int
	Actions  []actionView
}

// actionView is an action and where to look at it.
type actionView struct {
	control.Action
	Href string // its page: log and reports, the approval, or the deployment
	Go   string // what that page is
}

// variable is one resolved variable of an execution or an action's namespace.
type variable struct{ Name, Value string }

type executionData struct {
	Ex      *control.Execution
	Regions map[string]template.HTML
}

// executionPage shows an execution like CodePipeline's view, kept live.
func (c *Console) executionPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetExecution) {
		return
	}
	id := r.PathValue("id")
	v, regions, err := c.executionRegions(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := &page{Title: "Execution " + shortID(id), Nav: "pipelines", Data: executionData{Ex: v, Regions: htmlOf(regions)}}
	if !v.Status.Final() {
		p.Live = liveURL("/executions/"+url.PathEscape(id)+"/live", regions)
	}
	c.render(w, r, http.StatusOK, "execution", p)
}

// executionLive streams the execution page's regions until the execution ends.
func (c *Console) executionLive(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbGetExecution) {
		return
	}
	id := r.PathValue("id")
	c.streamRegions(w, r, c.opts.Poll, func(ctx context.Context, _ *eventStream) (map[string]string, bool, error) {
		v, regions, err := c.executionRegions(ctx, id)
		if err != nil {
			return nil, control.CodeOf(err) == control.CodeNotFound, err
		}
		return regions, v.Status.Final(), nil
	})
}

// executionRegions reads an execution and renders the page's live regions.
func (c *Console) executionRegions(ctx context.Context, id string) (*control.Execution, map[string]string, error) {
	v, err := c.opts.Backend.GetExecution(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	u := userOf(ctx)
	view := executionView{Ex: v, Retried: retried(v), CSRF: u.session.csrf,
		CanStop: !v.Status.Final() && may(u, access.VerbStopExecution), Variable: variablesOf(v)}
	for _, st := range v.Stages {
		view.Stages = append(view.Stages, stageViewOf(v, st, may(u, access.VerbRetryStage)))
	}
	regions := map[string]string{}
	for _, name := range []string{"summary", "controls", "stages", "variables"} {
		if regions[name], err = c.pages.fragment("execution", name, view); err != nil {
			return nil, nil, err
		}
	}
	return v, regions, nil
}

func stageViewOf(v *control.Execution, st control.Stage, mayRetry bool) stageView {
	sv := stageView{Stage: st, Retryable: mayRetry && v.Status.Final() &&
		(st.Status == control.StatusFailed || st.Status == control.StatusStopped)}
	for _, a := range st.Actions {
		if n := len(sv.Groups); n == 0 || sv.Groups[n-1].RunOrder != a.RunOrder {
			sv.Groups = append(sv.Groups, actionGroup{RunOrder: a.RunOrder})
		}
		g := &sv.Groups[len(sv.Groups)-1]
		g.Actions = append(g.Actions, actionViewOf(v.ID, st.Name, a))
	}
	return sv
}

// actionViewOf links an action to the page that shows it.
func actionViewOf(execID, stage string, a control.Action) actionView {
	av := actionView{Action: a}
	ref := url.PathEscape(execID) + "/%s/" + url.PathEscape(stage) + "/" + url.PathEscape(a.Name)
	switch {
	case a.Category == manifest.CategoryApproval:
		av.Href, av.Go = "/executions/"+fmt.Sprintf(ref, "approvals"), "Approval"
		if a.Approval != nil && a.Approval.Status == control.ApprovalNeeded {
			av.Go = "Review and approve or reject"
		}
	case strings.HasPrefix(a.ExternalID, "d-"):
		av.Href, av.Go = "/deployments/"+url.PathEscape(a.ExternalID), "Deployment"
	case a.Status != "":
		av.Href, av.Go = "/executions/"+fmt.Sprintf(ref, "actions"), "Log and reports"
	}
	return av
}

// variablesOf lists the execution's variables and each action's namespace.
func variablesOf(v *control.Execution) []variable {
	var out []variable
	for _, k := range slices.Sorted(maps.Keys(v.Variables)) {
		out = append(out, variable{Name: "variables." + k, Value: v.Variables[k]})
	}
	for _, st := range v.Stages {
		for _, a := range st.Actions {
			for _, k := range slices.Sorted(maps.Keys(a.OutputVariables)) {
				out = append(out, variable{Name: st.Name + "." + a.Name + "." + k, Value: a.OutputVariables[k]})
			}
		}
	}
	return out
}

// stopExecution stops an execution: let in-progress actions finish, or
// abandon them.
func (c *Console) stopExecution(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_ = readForm(r)
	abandon := r.PostForm.Get("mode") == "abandon"
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	done := "Stop requested: in-progress actions finish, nothing new starts."
	if abandon {
		done = "Stop and abandon requested: in-progress actions are cancelled."
	}
	c.act(w, r, action{verb: access.VerbStopExecution, target: id, note: reason, refused: "Stop refused",
		back: "/executions/" + url.PathEscape(id), done: done,
		do: func(ctx context.Context) error {
			return c.opts.Backend.StopExecution(ctx, control.StopRequest{ExecutionID: id, Abandon: abandon, Reason: reason})
		}})
}

// retryStage reruns a failed stage: its failed actions, or all of them.
func (c *Console) retryStage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	_ = readForm(r)
	stage, all := r.PostForm.Get("stage"), r.PostForm.Get("mode") == "all"
	c.act(w, r, action{verb: access.VerbRetryStage, target: id + "/" + stage, refused: "Retry refused",
		back: "/executions/" + url.PathEscape(id), done: "Stage " + stage + " is running again.",
		do: func(ctx context.Context) error {
			return c.opts.Backend.RetryStage(ctx, control.RetryRequest{ExecutionID: id, Stage: stage, All: all})
		}})
}
