// Package awshook owns the CodeDeploy lifecycle-hook Lambda function of the AWS
// stack (deploy/aws): it runs the hook's command from greenlight.yaml — the same
// smoke test the hook runs on one machine — against the replacement, and reports
// Succeeded or Failed with PutLifecycleEventHookExecutionStatus. It always
// reports, and before the function's own deadline: a failing command, one that
// outlives its time, an AWS error while preparing it and a panic all report
// Failed, so CodeDeploy never waits an hour for a function that died.
package awshook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codedeploy"
	cdtypes "github.com/aws/aws-sdk-go-v2/service/codedeploy/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// Event is what CodeDeploy sends a hook function.
type Event struct {
	DeploymentID                  string `json:"DeploymentId"`
	LifecycleEventHookExecutionID string `json:"LifecycleEventHookExecutionId"`
}

// CodeDeploy is the part of the CodeDeploy API a hook uses.
type CodeDeploy interface {
	GetDeployment(context.Context, *codedeploy.GetDeploymentInput, ...func(*codedeploy.Options)) (*codedeploy.GetDeploymentOutput, error)
	PutLifecycleEventHookExecutionStatus(context.Context, *codedeploy.PutLifecycleEventHookExecutionStatusInput, ...func(*codedeploy.Options)) (*codedeploy.PutLifecycleEventHookExecutionStatusOutput, error)
}

// ECS is the part of the ECS API a hook uses.
type ECS interface {
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// Config is one hook function's settings (see FromEnvironment).
type Config struct {
	Command []string      // argv, as greenlight.yaml's hook command
	Timeout time.Duration // the hook's own timeout
	// Reserve is kept free before the function's deadline to report the result.
	Reserve time.Duration
	// LifecycleEvent is the appspec event the function is named for. AfterInstall
	// reaches the replacement's task directly, as on one machine: CodeDeploy routes
	// the test listener to it only at AllowTestTraffic.
	LifecycleEvent string
	Cluster        string    // the deployment group's ECS cluster
	Service        string    // and service
	Dir            string    // directory the command runs in: the package's root
	Env            []string  // the command's environment, GREENLIGHT_* added to it
	Output         io.Writer // the command's output (the function's log)
}

// Handler handles one hook invocation at a time.
type Handler struct {
	Config
	CodeDeploy CodeDeploy
	ECS        ECS
	Logger     *slog.Logger
}

// ErrBadEvent means an event without its ids cannot be reported on.
var ErrBadEvent = errors.New("hook event without DeploymentId or LifecycleEventHookExecutionId")

// Handle runs the hook for ev and reports its result. It returns an error only
// when the result could not be reported (or ev cannot be reported on).
func (h *Handler) Handle(ctx context.Context, ev Event) error {
	if ev.DeploymentID == "" || ev.LifecycleEventHookExecutionID == "" {
		return ErrBadEvent
	}
	log := h.Logger.With("deployment", ev.DeploymentID, "hook_execution", ev.LifecycleEventHookExecutionID)
	runCtx, cancel := h.runContext(ctx)
	defer cancel()
	start := time.Now()
	err := h.check(runCtx, ev)
	status := cdtypes.LifecycleEventStatusSucceeded
	if err != nil {
		status = cdtypes.LifecycleEventStatusFailed
		log.Error("hook failed", "err", err, "took", time.Since(start).Round(time.Millisecond))
	} else {
		log.Info("hook succeeded", "took", time.Since(start).Round(time.Millisecond))
	}
	return h.report(ctx, ev, status)
}

// runContext bounds the check by the hook's timeout and by the function's
// deadline less the reserve, whichever comes first.
func (h *Handler) runContext(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(h.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Add(-h.Reserve).Before(deadline) {
		deadline = d.Add(-h.Reserve)
	}
	return context.WithDeadline(ctx, deadline)
}

// check prepares the command's environment and runs it; a panic becomes an error.
func (h *Handler) check(ctx context.Context, ev Event) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("hook panicked: %v", p)
		}
	}()
	rev, err := h.revision(ctx, ev.DeploymentID)
	if err != nil {
		return err
	}
	env := append(rev.env(), hookEnv(ev, h.LifecycleEvent)...)
	if h.LifecycleEvent == LifecycleAfterInstall {
		url, err := h.replacementURL(ctx, rev)
		if err != nil {
			return err
		}
		env = append(env, "GREENLIGHT_TEST_URL="+url)
	}
	return h.run(ctx, env)
}

// report tells CodeDeploy the result, until the function's own deadline even if
// the invocation's context is already done.
func (h *Handler) report(ctx context.Context, ev Event, status cdtypes.LifecycleEventStatus) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(max(h.Reserve, 10*time.Second))
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	_, err := h.CodeDeploy.PutLifecycleEventHookExecutionStatus(ctx, &codedeploy.PutLifecycleEventHookExecutionStatusInput{
		DeploymentId:                  aws.String(ev.DeploymentID),
		LifecycleEventHookExecutionId: aws.String(ev.LifecycleEventHookExecutionID),
		Status:                        status,
	})
	if err != nil {
		return fmt.Errorf("report hook %s to CodeDeploy: %w", status, err)
	}
	return nil
}

// LifecycleAfterInstall is the event after which the replacement runs but the
// test listener does not reach it yet.
const LifecycleAfterInstall = "AfterInstall"

func hookEnv(ev Event, lifecycleEvent string) []string {
	return []string{
		"GREENLIGHT_DEPLOYMENT_ID=" + ev.DeploymentID,
		"GREENLIGHT_LIFECYCLE_EVENT_HOOK_EXECUTION_ID=" + ev.LifecycleEventHookExecutionID,
		"GREENLIGHT_LIFECYCLE_EVENT=" + lifecycleEvent,
	}
}
