package aws

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// driver is what an execution's owner reads on AWS: CodePipeline drives it.
const driver = "AWS CodePipeline"

// approvalTimeout is CodePipeline's: a manual approval fails after 7 days.
const approvalTimeout = 7 * 24 * time.Hour

// GetExecution reads an execution (GetPipelineExecution) and its actions
// (ListActionExecutions) into the read model; a read of the last half Refresh
// is reused.
func (b *Backend) GetExecution(ctx context.Context, id string) (*control.Execution, error) {
	now := b.opts.Now()
	if v, ok := b.views.get(id, now, b.refresh()/2); ok {
		return v, nil
	}
	v, err := b.readExecution(ctx, id)
	if err != nil {
		return nil, err
	}
	b.views.put(id, now, v)
	return v, nil
}

func (b *Backend) readExecution(ctx context.Context, id string) (*control.Execution, error) {
	stages, mode, err := b.declaration(ctx)
	if err != nil {
		return nil, err
	}
	out, err := b.cp.GetPipelineExecution(ctx, &codepipeline.GetPipelineExecutionInput{PipelineName: &b.opts.Pipeline, PipelineExecutionId: &id})
	if err != nil {
		return nil, explain("read execution "+id, err)
	}
	actions, err := b.actionExecutions(ctx, id)
	if err != nil {
		return nil, err
	}
	return executionView(b.opts.Pipeline, mode, stages, out.PipelineExecution, actions), nil
}

// actionExecutions returns every attempt of every action of an execution,
// oldest first.
func (b *Backend) actionExecutions(ctx context.Context, id string) ([]types.ActionExecutionDetail, error) {
	in := &codepipeline.ListActionExecutionsInput{PipelineName: &b.opts.Pipeline, Filter: &types.ActionExecutionFilter{PipelineExecutionId: &id}, MaxResults: sdkaws.Int32(maxPageSize)}
	var all []types.ActionExecutionDetail
	p := codepipeline.NewListActionExecutionsPaginator(b.cp, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, explain("list actions of "+id, err)
		}
		all = append(all, page.ActionExecutionDetails...)
	}
	slices.SortStableFunc(all, func(x, y types.ActionExecutionDetail) int {
		return sdkaws.ToTime(x.StartTime).Compare(sdkaws.ToTime(y.StartTime))
	})
	return all, nil
}

// summary is one line of the history.
func (b *Backend) summary(s types.PipelineExecutionSummary) control.ExecutionSummary {
	out := control.ExecutionSummary{
		ID: sdkaws.ToString(s.PipelineExecutionId), Pipeline: b.opts.Pipeline, Status: executionStatus(s.Status),
		StatusSummary: sdkaws.ToString(s.StatusSummary), Mode: string(s.ExecutionMode),
		StartedAt: sdkaws.ToTime(s.StartTime), UpdatedAt: sdkaws.ToTime(s.LastUpdateTime),
	}
	out.Trigger, out.TriggerDetail = trigger(s.Trigger)
	if len(s.SourceRevisions) > 0 {
		r := s.SourceRevisions[0]
		out.Source = revision(sdkaws.ToString(r.RevisionId), sdkaws.ToString(r.RevisionSummary))
	}
	if out.Status.Final() {
		out.EndedAt = out.UpdatedAt
	} else {
		out.OwnerHost = driver
	}
	return out
}

// executionStatus maps CodePipeline's statuses to the control surface's
// (Cancelled, of QUEUED and PARALLEL executions, is a stop).
func executionStatus(s types.PipelineExecutionStatus) control.ExecutionStatus {
	if s == types.PipelineExecutionStatusCancelled {
		return control.StatusStopped
	}
	return control.ExecutionStatus(s)
}

func trigger(t *types.ExecutionTrigger) (control.Trigger, string) {
	if t == nil {
		return "", ""
	}
	return control.Trigger(t.TriggerType), sdkaws.ToString(t.TriggerDetail)
}

// revision reads a source revision; a CodeStar connection's summary is JSON
// holding the commit message.
func revision(id, summary string) control.Revision {
	r := control.Revision{CommitID: id, Message: summary}
	var s struct {
		CommitMessage string `json:"CommitMessage"`
	}
	if json.Unmarshal([]byte(summary), &s) == nil && s.CommitMessage != "" {
		r.Message = s.CommitMessage
	}
	return r
}

