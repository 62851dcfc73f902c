package aws_test

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control"
	awsbackend "github.com/greenlight-ci/greenlight/internal/control/aws"
	"github.com/greenlight-ci/greenlight/internal/event"
)

var production = awsbackend.Group{Application: "orders-service", Name: "production", Service: "orders-service-production",
	Alarms: []string{"orders-error-rate", "orders-p99-latency"}}

const appspec = "version: 0.0\nResources:\n  - TargetService:\n      Type: AWS::ECS::Service\n      Properties:\n" +
	"        TaskDefinition: \"arn:aws:ecs:eu-west-1:123456789012:task-definition/orders-service:7\"\n" +
	"        LoadBalancerInfo:\n          ContainerName: \"api\"\n          ContainerPort: 3000\n"

// fakeDeploy is CodeDeploy with one blue/green deployment in its termination
// wait (Baking), rolled back by StopDeployment into a rollback deployment.
type fakeDeploy struct {
	mu          sync.Mutex
	status      string // of the deployment
	rolledBack  bool
	readyOption string
	events      []string // auto-rollback events of the group
}

const (
	deploymentID = "d-BAKING0001"
	rollbackID   = "d-ROLLBACK01"
)

func newFakeDeploy(t *testing.T, srv *awsfake.Server, status string, events ...string) *fakeDeploy {
	f := &fakeDeploy{status: status, readyOption: "CONTINUE_DEPLOYMENT", events: events}
	srv.Handle(opListDeployments, f.locked(func(in map[string]any) (any, error) {
		if in["applicationName"] != "orders-service" || in["deploymentGroupName"] != "production" {
			t.Errorf("ListDeployments %s", mustJSON(in))
		}
		ids := []any{rollbackID, deploymentID}
		if statuses, ok := in["includeOnlyStatuses"].([]any); ok {
			ids = nil
			if slices.Contains(statuses, any(f.status)) {
				ids = []any{deploymentID}
			}
		}
		return map[string]any{"deployments": ids}, nil
	}))
	srv.Handle(opBatchGetDeployment, f.locked(func(in map[string]any) (any, error) {
		var infos []any
		for _, id := range in["deploymentIds"].([]any) {
			infos = append(infos, f.info(id.(string)))
		}
		return map[string]any{"deploymentsInfo": infos}, nil
	}))
	srv.Handle(opGetDeployment, f.locked(func(in map[string]any) (any, error) {
		id, _ := in["deploymentId"].(string)
		if id != deploymentID && (id != rollbackID || !f.rolledBack) {
			return nil, &awsfake.Error{Status: 400, Type: "DeploymentDoesNotExistException", Message: "no deployment " + id}
		}
		return map[string]any{"deploymentInfo": f.info(id)}, nil
	}))
	srv.Handle(opListTargets, f.locked(func(map[string]any) (any, error) {
		return map[string]any{"targetIds": []any{"production:orders-service-production"}}, nil
	}))
	srv.Handle(opBatchGetTargets, f.locked(func(in map[string]any) (any, error) { return f.targets(in["deploymentId"].(string)), nil }))
	srv.Answer(opDescribeTD, map[string]any{"taskDefinition": map[string]any{"family": "orders-service", "revision": 7,
		"containerDefinitions": []any{map[string]any{"name": "api", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:abc1234"}}}})
	srv.Handle(opStopDeployment, f.locked(func(in map[string]any) (any, error) {
		if f.status != "Baking" && f.status != "InProgress" && f.status != "Ready" {
			return nil, &awsfake.Error{Status: 400, Type: "DeploymentAlreadyCompletedException", Message: "The deployment is already completed."}
		}
		f.status, f.rolledBack = "Stopped", in["autoRollbackEnabled"] == true
		return map[string]any{"status": "Pending", "statusMessage": "Stopping"}, nil
	}))
	srv.Handle(opContinueDeployment, f.locked(func(in map[string]any) (any, error) {
		if f.status != "Ready" || in["deploymentWaitType"] != "READY_WAIT" {
			return nil, &awsfake.Error{Status: 400, Type: "DeploymentIsNotInReadyStateException", Message: "The deployment is not in ready state."}
		}
		f.status = "InProgress"
		return map[string]any{}, nil
	}))
	return f
}

func (f *fakeDeploy) locked(h awsfake.Handler) awsfake.Handler {
	return func(in map[string]any) (any, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return h(in)
	}
}

var created = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func (f *fakeDeploy) info(id string) map[string]any {
	info := map[string]any{"deploymentId": id, "applicationName": "orders-service", "deploymentGroupName": "production",
		"deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce", "computePlatform": "ECS", "creator": "user",
		"createTime": awsfake.Time(created), "status": f.status,
		"revision": map[string]any{"revisionType": "AppSpecContent", "appSpecContent": map[string]any{"content": appspec}},
		"blueGreenDeploymentConfiguration": map[string]any{
			"deploymentReadyOption":                     map[string]any{"actionOnTimeout": f.readyOption, "waitTimeInMinutes": 0},
			"terminateBlueInstancesOnDeploymentSuccess": map[string]any{"action": "TERMINATE", "terminationWaitTimeInMinutes": 60},
		},
		"autoRollbackConfiguration": map[string]any{"enabled": len(f.events) > 0, "events": f.events},
	}
	switch {
	case id == rollbackID:
		info["status"], info["creator"] = "Succeeded", "codeDeployRollback"
		info["createTime"], info["completeTime"] = awsfake.Time(created.Add(9*time.Minute)), awsfake.Time(created.Add(10*time.Minute))
		info["rollbackInfo"] = map[string]any{"rollbackTriggeringDeploymentId": deploymentID, "rollbackMessage": "rolled back"}
	case f.status == "Stopped":
		info["completeTime"] = awsfake.Time(created.Add(9 * time.Minute))
		info["errorInformation"] = map[string]any{"code": "MANUAL_STOP", "message": "The deployment was stopped by the user."}
		if f.rolledBack {
			info["rollbackInfo"] = map[string]any{"rollbackDeploymentId": rollbackID, "rollbackMessage": "Deployment stopped by user."}
		}
	}
	return info
}

func (f *fakeDeploy) targets(id string) map[string]any {
	step := func(name, status string, at int) map[string]any {
		s := map[string]any{"lifecycleEventName": name, "status": status}
		if status != "Pending" {
			s["startTime"], s["endTime"] = awsfake.Time(created.Add(time.Duration(at)*time.Minute)), awsfake.Time(created.Add(time.Duration(at)*time.Minute+30*time.Second))
		}
		return s
	}
	events := []any{step("BeforeInstall", "Succeeded", 0), step("Install", "Succeeded", 1), step("AfterInstall", "Succeeded", 2),
		step("AllowTestTraffic", "Succeeded", 3), step("AfterAllowTestTraffic", "Succeeded", 4), step("BeforeAllowTraffic", "Succeeded", 5),
		step("AllowTraffic", "Succeeded", 6), step("AfterAllowTraffic", "Succeeded", 7)}
	green := 100
	if id == rollbackID || f.status == "Stopped" {
		green = 0
	}
	return map[string]any{"deploymentTargets": []any{map[string]any{"deploymentTargetType": "ECSTarget", "ecsTarget": map[string]any{
		"deploymentId": id, "targetId": "production:orders-service-production", "status": "Succeeded", "lifecycleEvents": events,
		"taskSetsInfo": []any{
			map[string]any{"identifer": "ecs-svc/1", "taskSetLabel": "Blue", "trafficWeight": 100 - green, "targetGroup": map[string]any{"name": "orders-blue"}},
			map[string]any{"identifer": "ecs-svc/2", "taskSetLabel": "Green", "trafficWeight": green, "targetGroup": map[string]any{"name": "orders-green"}},
		},
	}}}}
}

// TestRollbackStopsWithAutoRollbackAndFollowsTheRollback: `greenlight rollback`
// is StopDeployment with autoRollbackEnabled; CodeDeploy's rollback deployment
// is found from the stopped one's rollbackInfo and followed to its end.
func TestRollbackStopsWithAutoRollbackAndFollowsTheRollback(t *testing.T) {
	srv := awsfake.New(t)
	newFakeDeploy(t, srv, "Baking")
	b := newBackend(srv, production)
	d, err := b.CommandDeployment(ctx(t), control.DeploymentCommand{Command: control.CommandRollback, Who: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != deploymentID || d.Status != control.DeploymentBaking || d.Revision.Image != "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-service:abc1234" ||
		d.ReplacementWeight != 100 || d.ReplacementTargetGroup != "orders-green" || d.OriginalTargetGroup != "orders-blue" ||
		len(d.Steps) != 8 || d.Steps[7].Name != "AfterAllowTraffic" || d.Config.Service.Name != production.Service ||
		!d.TerminationDue.Equal(created.Add(7*time.Minute+30*time.Second+time.Hour)) {
		t.Fatalf("deployment before the rollback: %s", mustJSON(d))
	}
	stops := srv.Calls(opStopDeployment)
	if len(stops) != 1 || mustJSON(stops[0].Input) != `{"autoRollbackEnabled":true,"deploymentId":"`+deploymentID+`"}` {
		t.Fatalf("StopDeployment calls %s", mustJSON(stops))
	}
	var seen []string
	final, err := control.FollowDeployment(ctx(t), b, d.ID, control.Follow{Until: func(d *control.Deployment) bool { return d.Status.Done() },
		OnEvent: func(e event.Event) { seen = append(seen, string(e.Kind)+":"+e.Name+":"+e.Status) }, Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "Stopped" || final.RolledBackBy != rollbackID || final.ErrorCode != "MANUAL_STOP" {
		t.Fatalf("stopped deployment %s", mustJSON(final))
	}
	rb, err := b.GetDeployment(ctx(t), final.RolledBackBy)
	if err != nil || rb.Kind != control.KindRollback || rb.RollbackOf != deploymentID || rb.Status != "Succeeded" {
		t.Fatalf("rollback %s, %v", mustJSON(rb), err)
	}
	for _, want := range []string{"lifecycle:AllowTraffic:Succeeded", "deployment::Stopped", "deployment::Succeeded"} {
		if !slices.Contains(seen, want) {
			t.Errorf("events %v lack %s", seen, want)
		}
	}
}

func TestContinueAndStop(t *testing.T) {
	srv := awsfake.New(t)
	f := newFakeDeploy(t, srv, "Ready")
	f.readyOption = "STOP_DEPLOYMENT"
	b := newBackend(srv, production)
	if _, err := b.CommandDeployment(ctx(t), control.DeploymentCommand{Command: control.CommandContinue, Who: "ada"}); err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls(opContinueDeployment); len(c) != 1 || mustJSON(c[0].Input) != `{"deploymentId":"`+deploymentID+`","deploymentWaitType":"READY_WAIT"}` {
		t.Fatalf("ContinueDeployment calls %s", mustJSON(c))
	}
	_, err := b.CommandDeployment(ctx(t), control.DeploymentCommand{DeploymentID: deploymentID, Command: control.CommandContinue, Who: "ada"})
	wantError(t, err, control.CodeConflict, awsbackend.ReasonNotReady, "DeploymentIsNotInReadyStateException", "STOP_DEPLOYMENT")
	// The group does not roll back on a stop request: the stop does not either.
	if _, err := b.CommandDeployment(ctx(t), control.DeploymentCommand{DeploymentID: deploymentID, Command: control.CommandStop, Who: "ada"}); err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls(opStopDeployment); len(c) != 1 || c[0].Input["autoRollbackEnabled"] != false {
		t.Fatalf("StopDeployment calls %s", mustJSON(c))
	}
	_, err = b.CommandDeployment(ctx(t), control.DeploymentCommand{DeploymentID: deploymentID, Command: control.CommandRollback, Who: "ada"})
	wantError(t, err, control.CodeConflict, control.ReasonNotActive, "Stopped")
	_, err = b.CommandDeployment(ctx(t), control.DeploymentCommand{Command: control.CommandRollback, Who: "ada"})
	wantError(t, err, control.CodeNotFound, "", "no deployment is in progress")
}

func TestListDeploymentsNewestFirst(t *testing.T) {
	srv := awsfake.New(t)
	newFakeDeploy(t, srv, "Stopped", "DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_REQUEST").rolledBack = true
	ds, err := newBackend(srv, production).ListDeployments(ctx(t), control.DeploymentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		got = append(got, d.ID+" "+string(d.Kind)+" "+string(d.Status))
	}
	if strings.Join(got, ", ") != rollbackID+" ROLLBACK Succeeded, "+deploymentID+" BLUE_GREEN Stopped" {
		t.Fatalf("deployments %v", got)
	}
	if !ds[1].Config.AutoRollback.RollsBackOn("DEPLOYMENT_STOP_ON_REQUEST") || ds[1].Config.TerminationWait.D() != time.Hour {
		t.Errorf("config %s", mustJSON(ds[1].Config))
	}
	other, err := newBackend(srv, production).ListDeployments(ctx(t), control.DeploymentQuery{Service: "staging"})
	if err != nil || len(other) != 0 {
		t.Fatalf("deployments of another service: %v, %v", other, err)
	}
}

// TestExecutionEventsIncludeItsDeployments: following an execution shows the
// lifecycle of the deployment its CodeDeployToECS action created, once, whether
// the deployment was read alone first or not.
func TestExecutionEventsIncludeItsDeployments(t *testing.T) {
	srv := awsfake.New(t)
	newFakeDeploy(t, srv, "Baking")
	srv.Answer(opGetPipeline, map[string]any{"pipeline": map[string]any{"name": pipelineName, "stages": []any{map[string]any{"name": "DeployProduction",
		"actions": []any{map[string]any{"name": "Deploy", "actionTypeId": map[string]any{"category": "Deploy", "owner": "AWS", "provider": "CodeDeployToECS", "version": "1"}}}}}}})
	srv.Answer(opGetExecution, map[string]any{"pipelineExecution": map[string]any{"pipelineExecutionId": "e-1", "status": "InProgress"}})
	srv.Answer(opListActions, map[string]any{"actionExecutionDetails": []any{map[string]any{"stageName": "DeployProduction", "actionName": "Deploy",
		"status": "InProgress", "startTime": awsfake.Time(created), "output": map[string]any{"executionResult": map[string]any{"externalExecutionId": deploymentID}}}}})
	b := newBackend(srv, production)
	alone, err := b.Events(ctx(t), event.Query{DeploymentIDs: []string{deploymentID}})
	if err != nil || len(alone) == 0 {
		t.Fatalf("deployment events %v, %v", alone, err)
	}
	time.Sleep(5 * time.Millisecond)
	evs, err := b.Events(ctx(t), event.Query{ExecutionID: "e-1"})
	if err != nil {
		t.Fatal(err)
	}
	lifecycle := map[string]int{}
	for _, e := range evs {
		if e.Kind == event.KindLifecycle && e.Status == "Succeeded" {
			lifecycle[e.Name]++
		}
	}
	if len(lifecycle) != 8 || lifecycle["AfterAllowTraffic"] != 1 {
		t.Fatalf("lifecycle events of the execution: %v (all: %s)", lifecycle, mustJSON(evs))
	}
	again, err := b.Events(ctx(t), event.Query{DeploymentIDs: []string{deploymentID}})
	if err != nil || len(again) != len(alone) {
		t.Fatalf("deployment events read again: %d, first %d (none may be told twice), %v", len(again), len(alone), err)
	}
}
