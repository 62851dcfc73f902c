package aws_test

import (
	"sync"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control"
)

const opPutHookStatus = "CodeDeploy_20141006.PutLifecycleEventHookExecutionStatus"

// fakeHookExecutions is CodeDeploy with one deployment whose one hook
// execution waits for its result.
func fakeHookExecutions(srv *awsfake.Server) {
	var mu sync.Mutex
	waiting := map[string]bool{"hx-0001": true}
	srv.Handle(opPutHookStatus, func(in map[string]any) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		id, _ := in["lifecycleEventHookExecutionId"].(string)
		w, known := waiting[id]
		switch {
		case in["deploymentId"] != deploymentID:
			return nil, &awsfake.Error{Status: 400, Type: "DeploymentDoesNotExistException", Message: "The deployment could not be found."}
		case !known:
			return nil, &awsfake.Error{Status: 400, Type: "InvalidLifecycleEventHookExecutionIdException", Message: "The lifecycle event hook execution id is not valid."}
		case !w:
			return nil, &awsfake.Error{Status: 400, Type: "LifecycleEventAlreadyCompletedException", Message: "The lifecycle event is already completed."}
		}
		waiting[id] = false
		return map[string]any{"lifecycleEventHookExecutionId": id}, nil
	})
}

func TestPutHookResultReportsToCodeDeploy(t *testing.T) {
	srv := awsfake.New(t)
	fakeHookExecutions(srv)
	b := newBackend(srv, production)
	put := func(dep, id string, status control.HookStatus) error {
		return b.PutHookResult(ctx(t), control.HookResult{DeploymentID: dep, HookExecutionID: id, Status: status})
	}
	if err := put(deploymentID, "hx-0001", control.HookSucceeded); err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls(opPutHookStatus); len(c) != 1 ||
		mustJSON(c[0].Input) != `{"deploymentId":"`+deploymentID+`","lifecycleEventHookExecutionId":"hx-0001","status":"Succeeded"}` {
		t.Fatalf("calls %s", mustJSON(c))
	}
	wantError(t, put(deploymentID, "hx-0001", control.HookFailed), control.CodeConflict, control.ReasonFinished, "LifecycleEventAlreadyCompletedException")
	wantError(t, put(deploymentID, "hx-NOSUCH", control.HookFailed), control.CodeNotFound, "", "InvalidLifecycleEventHookExecutionIdException")
	wantError(t, put("d-NOSUCHONE", "hx-0001", control.HookFailed), control.CodeNotFound, "", "DeploymentDoesNotExistException")
	wantError(t, put(deploymentID, "hx-0001", "InProgress"), control.CodeBadRequest, "", "Succeeded")
	if c := srv.Calls(opPutHookStatus); len(c) != 4 {
		t.Errorf("a bad status reached CodeDeploy: %s", mustJSON(c))
	}
}