// executionView assembles the read model of one execution.
func executionView(pipelineName, mode string, stages []stageDecl, ex *types.PipelineExecution, actions []types.ActionExecutionDetail) *control.Execution {
	v := &control.Execution{ExecutionSummary: control.ExecutionSummary{Pipeline: pipelineName, Mode: mode}, Variables: map[string]string{}}
	if ex != nil {
		v.ID, v.Status, v.StatusSummary = sdkaws.ToString(ex.PipelineExecutionId), executionStatus(ex.Status), sdkaws.ToString(ex.StatusSummary)
		v.Mode = string(ex.ExecutionMode)
		v.Trigger, v.TriggerDetail = trigger(ex.Trigger)
		if len(ex.ArtifactRevisions) > 0 {
			r := ex.ArtifactRevisions[0]
			v.Source = revision(sdkaws.ToString(r.RevisionId), sdkaws.ToString(r.RevisionSummary))
		}
		for _, rv := range ex.Variables {
			v.Variables[sdkaws.ToString(rv.Name)] = sdkaws.ToString(rv.ResolvedValue)
		}
	}
	for _, st := range stages {
		v.Stages = append(v.Stages, stageView(st, actions, v.Status))
	}
	v.Source.Branch = sourceBranch(actions)
	times(v, actions)
	return v
}

// times sets when the execution started, changed and ended, from its actions
// (GetPipelineExecution has no times).
func times(v *control.Execution, actions []types.ActionExecutionDetail) {
	for _, a := range actions {
		start, last := sdkaws.ToTime(a.StartTime), sdkaws.ToTime(a.LastUpdateTime)
		if v.StartedAt.IsZero() || start.Before(v.StartedAt) {
			v.StartedAt = start
		}
		if last.After(v.UpdatedAt) {
			v.UpdatedAt = last
		}
	}
	for _, st := range v.Stages {
		if st.Status != "" && st.Status != control.StatusSucceeded && !v.Status.Final() {
			v.Stage = st.Name
			break
		}
		if st.Status != "" {
			v.Stage = st.Name
		}
	}
	if v.Status.Final() {
		v.EndedAt = v.UpdatedAt
	} else {
		v.OwnerHost = driver
	}
}

func sourceBranch(actions []types.ActionExecutionDetail) string {
	for _, a := range actions {
		if a.Input != nil && a.Input.ActionTypeId != nil && a.Input.ActionTypeId.Category == types.ActionCategorySource {
			return a.Input.Configuration["BranchName"]
		}
	}
	return ""
}

// stageView is one stage: its actions' latest attempts, and a status derived
// from them.
func stageView(st stageDecl, actions []types.ActionExecutionDetail, exec control.ExecutionStatus) control.Stage {
	sv := control.Stage{Name: st.Name}
	for _, decl := range st.Actions {
		av := actionView(decl, attemptsOf(actions, st.Name, decl.Name))
		sv.Actions = append(sv.Actions, av)
		if !av.StartedAt.IsZero() && (sv.StartedAt.IsZero() || av.StartedAt.Before(sv.StartedAt)) {
			sv.StartedAt = av.StartedAt
		}
		if av.EndedAt.After(sv.EndedAt) {
			sv.EndedAt = av.EndedAt
		}
		sv.Attempt = max(sv.Attempt, av.Attempt)
	}
	sv.Status = stageStatus(sv.Actions, exec)
	if sv.Status == "" || sv.Status == control.StatusInProgress {
		sv.EndedAt = time.Time{}
	}
	return sv
}

// stageStatus: in progress while an action is, failed when one failed, stopped
// when one was abandoned, succeeded when all did; a stage the execution left
// unfinished ends as the execution did.
func stageStatus(actions []control.Action, exec control.ExecutionStatus) control.ExecutionStatus {
	ran, succeeded := 0, 0
	var worst control.ExecutionStatus
	for _, a := range actions {
		switch a.Status {
		case "":
			continue
		case control.StatusInProgress:
			return control.StatusInProgress
		case control.StatusFailed:
			worst = control.StatusFailed
		case control.StatusAbandoned:
			worst = cmpStatus(worst, control.StatusStopped)
		case control.StatusSucceeded:
			succeeded++
		}
		ran++
	}
	switch {
	case ran == 0:
		return ""
	case worst != "":
		return worst
	case succeeded == len(actions):
		return control.StatusSucceeded
	case exec.Final():
		return exec
	}
	return control.StatusInProgress
}

