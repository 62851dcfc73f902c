package awshook

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
)

// invokeFunction runs the function's real binary under the fake runtime with the
// stack's environment, the SDK pointed at the fake AWS by its standard endpoint
// variables, and returns what it answered the runtime.
func invokeFunction(t *testing.T, f *fakeAWS, deadline time.Time, command []string, env ...string) string {
	t.Helper()
	ev, _ := json.Marshal(event)
	cmdJSON, _ := json.Marshal(command)
	env = append(append([]string{EnvCommand + "=" + string(cmdJSON), EnvTimeout + "=30s"}, f.Env("CODEDEPLOY", "ECS")...), env...)
	return awsfake.Invoke(t, hookFunction, ev, deadline, env...)
}

// TestFunctionUnderTheLambdaRuntime runs deploy/aws/lambda/hook as Lambda runs it:
// configuration from the environment, the AWS SDK's default chain, the deadline
// from the runtime API.
func TestFunctionUnderTheLambdaRuntime(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:abc1234")
	answer := invokeFunction(t, f, time.Now().Add(30*time.Second), smokeCommand(), "GREENLIGHT_TEST_URL="+startReplacement(t))
	if answer != "response: null" {
		t.Fatalf("the function answered %q", answer)
	}
	if got := reported(t, f); got != "Succeeded" {
		t.Fatalf("reported %s", got)
	}
}

// TestFunctionReportsFailedBeforeTheRuntimesDeadline: a hanging command under a
// deadline of 13 s runs until 10 s (the reserve) before it, then the function
// reports Failed to CodeDeploy and answers the runtime, before the deadline.
func TestFunctionReportsFailedBeforeTheRuntimesDeadline(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	start := time.Now()
	deadline := start.Add(13 * time.Second)
	answer := invokeFunction(t, f, deadline, []string{"sleep", "60"})
	if answer != "response: null" || !time.Now().Before(deadline) {
		t.Fatalf("the function answered %q at %s past the deadline", answer, time.Since(deadline))
	}
	if took := time.Since(start); took < 2500*time.Millisecond {
		t.Errorf("answered after %s: the command did not get its 3 s", took)
	}
	if got := reported(t, f); got != "Failed" {
		t.Fatalf("reported %s", got)
	}
}
