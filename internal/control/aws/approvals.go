package aws

import (
	"context"
	"fmt"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// Decide approves or rejects with PutApprovalResult, with the token
// GetPipelineState gives the waiting approval. AWS records the caller's IAM
// identity as who decided; d.Who is required as everywhere.
func (b *Backend) Decide(ctx context.Context, d control.Decision) error {
	if d.Who == "" {
		return control.Errorf(control.CodeBadRequest, "a decision needs who decides")
	}
	v, err := b.GetExecution(ctx, d.ExecutionID)
	if err != nil {
		return err
	}
	stage, action, err := pendingApproval(v, d.Stage, d.Action)
	if err != nil {
		return err
	}
	token, err := b.approvalToken(ctx, d.ExecutionID, stage, action)
	if err != nil {
		return err
	}
	status := types.ApprovalStatusRejected
	if d.Approve {
		status = types.ApprovalStatusApproved
	}
	_, err = b.cp.PutApprovalResult(ctx, &codepipeline.PutApprovalResultInput{
		PipelineName: &b.opts.Pipeline, StageName: &stage, ActionName: &action, Token: &token,
		Result: &types.ApprovalResult{Status: status, Summary: sdkaws.String(clip(d.Comment, 512))},
	})
	b.views.forget(d.ExecutionID)
	return explain(fmt.Sprintf("decide %s/%s of %s", stage, action, d.ExecutionID), err)
}

// pendingApproval names the approval a decision is for: the one named, or the
// only one waiting; refused with the reason nothing waits there.
func pendingApproval(v *control.Execution, stage, action string) (string, string, error) {
	if v.Status.Final() {
		reason := control.ReasonFinished
		if v.Status == control.StatusSuperseded {
			reason = control.ReasonSuperseded
		}
		return "", "", control.Refused(reason, fmt.Errorf("execution %s is %s: nothing waits for a decision", v.ID, v.Status))
	}
	if stage != "" || action != "" {
		return namedApproval(v, stage, action)
	}
	var waiting []string
	for _, st := range v.Stages {
		for _, a := range st.Actions {
			if a.Approval != nil && a.Approval.Status == control.ApprovalNeeded {
				waiting = append(waiting, st.Name+"/"+a.Name)
			}
		}
	}
	switch len(waiting) {
	case 0:
		return "", "", control.Refused(control.ReasonNotWaiting, fmt.Errorf("execution %s waits for no approval now (`greenlight status %s`)", v.ID, v.ID))
	case 1:
		s, a, _ := strings.Cut(waiting[0], "/")
		return s, a, nil
	}
	return "", "", control.Errorf(control.CodeBadRequest, "several approvals wait, name one with --stage and --action: %s", strings.Join(waiting, ", "))
}

func namedApproval(v *control.Execution, stage, action string) (string, string, error) {
	for _, st := range v.Stages {
		for _, a := range st.Actions {
			if (stage != "" && st.Name != stage) || (action != "" && a.Name != action) {
				continue
			}
			switch {
			case a.Approval == nil:
			case a.Approval.Status == control.ApprovalNeeded:
				return st.Name, a.Name, nil
			default:
				return "", "", control.Refused(control.ReasonAlreadyDecided, fmt.Errorf("the approval %s/%s of %s is %s already", st.Name, a.Name, v.ID, a.Approval.Status))
			}
			return "", "", control.Refused(control.ReasonNotWaiting, fmt.Errorf("%s/%s of %s waits for no approval", st.Name, a.Name, v.ID))
		}
	}
	return "", "", control.Errorf(control.CodeNotFound, "execution %s has no action %s/%s", v.ID, stage, action)
}

// approvalToken is the token of the approval the stage's latest execution waits
// on: CodePipeline shows it only there.
func (b *Backend) approvalToken(ctx context.Context, id, stage, action string) (string, error) {
	out, err := b.cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: &b.opts.Pipeline})
	if err != nil {
		return "", explain("read the state of "+b.opts.Pipeline, err)
	}
	for _, st := range out.StageStates {
		if sdkaws.ToString(st.StageName) != stage {
			continue
		}
		if st.LatestExecution == nil || sdkaws.ToString(st.LatestExecution.PipelineExecutionId) != id {
			return "", control.Refused(control.ReasonNotWaiting, fmt.Errorf("stage %s runs another execution now: %s waits for no approval there", stage, id))
		}
		for _, as := range st.ActionStates {
			if sdkaws.ToString(as.ActionName) == action && as.LatestExecution != nil && sdkaws.ToString(as.LatestExecution.Token) != "" {
				return sdkaws.ToString(as.LatestExecution.Token), nil
			}
		}
	}
	return "", control.Refused(control.ReasonNotWaiting, fmt.Errorf("CodePipeline shows no approval waiting at %s/%s of %s", stage, action, id))
}
