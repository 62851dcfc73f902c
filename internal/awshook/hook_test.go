package awshook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
)

// ordersService is the example service, built as its Build stage builds it, at
// version abc1234: both the replacement the hooks check and the smoke test they
// run. hookFunction is the function's own main (deploy/aws/lambda/hook).
var ordersService, hookFunction string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m,
		gobuild.Program{
			Pkg: ".", Name: "orders-service", Path: &ordersService,
			Options: gobuild.Options{Dir: "../../examples/orders-service", Version: "abc1234", Static: true, Trimpath: true},
		},
		gobuild.Program{Pkg: "../../deploy/aws/lambda/hook", Name: "bootstrap", Path: &hookFunction},
	))
}

// smokeCommand is greenlight.yaml's AfterInstall hook command, with the program
// where the hook package puts it.
func smokeCommand() []string {
	return []string{ordersService, "smoke", "-url-env", "GREENLIGHT_TEST_URL", "-expect-version", "self", "-rounds", "1"}
}

// startReplacement runs the real service on a loopback port: the stand-in for the
// test listener routing to the replacement.
func startReplacement(t *testing.T, env ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(ordersService)
	cmd.Env = append(os.Environ(), append(env, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port))...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, url)
	return url
}

func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}

func newHandler(t *testing.T, f *fakeAWS, command []string, env ...string) (*Handler, *awsfake.Buffer) {
	out := &awsfake.Buffer{}
	return &Handler{
		Config: Config{
			Command: command, Timeout: 30 * time.Second, Reserve: time.Second,
			Dir: t.TempDir(), Env: append(os.Environ(), env...), Output: out,
		},
		CodeDeploy: f.cd, ECS: f.ec,
		Logger: slog.New(slog.NewTextHandler(out, nil)),
	}, out
}

var event = Event{DeploymentID: "d-ABCDEFGH1", LifecycleEventHookExecutionID: "hook-1"}

// reported returns the one status the handler reported, checking the request's shape.
func reported(t *testing.T, f *fakeAWS) string {
	t.Helper()
	calls := f.Calls(targetPutStatus)
	if len(calls) != 1 {
		t.Fatalf("PutLifecycleEventHookExecutionStatus called %d times, want once", len(calls))
	}
	body := calls[0].Input
	if body["deploymentId"] != event.DeploymentID || body["lifecycleEventHookExecutionId"] != event.LifecycleEventHookExecutionID || len(body) != 3 {
		t.Errorf("PutLifecycleEventHookExecutionStatus body = %v", body)
	}
	status, _ := body["status"].(string)
	return status
}

func TestSucceedsWhenTheReplacementPassesTheSmokeTest(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:abc1234")
	h, out := newHandler(t, f, smokeCommand(), "GREENLIGHT_TEST_URL="+startReplacement(t))
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Succeeded" {
		t.Fatalf("reported %s, want Succeeded; output:\n%s", got, out)
	}
	if !strings.Contains(out.String(), "version abc1234") || !strings.Contains(out.String(), "smoke: PASS") {
		t.Errorf("the smoke test's output is missing:\n%s", out)
	}
	gd := f.Calls(targetGetDeployment)
	td := f.Calls(targetDescribeTD)
	if len(gd) != 1 || gd[0].Input["deploymentId"] != event.DeploymentID {
		t.Errorf("GetDeployment calls = %+v", gd)
	}
	if len(td) != 1 || td[0].Input["taskDefinition"] != "arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7" {
		t.Errorf("DescribeTaskDefinition calls = %+v", td)
	}
}

func TestFailsWhenTheReplacementFailsTheSmokeTest(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:abc1234")
	h, out := newHandler(t, f, smokeCommand(), "GREENLIGHT_TEST_URL="+startReplacement(t, "FAIL_RATE=1"))
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" {
		t.Fatalf("reported %s, want Failed; output:\n%s", got, out)
	}
	if !strings.Contains(out.String(), "status 500") {
		t.Errorf("output does not say why:\n%s", out)
	}
}

// TestFailsWhenTheListenerServesAnotherBuild: the image of the deployment, not the
// package's own build, is the version the smoke test demands.
func TestFailsWhenTheListenerServesAnotherBuild(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:fff0000")
	h, out := newHandler(t, f, smokeCommand(), "GREENLIGHT_TEST_URL="+startReplacement(t))
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" || !strings.Contains(out.String(), `serves version "abc1234", expected "fff0000"`) {
		t.Fatalf("reported %s; output:\n%s", got, out)
	}
}

