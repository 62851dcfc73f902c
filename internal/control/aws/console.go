package aws

import (
	"context"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// DeploymentMetrics is not read on AWS: the load balancer's per-target-group
// metrics are CloudWatch's, one-minute datapoints the console's live charts do not
// suit.
func (b *Backend) DeploymentMetrics(context.Context, control.MetricsQuery) ([]control.TargetGroupMetrics, error) {
	return nil, control.Errorf(control.CodeNotSupported,
		"on AWS a deployment's traffic is in CloudWatch (ApplicationELB metrics of its target groups): see `greenlight alarms --backend aws`")
}

// ChangesSinceProduction is not read on AWS: the source repository is GitHub's,
// behind the CodeStar connection, not a clone this backend can read.
func (b *Backend) ChangesSinceProduction(context.Context, string) (control.ChangeSet, error) {
	return control.ChangeSet{}, control.Errorf(control.CodeNotSupported,
		"on AWS the commits come from GitHub through the CodeStar connection: compare the revisions on GitHub")
}
