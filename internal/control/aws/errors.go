package aws

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// Reasons of conflicts only AWS has.
const (
	// ReasonApprovalExpired: the approval's token is no longer the one CodePipeline waits on.
	ReasonApprovalExpired = "approval_expired"
	// ReasonNotLatest: CodePipeline retries only the latest execution of a stage.
	ReasonNotLatest = "not_latest"
	// ReasonNotReady: the deployment does not wait for a continue (the local
	// backend refuses with the same reason).
	ReasonNotReady = control.ReasonNotReady
	// ReasonPipelineBusy: CodePipeline refuses the change while it handles another.
	ReasonPipelineBusy = "pipeline_busy"
)

// meaning is what an AWS error code says to a user of the control surface.
type meaning struct {
	code   control.Code
	reason string // for conflicts
	advice string // what to do, appended to AWS's message
}

// meanings maps AWS error codes (the shapes the services answer with) to the
// control surface's errors; codes not listed are failures of the call.
var meanings = map[string]meaning{
	// CodePipeline
	"PipelineNotFoundException":                          {control.CodeNotFound, "", "check the pipeline name (greenlight.yaml's pipeline.name, as deploy/aws creates it) and the region"},
	"PipelineExecutionNotFoundException":                 {control.CodeNotFound, "", "see `greenlight history --backend aws`"},
	"StageNotFoundException":                             {control.CodeNotFound, "", "check the stage name"},
	"ActionNotFoundException":                            {control.CodeNotFound, "", "check the action name"},
	"InvalidNextTokenException":                          {control.CodeBadRequest, "", "start from the first page"},
	"InvalidApprovalTokenException":                      {control.CodeConflict, ReasonApprovalExpired, "the approval expired or was asked again; `greenlight status` shows what waits now"},
	"ApprovalAlreadyCompletedException":                  {control.CodeConflict, control.ReasonAlreadyDecided, "someone decided it already"},
	"PipelineExecutionNotStoppableException":             {control.CodeConflict, control.ReasonFinished, "it has ended or is stopping already"},
	"DuplicatedStopRequestException":                     {control.CodeConflict, control.ReasonFinished, "a stop was asked already"},
	"StageNotRetryableException":                         {control.CodeConflict, control.ReasonNotRetryable, "only a failed or stopped stage can be retried, once its actions ended"},
	"NotLatestPipelineExecutionException":                {control.CodeConflict, ReasonNotLatest, "CodePipeline retries only the latest execution in a stage"},
	"ConflictException":                                  {control.CodeConflict, ReasonPipelineBusy, "try again in a moment"},
	"ConcurrentPipelineExecutionsLimitExceededException": {control.CodeConflict, ReasonPipelineBusy, "wait for an execution to end, or raise the limit"},
	"PipelineExecutionOutdatedException":                 {control.CodeConflict, control.ReasonSuperseded, "a newer execution replaced it"},
	"ValidationException":                                {control.CodeBadRequest, "", ""},
	"InvalidParameterValueException":                     {control.CodeBadRequest, "", ""},
	"ResourceNotFoundException":                          {control.CodeNotFound, "", ""},
	// CodeDeploy
	"DeploymentDoesNotExistException":                   {control.CodeNotFound, "", "see `greenlight deployments --backend aws`"},
	"DeploymentAlreadyCompletedException":               {control.CodeConflict, control.ReasonNotActive, "it has ended: nothing to continue, stop or roll back"},
	"DeploymentIsNotInReadyStateException":              {control.CodeConflict, ReasonNotReady, "`deploy continue` applies to a deployment waiting with STOP_DEPLOYMENT (status Ready)"},
	"DeploymentLimitExceededException":                  {control.CodeConflict, control.ReasonServiceBusy, "a deployment is already in progress in the group; wait for it, or stop it with `greenlight deploy stop`"},
	"UnsupportedActionForDeploymentTypeException":       {control.CodeBadRequest, "", ""},
	"InvalidDeploymentIdException":                      {control.CodeBadRequest, "", "a deployment id looks like d-XXXXXXXXX"},
	"InvalidDeploymentWaitTypeException":                {control.CodeConflict, ReasonNotReady, ""},
	"DeploymentGroupDoesNotExistException":              {control.CodeNotFound, "", "check greenlight.yaml's applications and the stack's region"},
	"ApplicationDoesNotExistException":                  {control.CodeNotFound, "", "check greenlight.yaml's applications and the stack's region"},
	"LifecycleEventAlreadyCompletedException":           {control.CodeConflict, control.ReasonFinished, "the hook execution has its result already, or timed out"},
	"InvalidLifecycleEventHookExecutionIdException":     {control.CodeNotFound, "", "use the LifecycleEventHookExecutionId of the event the hook received"},
	"InvalidLifecycleEventHookExecutionStatusException": {control.CodeBadRequest, "", "the status is Succeeded or Failed"},
	// CloudWatch Logs
	"ResourceNotFound": {control.CodeNotFound, "", ""},
}

// denied are the codes of a request the credentials may not make or do not sign.
var denied = map[string]bool{
	"AccessDeniedException": true, "AccessDenied": true, "UnauthorizedOperation": true, "UnrecognizedClientException": true,
	"InvalidSignatureException": true, "ExpiredTokenException": true, "ExpiredToken": true, "InvalidClientTokenId": true,
	"SignatureDoesNotMatch": true,
}

// explain turns an SDK error of op into the control surface's, in one line with
// what to do. The SDK has retried it already where AWS says to.
func explain(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *control.Error
	if errors.As(err, &ce) {
		return err
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return unreachable(op, err)
	}
	code, msg := api.ErrorCode(), api.ErrorMessage()
	if m, ok := meanings[code]; ok {
		return &control.Error{Code: m.code, Reason: m.reason, Err: fmt.Errorf("%s: %s: %s%s", op, code, msg, advise(m.advice))}
	}
	_, throttled := retry.DefaultThrottleErrorCodes[code]
	switch {
	case denied[code]:
		return fmt.Errorf("%s: %s: %s — the AWS credentials in use (AWS_PROFILE, AWS_ACCESS_KEY_ID or the instance role) are not allowed this call or have expired: refresh them or grant the permission (docs/aws.md lists what the CLI calls)", op, code, msg)
	case throttled:
		return &control.Error{Code: control.CodeUnavailable, Err: fmt.Errorf("%s: %s: AWS kept throttling after the SDK's retries: wait a little, or raise AWS_MAX_ATTEMPTS", op, code)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func advise(s string) string {
	if s == "" {
		return ""
	}
	return " — " + s
}

// unreachable explains an error that never reached AWS: no credentials, no
// region, no network.
func unreachable(op string, err error) error {
	s := err.Error()
	switch {
	case strings.Contains(s, "failed to retrieve credentials") || strings.Contains(s, "no EC2 IMDS role found") || strings.Contains(s, "get credentials"):
		return fmt.Errorf("%s: no AWS credentials: set AWS_PROFILE (and run `aws sso login` for SSO profiles) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: %w", op, err)
	case strings.Contains(s, "region"):
		return fmt.Errorf("%s: no AWS region: set AWS_REGION or the profile's region to the stack's: %w", op, err)
	}
	return &control.Error{Code: control.CodeUnavailable, Err: fmt.Errorf("%s: AWS did not answer (network, proxy or endpoint): %w", op, err)}
}