// TestTimeoutReportsFailedBeforeTheFunctionsDeadline: a command that hangs is
// stopped at the function's deadline less the reserve, and Failed is reported
// before the deadline.
func TestTimeoutReportsFailedBeforeTheFunctionsDeadline(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	h, out := newHandler(t, f, []string{"sh", "-c", "sleep 60 & sleep 60"})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	start := time.Now()
	if err := h.Handle(ctx, event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" {
		t.Fatalf("reported %s, want Failed", got)
	}
	at := f.Calls(targetPutStatus)[0].At
	if !at.Before(deadline) {
		t.Errorf("reported %s after the function's deadline", at.Sub(deadline))
	}
	if took := at.Sub(start); took < 1500*time.Millisecond {
		t.Errorf("reported after %s, before the command's share of the time ran out", took)
	}
	if !strings.Contains(out.String(), "stopped at the hook's deadline") {
		t.Errorf("output does not say the command timed out:\n%s", out)
	}
}

// TestHookTimeoutBeforeTheFunctionsDeadline: the hook's own timeout from
// greenlight.yaml applies when it is shorter.
func TestHookTimeoutBeforeTheFunctionsDeadline(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	h, _ := newHandler(t, f, []string{"sleep", "60"})
	h.Timeout = 300 * time.Millisecond
	start := time.Now()
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got, took := reported(t, f), time.Since(start); got != "Failed" || took > 10*time.Second {
		t.Fatalf("reported %s after %s, want Failed soon after 300ms", got, took)
	}
}

// panickingECS is the SDK client with one operation that panics, as a bug in the
// handler's own code would.
type panickingECS struct{ *ecs.Client }

func (panickingECS) DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error) {
	panic("nil map write")
}

func TestPanicReportsFailed(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	h, out := newHandler(t, f, smokeCommand())
	h.ECS = panickingECS{f.ec}
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" || !strings.Contains(out.String(), "hook panicked: nil map write") {
		t.Fatalf("reported %s; output:\n%s", got, out)
	}
}

func TestAWSErrorReportsFailed(t *testing.T) {
	f := newFakeAWS(t)
	f.Fail(targetGetDeployment, &awsfake.Error{Status: 400, Type: "AccessDeniedException", Message: "not authorized to perform codedeploy:GetDeployment"})
	h, out := newHandler(t, f, smokeCommand())
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" || !strings.Contains(out.String(), "AccessDeniedException") {
		t.Fatalf("reported %s; output:\n%s", got, out)
	}
}

func TestUnreportableResultIsTheFunctionsError(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	f.Fail(targetPutStatus, &awsfake.Error{Status: 400, Type: "LifecycleEventAlreadyCompletedException", Message: "already completed"})
	h, _ := newHandler(t, f, []string{"true"})
	err := h.Handle(t.Context(), event)
	if err == nil || !strings.Contains(err.Error(), "report hook Succeeded to CodeDeploy") || !strings.Contains(err.Error(), "LifecycleEventAlreadyCompletedException") {
		t.Fatalf("Handle = %v", err)
	}
}

func TestEventWithoutIDsIsRefused(t *testing.T) {
	f := newFakeAWS(t)
	h, _ := newHandler(t, f, []string{"true"})
	if err := h.Handle(t.Context(), Event{DeploymentID: "d-1"}); !errors.Is(err, ErrBadEvent) {
		t.Fatalf("Handle = %v, want ErrBadEvent", err)
	}
	if n := len(f.Calls(targetPutStatus)); n != 0 {
		t.Fatalf("reported %d times for an event without ids", n)
	}
}

// TestAfterInstallChecksTheReplacementsTask: after Install the test listener
// still routes to the original, so the hook reaches the replacement's task
// directly, as greenlight does on one machine.
func TestAfterInstallChecksTheReplacementsTask(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	replacement := startReplacement(t)
	f.replacementTask(event.DeploymentID, replacement)
	// The test listener (still on the original) answers nothing here.
	h, out := newHandler(t, f, smokeCommand(), "GREENLIGHT_TEST_URL=http://127.0.0.1:1")
	h.LifecycleEvent, h.Cluster, h.Service = LifecycleAfterInstall, "production", "orders-service-production"
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Succeeded" {
		t.Fatalf("reported %s; output:\n%s", got, out)
	}
	if !strings.Contains(out.String(), "smoke: PASS against "+replacement) {
		t.Errorf("the smoke test did not run against the replacement's task %s:\n%s", replacement, out)
	}
	list := f.Calls(targetListTasks)
	if len(list) != 1 || list[0].Input["cluster"] != "production" || list[0].Input["serviceName"] != "orders-service-production" || list[0].Input["desiredStatus"] != "RUNNING" {
		t.Errorf("ListTasks calls = %+v", list)
	}
}

func TestAfterInstallWithoutAReplacementTaskFails(t *testing.T) {
	f := newFakeAWS(t)
	f.deployment(event.DeploymentID, "repo/orders-service:abc1234")
	f.Answer(targetListTasks, map[string]any{"taskArns": []any{}})
	h, out := newHandler(t, f, smokeCommand())
	h.LifecycleEvent, h.Cluster, h.Service = LifecycleAfterInstall, "production", "orders-service-production"
	if err := h.Handle(t.Context(), event); err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := reported(t, f); got != "Failed" || !strings.Contains(out.String(), "service orders-service-production runs no task") {
		t.Fatalf("reported %s; output:\n%s", got, out)
	}
}
