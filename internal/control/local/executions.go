package local

import (
	"cmp"
	"context"
	"strconv"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// defaultLimit is how many executions or deployments a page has by default.
const defaultLimit = 20

// ListPipelines returns the pipeline of the definition.
func (b *Backend) ListPipelines(ctx context.Context) ([]control.Pipeline, error) {
	eng, err := b.pipelineEngine()
	if err != nil {
		return nil, err
	}
	p := b.opts.Definition.Pipeline
	out := control.Pipeline{Name: p.Name, ExecutionMode: cmp.Or(p.ExecutionMode, manifest.ExecutionModeSuperseded)}
	for _, st := range p.Stages {
		out.Stages = append(out.Stages, st.Name)
	}
	latest, err := eng.Executions(ctx, 0, 1)
	if err != nil {
		return nil, wrap(err)
	}
	if len(latest) > 0 {
		out.Latest = &latest[0]
	}
	return []control.Pipeline{out}, nil
}

// ListExecutions returns a page of the pipeline's executions, newest first.
func (b *Backend) ListExecutions(ctx context.Context, q control.ExecutionQuery) (control.ExecutionPage, error) {
	eng, err := b.pipelineEngine()
	if err != nil {
		return control.ExecutionPage{}, err
	}
	if q.Pipeline != "" && q.Pipeline != b.opts.Definition.Pipeline.Name {
		return control.ExecutionPage{}, control.Errorf(control.CodeNotFound, "no pipeline %q here (this one is %s)", q.Pipeline, b.opts.Definition.Pipeline.Name)
	}
	var before int64
	if q.PageToken != "" {
		if before, err = strconv.ParseInt(q.PageToken, 10, 64); err != nil || before <= 0 {
			return control.ExecutionPage{}, control.Errorf(control.CodeBadRequest, "page token %q is not one this backend returned", q.PageToken)
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	list, err := eng.Executions(ctx, before, limit)
	if err != nil {
		return control.ExecutionPage{}, wrap(err)
	}
	page := control.ExecutionPage{Executions: list}
	if len(list) == limit && list[len(list)-1].Seq > 1 {
		page.NextPageToken = strconv.FormatInt(list[len(list)-1].Seq, 10)
	}
	return page, nil
}

// GetExecution returns one execution as recorded now.
func (b *Backend) GetExecution(ctx context.Context, id string) (*control.Execution, error) {
	eng, err := b.pipelineEngine()
	if err != nil {
		return nil, err
	}
	v, err := eng.Execution(ctx, id)
	return v, wrap(err)
}

// StartExecution starts an execution and drives it in this process until Close.
func (b *Backend) StartExecution(ctx context.Context, req control.StartRequest) (string, error) {
	eng, err := b.pipelineEngine()
	if err != nil {
		return "", err
	}
	if req.Pipeline != "" && req.Pipeline != b.opts.Definition.Pipeline.Name {
		return "", control.Errorf(control.CodeNotFound, "no pipeline %q here (this one is %s)", req.Pipeline, b.opts.Definition.Pipeline.Name)
	}
	if err := b.opts.Site.EnsureController(ctx); err != nil {
		return "", wrap(err)
	}
	trigger := req.Trigger
	if trigger == "" {
		trigger = control.TriggerCLI
	}
	id, err := eng.Start(ctx, pipeline.StartRequest{Trigger: trigger, TriggerDetail: req.Who, Revision: req.Revision, Ref: req.Ref, Variables: req.Variables})
	if err != nil {
		return "", wrap(err)
	}
	b.drive(eng, id)
	return id, nil
}

// StopExecution records the stop; the process driving the execution acts on it.
func (b *Backend) StopExecution(ctx context.Context, req control.StopRequest) error {
	eng, err := b.pipelineEngine()
	if err != nil {
		return err
	}
	return wrap(eng.Stop(ctx, req.ExecutionID, req.Abandon, req.Reason))
}

// RetryStage reruns a stage and drives the execution on in this process.
func (b *Backend) RetryStage(ctx context.Context, req control.RetryRequest) error {
	eng, err := b.pipelineEngine()
	if err != nil {
		return err
	}
	mode := pipeline.RetryFailedActions
	if req.All {
		mode = pipeline.RetryAllActions
	}
	if err := eng.RetryStage(ctx, req.ExecutionID, req.Stage, mode); err != nil {
		return wrap(err)
	}
	if err := b.opts.Site.EnsureController(ctx); err != nil {
		return wrap(err)
	}
	b.drive(eng, req.ExecutionID)
	return nil
}

// ResumeExecutions takes over the executions whose process is gone and drives
// them here.
func (b *Backend) ResumeExecutions(ctx context.Context) ([]string, error) {
	eng, err := b.pipelineEngine()
	if err != nil {
		return nil, err
	}
	if err := b.opts.Site.EnsureController(ctx); err != nil {
		return nil, wrap(err)
	}
	ids, err := eng.Recover(b.runCtx)
	if err != nil {
		return nil, wrap(err)
	}
	for _, id := range ids {
		b.drive(eng, id) // joins the run Recover started, so that Close waits for it
	}
	return ids, nil
}

// Decide approves or rejects; the process driving the execution notices within a
// poll.
func (b *Backend) Decide(ctx context.Context, d control.Decision) error {
	eng, err := b.pipelineEngine()
	if err != nil {
		return err
	}
	decide := eng.Reject
	if d.Approve {
		decide = eng.Approve
	}
	return wrap(decide(ctx, d.ExecutionID, d.Stage, d.Action, d.Who, d.Comment))
}
