package aws_test

import (
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control"
	awsbackend "github.com/greenlight-ci/greenlight/internal/control/aws"
	"github.com/greenlight-ci/greenlight/internal/control/controltest"
)

// newBackend is the AWS backend of pipeline "contract" with groups, its SDK
// clients pointed at srv.
func newBackend(srv *awsfake.Server, groups ...awsbackend.Group) *awsbackend.Backend {
	return awsbackend.New(awsbackend.Options{Config: srv.Config(), Pipeline: pipelineName, Groups: groups, Refresh: time.Millisecond})
}

// TestAWSBackendContract runs the control surface's contract against the AWS
// backend, CodePipeline and CodeBuild played by a fake that runs the suite's
// pipeline. AWS records the caller's IAM identity and StartPipelineExecution.
func TestAWSBackendContract(t *testing.T) {
	controltest.Run(t, controltest.Harness{
		New: func(t *testing.T) control.Backend {
			srv := awsfake.New(t)
			newFakePipeline(t, srv)
			srv.Fail(opGetDeployment, &awsfake.Error{Status: 400, Type: "DeploymentDoesNotExistException", Message: "The deployment d-NOSUCHONE could not be found."})
			srv.Fail(opPutHookStatus, &awsfake.Error{Status: 400, Type: "DeploymentDoesNotExistException", Message: "The deployment d-NOSUCHONE could not be found."})
			return newBackend(srv)
		},
		Identity: principal,
		Trigger:  "StartPipelineExecution",
	})
}
