package serve

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// PipelineOf tells which pipeline an execution belongs to (NotFound when the id
// is unknown).
type PipelineOf func(ctx context.Context, executionID string) (string, error)

// Multi is one control.Backend over several pipelines, each with a backend of its
// own sharing one state directory: verbs on an execution go to the backend of its
// pipeline, lists are merged, and what the state directory holds once
// (deployments, events, hook results) is answered by the first. control/local
// holds one definition; combining backends keeps it that way.
type Multi struct {
	names      []string // pipeline names in the order the definitions were given
	byName     map[string]control.Backend
	apps       map[string]string // application name -> pipeline name
	pipelineOf PipelineOf
}

var _ control.Backend = (*Multi)(nil)

// Member is one pipeline of a Multi.
type Member struct {
	Pipeline     string
	Applications []string
	Backend      control.Backend
}

// NewMulti combines the members' backends; names are unique (Load checks it).
func NewMulti(members []Member, pipelineOf PipelineOf) *Multi {
	m := &Multi{byName: map[string]control.Backend{}, apps: map[string]string{}, pipelineOf: pipelineOf}
	for _, mb := range members {
		m.names = append(m.names, mb.Pipeline)
		m.byName[mb.Pipeline] = mb.Backend
		for _, app := range mb.Applications {
			m.apps[app] = mb.Pipeline
		}
	}
	return m
}

func (m *Multi) first() control.Backend { return m.byName[m.names[0]] }

// pipeline returns the backend of a named pipeline, or of the only one when name
// is "".
func (m *Multi) pipeline(name string) (control.Backend, error) {
	if name == "" {
		if len(m.names) == 1 {
			return m.first(), nil
		}
		return nil, control.Errorf(control.CodeBadRequest, "this server runs several pipelines, name one: %s", strings.Join(m.names, ", "))
	}
	b, ok := m.byName[name]
	if !ok {
		return nil, control.Errorf(control.CodeNotFound, "no pipeline %q here (pipelines: %s)", name, strings.Join(m.names, ", "))
	}
	return b, nil
}

// execution returns the backend of the pipeline an execution belongs to.
func (m *Multi) execution(ctx context.Context, id string) (control.Backend, error) {
	name, err := m.pipelineOf(ctx, id)
	if err != nil {
		return nil, err
	}
	b, ok := m.byName[name]
	if !ok {
		return nil, control.Errorf(control.CodeNotFound, "execution %s belongs to pipeline %q, which this server does not run", id, name)
	}
	return b, nil
}