func cmpStatus(have, s control.ExecutionStatus) control.ExecutionStatus {
	if have == "" {
		return s
	}
	return have
}

func attemptsOf(actions []types.ActionExecutionDetail, stage, action string) []types.ActionExecutionDetail {
	var out []types.ActionExecutionDetail
	for _, a := range actions {
		if sdkaws.ToString(a.StageName) == stage && sdkaws.ToString(a.ActionName) == action {
			out = append(out, a)
		}
	}
	return out
}

// actionView is an action's latest attempt with the earlier ones.
func actionView(decl actionDecl, attempts []types.ActionExecutionDetail) control.Action {
	av := control.Action{Name: decl.Name, Category: decl.Category, Provider: decl.Provider, RunOrder: decl.RunOrder}
	for i, a := range attempts {
		if i > 0 {
			av.Attempts = append(av.Attempts, earlierAttempt(av))
		}
		fillAction(&av, a)
		av.Attempt = i + 1
	}
	if decl.Category == string(types.ActionCategoryApproval) && len(attempts) > 0 {
		av.Approval = approvalView(attempts[len(attempts)-1])
	}
	return av
}

func earlierAttempt(av control.Action) pipeline.AttemptView {
	return pipeline.AttemptView{Attempt: av.Attempt, Status: av.Status, ErrorMessage: av.ErrorMessage, StartedAt: av.StartedAt, EndedAt: av.EndedAt}
}

func fillAction(av *control.Action, a types.ActionExecutionDetail) {
	av.Status = control.ExecutionStatus(a.Status)
	av.StartedAt = sdkaws.ToTime(a.StartTime)
	av.Summary, av.ErrorMessage, av.ExternalID, av.ExternalURL = "", "", "", ""
	av.EndedAt, av.OutputVariables, av.Data = time.Time{}, nil, nil
	if av.Status != control.StatusInProgress {
		av.EndedAt = sdkaws.ToTime(a.LastUpdateTime)
	}
	if a.Output == nil {
		return
	}
	av.OutputVariables = a.Output.OutputVariables
	if r := a.Output.ExecutionResult; r != nil {
		av.Summary, av.ExternalID, av.ExternalURL = sdkaws.ToString(r.ExternalExecutionSummary), sdkaws.ToString(r.ExternalExecutionId), sdkaws.ToString(r.ExternalExecutionUrl)
		if r.ErrorDetails != nil {
			av.ErrorMessage = sdkaws.ToString(r.ErrorDetails.Message)
		}
	}
	if av.Provider == manifest.ProviderCodeDeployToECS && av.ExternalID != "" {
		av.Data = map[string]any{"deployment_id": av.ExternalID}
	}
}

// approvalView is a manual approval's request and decision: CodePipeline
// records the decider's IAM identity and the summary given.
func approvalView(a types.ActionExecutionDetail) *control.Approval {
	ap := &control.Approval{RequestedAt: sdkaws.ToTime(a.StartTime)}
	ap.ExpiresAt = ap.RequestedAt.Add(approvalTimeout)
	if a.Input != nil {
		ap.CustomData, ap.ExternalEntityLink = a.Input.Configuration["CustomData"], a.Input.Configuration["ExternalEntityLink"]
	}
	switch a.Status {
	case types.ActionExecutionStatusInProgress:
		ap.Status = control.ApprovalNeeded
		return ap
	case types.ActionExecutionStatusSucceeded:
		ap.Status = pipeline.ApprovalApproved
	case types.ActionExecutionStatusAbandoned:
		ap.Status = pipeline.ApprovalAbandoned
	default:
		ap.Status = pipeline.ApprovalRejected
		if r := a.Output; r != nil && r.ExecutionResult != nil && r.ExecutionResult.ErrorDetails != nil && strings.Contains(strings.ToLower(sdkaws.ToString(r.ExecutionResult.ErrorDetails.Message)), "expired") {
			ap.Status = pipeline.ApprovalFailed
		}
	}
	ap.DecidedBy, ap.DecidedAt = sdkaws.ToString(a.UpdatedBy), sdkaws.ToTime(a.LastUpdateTime)
	if a.Output != nil && a.Output.ExecutionResult != nil {
		ap.Summary = sdkaws.ToString(a.Output.ExecutionResult.ExternalExecutionSummary)
	}
	return ap
}
