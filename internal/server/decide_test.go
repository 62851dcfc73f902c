package server_test

import (
	"context"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// waitingExecution is a backend holding one execution that waits at
// Approval/Review until a decision is taken; other verbs are not called.
type waitingExecution struct {
	control.Backend
	decided bool
}

const waitingID = "6943de3f-c276-4deb-8d6c-66d789514ace"

func (w *waitingExecution) GetExecution(_ context.Context, id string) (*control.Execution, error) {
	if id != waitingID {
		return nil, control.Errorf(control.CodeNotFound, "no execution %s", id)
	}
	status := control.ApprovalNeeded
	if w.decided {
		status = control.ApprovalStatus("Approved")
	}
	ex := &control.Execution{Stages: []control.Stage{
		{Name: "Build", Actions: []control.Action{{Name: "Build"}}},
		{Name: "Approval", Actions: []control.Action{{Name: "Review", Approval: &control.Approval{Status: status}}}},
	}}
	ex.ID = id
	return ex, nil
}

func (w *waitingExecution) Decide(_ context.Context, d control.Decision) error {
	if w.decided {
		return control.Errorf(control.CodeConflict, "the approval at Approval/Review was approved by approver")
	}
	w.decided = true
	return nil
}

func (w *waitingExecution) RetryStage(context.Context, control.RetryRequest) error {
	return control.Errorf(control.CodeConflict, "the execution is InProgress")
}

// An approve whose body names no stage or action (the CLI's and curl's way)
// is audited against the approval it decided, as the console names it:
// execution/stage/action, never "id//"; a retry naming no stage against the
// execution, never "id/".
func TestADecisionWithoutStageIsAuditedAgainstTheApprovalItDecided(t *testing.T) {
	h := newHarness(t, func(o *server.Options) { o.Backend = &waitingExecution{} })
	for range 2 { // the second is refused: already decided
		h.do(t, "approver", "POST", "/api/v1/executions/"+waitingID+"/approve", `{"comment":"ok"}`)
		if r := h.auditLog(t)[0]; r.Action != access.VerbApprove || r.Target != waitingID+"/Approval/Review" {
			t.Errorf("approve (%s) audited against %q, want %s/Approval/Review", r.Result, r.Target, waitingID)
		}
	}
	h.do(t, "operator", "POST", "/api/v1/executions/"+waitingID+"/retry", `{}`)
	if r := h.auditLog(t)[0]; r.Action != access.VerbRetryStage || r.Target != waitingID {
		t.Errorf("a retry naming no stage is audited against %q, want %s", r.Target, waitingID)
	}
}
