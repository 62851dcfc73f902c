package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// An execution waiting in front of the stage another one holds (one execution
// per stage) says so, naming that execution, in its view (the API's JSON, what
// `greenlight status` prints); approving it is refused as blocked by that
// execution, not only as "nothing waits".
func TestAnExecutionWaitingForAStageNamesItsHolder(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	first := r.commit("README", "v1", "first")
	s := startServer(t, r.path())
	start := func(delivery, commit string) string {
		t.Helper()
		a := s.deliver("push", delivery, pushPayload("acme/orders", "refs/heads/main", commit), secret)
		if a.status != http.StatusAccepted || len(a.Pipelines) != 1 || a.Pipelines[0].ExecutionID == "" {
			t.Fatalf("push answered %d %+v", a.status, a.DeliveryAnswer)
		}
		return a.Pipelines[0].ExecutionID
	}
	holder := start("d-1", first)
	waitFor(t, "the first execution to wait for its approval", func() bool {
		v, err := s.srv.Backend().GetExecution(context.Background(), holder)
		if err != nil {
			t.Fatal(err)
		}
		a := v.Action("Approval", "Review")
		return a != nil && a.Approval != nil && a.Approval.Status == control.ApprovalNeeded
	})
	blocked := start("d-2", r.commit("README", "v2", "second"))
	var v *control.Execution
	waitFor(t, "the second execution to wait in front of Approval", func() bool {
		var err error
		if v, err = s.srv.Backend().GetExecution(context.Background(), blocked); err != nil {
			t.Fatal(err)
		}
		return v.Waiting && v.Stage == "Approval"
	})
	want := "waiting for stage Approval, held by execution " + holder
	if v.Wait == nil || v.Wait.Stage != "Approval" || v.Wait.HeldBy != holder || v.Wait.Reason != want {
		t.Errorf("the waiting execution's wait: %+v; want %q", v.Wait, want)
	}
	viewer := s.token(access.RoleViewer)
	body, status := s.get("/api/v1/executions/"+blocked, viewer)
	var got struct {
		Wait struct{ Stage, HeldBy, Reason string } `json:"wait"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || status != http.StatusOK {
		t.Fatalf("GET the execution: %d %s (%v)", status, body, err)
	}
	if !strings.Contains(body, `"held_by":"`+holder+`"`) || got.Wait.Reason != want {
		t.Errorf("GET the execution: %s; want its wait, held by %s", body, holder)
	}
	if list := s.executions("orders"); len(list) != 2 || list[0].ID != blocked || list[0].Wait == nil || list[0].Wait.HeldBy != holder {
		t.Errorf("the history's newest execution: %+v; want its wait, held by %s", list[0], holder)
	}

	body, status = s.post("/api/v1/executions/"+blocked+"/approve", s.token(access.RoleApprover), `{"comment":"too early"}`)
	var refused struct {
		Error struct{ Code, Reason, Message string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &refused)
	if status != http.StatusConflict || refused.Error.Reason != "not_waiting" ||
		!strings.Contains(refused.Error.Message, "blocked by execution "+holder+", which holds stage Approval") {
		t.Errorf("approve the waiting execution: %d %s; want 409 not_waiting, blocked by execution %s", status, body, holder)
	}
}
