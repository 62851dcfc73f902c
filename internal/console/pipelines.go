package console

import (
	"context"
	"fmt"
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// recentExecutions is how many executions the pipelines page shows of each.
const recentExecutions = 5

// pipelineRow is one pipeline with its latest executions.
type pipelineRow struct {
	control.Pipeline
	Executions []executionRow
}

// executionRow is one line of an execution list.
type executionRow struct {
	control.ExecutionSummary
	Retried bool
}

type pipelinesData struct {
	Pipelines []pipelineRow
	CanStart  bool
}

// pipelinesPage lists every pipeline with its latest executions.
func (c *Console) pipelinesPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbListPipelines) || !c.allow(w, r, access.VerbListExecutions) {
		return
	}
	ps, err := c.opts.Backend.ListPipelines(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := pipelinesData{CanStart: may(userOf(r.Context()), access.VerbStartExecution)}
	for _, p := range ps {
		page, err := c.opts.Backend.ListExecutions(r.Context(), control.ExecutionQuery{Pipeline: p.Name, Limit: recentExecutions})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		rows, err := c.withRetries(r.Context(), page.Executions)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		d.Pipelines = append(d.Pipelines, pipelineRow{Pipeline: p, Executions: rows})
	}
	c.render(w, r, http.StatusOK, "pipelines", &page{Title: "Pipelines", Nav: "pipelines", Data: d})
}

// withRetries reads each execution to tell the ones a stage of which was
// retried.
func (c *Console) withRetries(ctx context.Context, list []control.ExecutionSummary) ([]executionRow, error) {
	rows := make([]executionRow, 0, len(list))
	for _, s := range list {
		v, err := c.opts.Backend.GetExecution(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		rows = append(rows, executionRow{ExecutionSummary: s, Retried: retried(v)})
	}
	return rows, nil
}

// retried reports whether a stage of the execution ran more than once.
func retried(v *control.Execution) bool {
	for _, st := range v.Stages {
		if st.Attempt > 1 {
			return true
		}
	}
	return false
}

type historyData struct {
	Pipeline   string
	Executions []executionRow
	Next       string // the next page's token ("" for none)
	CanStart   bool
}

// historyPage lists a pipeline's executions, a page at a time.
func (c *Console) historyPage(w http.ResponseWriter, r *http.Request) {
	if !c.allow(w, r, access.VerbListExecutions) {
		return
	}
	name := r.PathValue("pipeline")
	q := control.ExecutionQuery{Pipeline: name, Limit: 50, PageToken: r.URL.Query().Get("page")}
	list, err := c.opts.Backend.ListExecutions(r.Context(), q)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	d := historyData{Pipeline: name, Next: list.NextPageToken, CanStart: may(userOf(r.Context()), access.VerbStartExecution)}
	for _, s := range list.Executions {
		d.Executions = append(d.Executions, executionRow{ExecutionSummary: s})
	}
	c.render(w, r, http.StatusOK, "history", &page{Title: "History of " + name, Nav: "pipelines", Data: d})
}

// startExecution starts an execution of a pipeline on its source branch's head
// (CodePipeline's "Release change").
func (c *Console) startExecution(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("pipeline")
	var id string
	c.act(w, r, action{verb: access.VerbStartExecution, target: name, refused: "Release refused", back: "/",
		do: func(ctx context.Context) (err error) {
			id, err = c.opts.Backend.StartExecution(ctx, control.StartRequest{Pipeline: name, Trigger: control.TriggerStart, Who: userOf(ctx).Name})
			return err
		},
		then: func() (string, string) {
			return "/executions/" + id, fmt.Sprintf("Execution %s of %s started.", id, name)
		}})
}
