package aws

import (
	"cmp"
	"context"
	"regexp"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// Page sizes: the control surface's default, and CodePipeline's maximum.
const (
	defaultLimit = 20
	maxPageSize  = 100
)

// ListPipelines returns the pipeline with its latest execution.
func (b *Backend) ListPipelines(ctx context.Context) ([]control.Pipeline, error) {
	stages, mode, err := b.declaration(ctx)
	if err != nil {
		return nil, err
	}
	p := control.Pipeline{Name: b.opts.Pipeline, ExecutionMode: mode}
	for _, st := range stages {
		p.Stages = append(p.Stages, st.Name)
	}
	out, err := b.cp.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: &b.opts.Pipeline, MaxResults: sdkaws.Int32(1)})
	if err != nil {
		return nil, explain("list executions of "+b.opts.Pipeline, err)
	}
	if len(out.PipelineExecutionSummaries) > 0 {
		latest := b.summary(out.PipelineExecutionSummaries[0])
		p.Latest = &latest
	}
	return []control.Pipeline{p}, nil
}

// declaration returns the pipeline's stages and execution mode (GetPipeline,
// read once).
func (b *Backend) declaration(ctx context.Context) ([]stageDecl, string, error) {
	c := &b.structure
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stages != nil {
		return c.stages, c.mode, nil
	}
	out, err := b.cp.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: &b.opts.Pipeline})
	if err != nil {
		return nil, "", explain("read pipeline "+b.opts.Pipeline, err)
	}
	c.stages, c.mode = declared(out.Pipeline)
	return c.stages, c.mode, nil
}

func declared(p *types.PipelineDeclaration) ([]stageDecl, string) {
	stages := []stageDecl{}
	if p == nil {
		return stages, ""
	}
	for _, st := range p.Stages {
		sd := stageDecl{Name: sdkaws.ToString(st.Name)}
		for _, a := range st.Actions {
			ad := actionDecl{Name: sdkaws.ToString(a.Name), RunOrder: int(cmp.Or(sdkaws.ToInt32(a.RunOrder), 1))}
			if a.ActionTypeId != nil {
				ad.Category, ad.Provider = string(a.ActionTypeId.Category), sdkaws.ToString(a.ActionTypeId.Provider)
			}
			sd.Actions = append(sd.Actions, ad)
		}
		stages = append(stages, sd)
	}
	return stages, cmp.Or(string(p.ExecutionMode), string(types.ExecutionModeSuperseded))
}

// ListExecutions returns a page of executions, newest first; page tokens are
// CodePipeline's.
func (b *Backend) ListExecutions(ctx context.Context, q control.ExecutionQuery) (control.ExecutionPage, error) {
	if err := b.samePipeline(q.Pipeline); err != nil {
		return control.ExecutionPage{}, err
	}
	limit := min(cmp.Or(q.Limit, defaultLimit), maxPageSize)
	in := &codepipeline.ListPipelineExecutionsInput{PipelineName: &b.opts.Pipeline, MaxResults: sdkaws.Int32(int32(limit))}
	if q.PageToken != "" {
		in.NextToken = &q.PageToken
	}
	out, err := b.cp.ListPipelineExecutions(ctx, in)
	if err != nil {
		return control.ExecutionPage{}, explain("list executions of "+b.opts.Pipeline, err)
	}
	page := control.ExecutionPage{Executions: []control.ExecutionSummary{}, NextPageToken: sdkaws.ToString(out.NextToken)}
	for _, s := range out.PipelineExecutionSummaries {
		page.Executions = append(page.Executions, b.summary(s))
	}
	return page, nil
}

func (b *Backend) samePipeline(name string) error {
	if name != "" && name != b.opts.Pipeline {
		return control.Errorf(control.CodeNotFound, "no pipeline %q here (this one is %s)", name, b.opts.Pipeline)
	}
	return nil
}

// StartExecution starts an execution with StartPipelineExecution. AWS records
// its own trigger (StartPipelineExecution, by the caller's IAM identity).
func (b *Backend) StartExecution(ctx context.Context, req control.StartRequest) (string, error) {
	if err := b.samePipeline(req.Pipeline); err != nil {
		return "", err
	}
	in := &codepipeline.StartPipelineExecutionInput{Name: &b.opts.Pipeline}
	for _, name := range sortedKeys(req.Variables) {
		in.Variables = append(in.Variables, types.PipelineVariable{Name: sdkaws.String(name), Value: sdkaws.String(req.Variables[name])})
	}
	if req.Revision != "" {
		overrides, err := b.sourceRevisions(ctx, req.Revision)
		if err != nil {
			return "", err
		}
		in.SourceRevisions = overrides
	}
	out, err := b.cp.StartPipelineExecution(ctx, in)
	if err != nil {
		return "", explain("start "+b.opts.Pipeline, err)
	}
	return sdkaws.ToString(out.PipelineExecutionId), nil
}

var commitID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// sourceRevisions runs every source action of the pipeline on one commit.
func (b *Backend) sourceRevisions(ctx context.Context, revision string) ([]types.SourceRevisionOverride, error) {
	if !commitID.MatchString(revision) {
		return nil, control.Errorf(control.CodeBadRequest, "--revision %q: on AWS a revision is a full 40-character commit id (CodePipeline runs its source branch, or one commit of it)", revision)
	}
	stages, _, err := b.declaration(ctx)
	if err != nil {
		return nil, err
	}
	var out []types.SourceRevisionOverride
	for _, st := range stages {
		for _, a := range st.Actions {
			if a.Category == string(types.ActionCategorySource) {
				out = append(out, types.SourceRevisionOverride{ActionName: sdkaws.String(a.Name), RevisionType: types.SourceRevisionTypeCommitId, RevisionValue: sdkaws.String(revision)})
			}
		}
	}
	return out, nil
}

// StopExecution stops an execution with StopPipelineExecution (abandon: at once).
func (b *Backend) StopExecution(ctx context.Context, req control.StopRequest) error {
	in := &codepipeline.StopPipelineExecutionInput{PipelineName: &b.opts.Pipeline, PipelineExecutionId: &req.ExecutionID, Abandon: req.Abandon}
	if req.Reason != "" {
		in.Reason = sdkaws.String(clip(req.Reason, 200))
	}
	_, err := b.cp.StopPipelineExecution(ctx, in)
	b.views.forget(req.ExecutionID)
	if isCode(err, "DuplicatedStopRequestException") {
		return nil // asking again is allowed
	}
	return explain("stop "+req.ExecutionID, err)
}

// RetryStage reruns a failed stage with RetryStageExecution; CodePipeline
// drives the execution on.
func (b *Backend) RetryStage(ctx context.Context, req control.RetryRequest) error {
	mode := types.StageRetryModeFailedActions
	if req.All {
		mode = types.StageRetryModeAllActions
	}
	_, err := b.cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{
		PipelineName: &b.opts.Pipeline, PipelineExecutionId: &req.ExecutionID, StageName: &req.Stage, RetryMode: mode,
	})
	b.views.forget(req.ExecutionID)
	return explain("retry "+req.Stage+" of "+req.ExecutionID, err)
}