// ListPipelines lists every pipeline, in the order the definitions were given.
func (m *Multi) ListPipelines(ctx context.Context) ([]control.Pipeline, error) {
	var out []control.Pipeline
	for _, name := range m.names {
		ps, err := m.byName[name].ListPipelines(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

// ListExecutions returns a page of one pipeline's executions, or of every
// pipeline's merged by Seq (global to the state file, so one page token serves
// all pipelines).
func (m *Multi) ListExecutions(ctx context.Context, q control.ExecutionQuery) (control.ExecutionPage, error) {
	if q.Pipeline != "" || len(m.names) == 1 {
		b, err := m.pipeline(q.Pipeline)
		if err != nil {
			return control.ExecutionPage{}, err
		}
		return b.ListExecutions(ctx, q)
	}
	var all []control.ExecutionSummary
	for _, name := range m.names {
		page, err := m.byName[name].ListExecutions(ctx, q)
		if err != nil {
			return control.ExecutionPage{}, err
		}
		all = append(all, page.Executions...)
	}
	slices.SortFunc(all, func(a, b control.ExecutionSummary) int { return cmp.Compare(b.Seq, a.Seq) })
	limit := cmp.Or(q.Limit, 20)
	page := control.ExecutionPage{Executions: all[:min(limit, len(all))]}
	if len(all) > limit {
		page.NextPageToken = strconv.FormatInt(page.Executions[limit-1].Seq, 10)
	}
	return page, nil
}

// GetExecution asks the execution's pipeline.
func (m *Multi) GetExecution(ctx context.Context, id string) (*control.Execution, error) {
	b, err := m.execution(ctx, id)
	if err != nil {
		return nil, err
	}
	return b.GetExecution(ctx, id)
}

// StartExecution starts one on the named pipeline (or the only one).
func (m *Multi) StartExecution(ctx context.Context, req control.StartRequest) (string, error) {
	b, err := m.pipeline(req.Pipeline)
	if err != nil {
		return "", err
	}
	return b.StartExecution(ctx, req)
}

// StopExecution asks the execution's pipeline.
func (m *Multi) StopExecution(ctx context.Context, req control.StopRequest) error {
	b, err := m.execution(ctx, req.ExecutionID)
	if err != nil {
		return err
	}
	return b.StopExecution(ctx, req)
}

// RetryStage asks the execution's pipeline.
func (m *Multi) RetryStage(ctx context.Context, req control.RetryRequest) error {
	b, err := m.execution(ctx, req.ExecutionID)
	if err != nil {
		return err
	}
	return b.RetryStage(ctx, req)
}

// ResumeExecutions resumes on every pipeline; an error on one does not keep the
// others from resuming.
func (m *Multi) ResumeExecutions(ctx context.Context) ([]string, error) {
	var ids []string
	var errs []error
	for _, name := range m.names {
		got, err := m.byName[name].ResumeExecutions(ctx)
		ids = append(ids, got...)
		errs = append(errs, err)
	}
	return ids, errors.Join(errs...)
}

// Decide asks the execution's pipeline.
func (m *Multi) Decide(ctx context.Context, d control.Decision) error {
	b, err := m.execution(ctx, d.ExecutionID)
	if err != nil {
		return err
	}
	return b.Decide(ctx, d)
}

// ReadLog asks the execution's pipeline.
func (m *Multi) ReadLog(ctx context.Context, req control.LogRequest) (control.LogChunk, error) {
	b, err := m.execution(ctx, req.ExecutionID)
	if err != nil {
		return control.LogChunk{}, err
	}
	return b.ReadLog(ctx, req)
}

// Reports asks the execution's pipeline.
func (m *Multi) Reports(ctx context.Context, ref control.ActionRef) ([]report.Report, error) {
	b, err := m.execution(ctx, ref.ExecutionID)
	if err != nil {
		return nil, err
	}
	return b.Reports(ctx, ref)
}

// ChangesSinceProduction asks the execution's pipeline.
func (m *Multi) ChangesSinceProduction(ctx context.Context, executionID string) (control.ChangeSet, error) {
	b, err := m.execution(ctx, executionID)
	if err != nil {
		return control.ChangeSet{}, err
	}
	return b.ChangesSinceProduction(ctx, executionID)
}

// ListDeployments reads the shared state.
func (m *Multi) ListDeployments(ctx context.Context, q control.DeploymentQuery) ([]*control.Deployment, error) {
	return m.first().ListDeployments(ctx, q)
}

// GetDeployment reads the shared state.
func (m *Multi) GetDeployment(ctx context.Context, id string) (*control.Deployment, error) {
	return m.first().GetDeployment(ctx, id)
}

// CreateDeployment goes to the pipeline whose definition has the application.
func (m *Multi) CreateDeployment(ctx context.Context, req control.DeploymentRequest) (*control.Deployment, error) {
	name := ""
	if req.Application != "" {
		var ok bool
		if name, ok = m.apps[req.Application]; !ok {
			return nil, control.Errorf(control.CodeNotFound, "no definition served here has application %q", req.Application)
		}
	}
	b, err := m.pipeline(name)
	if err != nil {
		return nil, err
	}
	return b.CreateDeployment(ctx, req)
}

// CommandDeployment writes to the shared state.
func (m *Multi) CommandDeployment(ctx context.Context, c control.DeploymentCommand) (*control.Deployment, error) {
	return m.first().CommandDeployment(ctx, c)
}

// PutHookResult writes to the shared state.
func (m *Multi) PutHookResult(ctx context.Context, r control.HookResult) error {
	return m.first().PutHookResult(ctx, r)
}

// Alarms evaluates every definition's alarms.
func (m *Multi) Alarms(ctx context.Context) ([]control.AlarmStatus, error) {
	var out []control.AlarmStatus
	for _, name := range m.names {
		got, err := m.byName[name].Alarms(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// DeploymentMetrics reads the shared agent.
func (m *Multi) DeploymentMetrics(ctx context.Context, q control.MetricsQuery) ([]control.TargetGroupMetrics, error) {
	return m.first().DeploymentMetrics(ctx, q)
}

// Events reads the shared event log.
func (m *Multi) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	return m.first().Events(ctx, q)
}

// Close closes every backend: each releases the executions it drives.
func (m *Multi) Close() error {
	var errs []error
	for _, name := range m.names {
		errs = append(errs, m.byName[name].Close())
	}
	return errors.Join(errs...)
}
