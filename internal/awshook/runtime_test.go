package awshook

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeRuntime is Lambda's runtime API on loopback: it hands the function one
// invocation with a deadline, and records what the function answers.
type fakeRuntime struct {
	event    []byte
	deadline time.Time
	answered chan string // "response: <body>" or "error: <body>"
	served   chan struct{}
}

func (rt *fakeRuntime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		select {
		case <-rt.served: // one invocation only: later polls wait for the test's end
			<-r.Context().Done()
			return
		default:
			close(rt.served)
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "req-1")
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(rt.deadline.UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:LambdaFunctionToValidateBeforeTraffic")
		_, _ = w.Write(rt.event)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/req-1/"):
		body, _ := io.ReadAll(r.Body)
		rt.answered <- strings.TrimPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/req-1/") + ": " + string(body)
		w.WriteHeader(http.StatusAccepted)
	default:
		rt.answered <- "unexpected " + r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusNotFound)
	}
}

// invokeFunction runs the function's real binary under the fake runtime with the
// stack's environment, the SDK pointed at the fake AWS by its standard endpoint
// variables, and returns what it answered the runtime.
func invokeFunction(t *testing.T, f *fakeAWS, deadline time.Time, command []string, env ...string) string {
	t.Helper()
	ev, _ := json.Marshal(event)
	rt := &fakeRuntime{event: ev, deadline: deadline, answered: make(chan string, 4), served: make(chan struct{})}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	cmdJSON, _ := json.Marshal(command)
	cmd := exec.Command(hookFunction)
	cmd.Env = append(os.Environ(),
		"AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"),
		"LAMBDA_TASK_ROOT="+t.TempDir(),
		EnvCommand+"="+string(cmdJSON), EnvTimeout+"=30s",
	)
	cmd.Env = append(cmd.Env, f.Env("CODEDEPLOY", "ECS")...)
	cmd.Env = append(cmd.Env, env...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case answer := <-rt.answered:
		return answer
	case <-time.After(time.Until(deadline) + 5*time.Second):
		t.Fatalf("the function never answered the runtime; its log:\n%s", stderr.String())
		return ""
	}
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
