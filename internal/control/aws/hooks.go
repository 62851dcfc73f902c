package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// PutHookResult reports a hook execution's result to CodeDeploy
// (PutLifecycleEventHookExecutionStatus), as the hook's Lambda would itself.
func (b *Backend) PutHookResult(ctx context.Context, r control.HookResult) error {
	if err := control.CheckHookResult(r); err != nil {
		return err
	}
	_, err := b.cd.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId: &r.DeploymentID, LifecycleEventHookExecutionId: &r.HookExecutionID,
		Status: cdtypes.LifecycleEventStatus(r.Status),
	})
	return explain(fmt.Sprintf("report hook execution %s of deployment %s", r.HookExecutionID, r.DeploymentID), err)
}
