package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func listPipelines(s *Server, c *call) error {
	ps, err := s.opts.Backend.ListPipelines(c.r.Context())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ps)
	return nil
}

func listExecutions(s *Server, c *call) error {
	limit, err := queryLimit(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	page, err := s.opts.Backend.ListExecutions(c.r.Context(), control.ExecutionQuery{
		Pipeline: q.Get("pipeline"), Limit: limit, PageToken: q.Get("page_token")})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, page)
	return nil
}

// StartBody is the body of POST /api/v1/executions. Who is the token's name.
type StartBody struct {
	Pipeline  string            `json:"pipeline,omitempty"`
	Revision  string            `json:"revision,omitempty"`
	Ref       string            `json:"ref,omitempty"` // the ref that started it, shown with the execution
	Variables map[string]string `json:"variables,omitempty"`
	// Trigger is CLI (default) or StartPipelineExecution; webhooks start
	// executions through their own endpoint.
	Trigger control.Trigger `json:"trigger,omitempty"`
}

// Started answers a start.
type Started struct {
	ExecutionID string `json:"execution_id"`
}

func startExecution(s *Server, c *call) error {
	var b StartBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	c.target = b.Pipeline
	switch b.Trigger {
	case "":
		b.Trigger = control.TriggerCLI
	case control.TriggerCLI, control.TriggerStart:
	default:
		return badRequest("trigger %q: want %s or %s", b.Trigger, control.TriggerCLI, control.TriggerStart)
	}
	id, err := s.opts.Backend.StartExecution(c.r.Context(), control.StartRequest{Pipeline: b.Pipeline, Revision: b.Revision, Ref: b.Ref,
		Variables: b.Variables, Trigger: b.Trigger, Who: c.p.Name})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, Started{ExecutionID: id})
	return nil
}

// Resumed answers a resume.
type Resumed struct {
	ExecutionIDs []string `json:"execution_ids"`
}

func resumeExecutions(s *Server, c *call) error {
	ids, err := s.opts.Backend.ResumeExecutions(c.r.Context())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, Resumed{ExecutionIDs: ids})
	return nil
}

func getExecution(s *Server, c *call) error {
	v, err := s.opts.Backend.GetExecution(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, v)
	return nil
}

// StopBody is the body of POST /api/v1/executions/{id}/stop.
type StopBody struct {
	Abandon bool   `json:"abandon,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func stopExecution(s *Server, c *call) error {
	var b StopBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	c.note = b.Reason
	err := s.opts.Backend.StopExecution(c.r.Context(), control.StopRequest{ExecutionID: c.r.PathValue("id"), Abandon: b.Abandon, Reason: b.Reason})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// RetryBody is the body of POST /api/v1/executions/{id}/retry.
type RetryBody struct {
	Stage string `json:"stage"`
	All   bool   `json:"all,omitempty"`
}

func retryStage(s *Server, c *call) error {
	var b RetryBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	c.target = targetOf(id, b.Stage)
	if err := s.opts.Backend.RetryStage(c.r.Context(), control.RetryRequest{ExecutionID: id, Stage: b.Stage, All: b.All}); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// DecisionBody is the body of an approve or reject: the approval (optional
// when only one waits) and the comment. The approver is the token's name.
type DecisionBody struct {
	Stage   string `json:"stage,omitempty"`
	Action  string `json:"action,omitempty"`
	Comment string `json:"comment,omitempty"`
}

func approve(s *Server, c *call) error { return decide(s, c, true) }
func reject(s *Server, c *call) error  { return decide(s, c, false) }

// decide approves or rejects as the token's name; the audit record's target is
// the approval as the console names it and its note the comment.
func decide(s *Server, c *call, yes bool) error {
	var b DecisionBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	id := c.r.PathValue("id")
	c.target, c.note = approvalTarget(c.r.Context(), s.opts.Backend, id, b.Stage, b.Action), b.Comment
	err := s.opts.Backend.Decide(c.r.Context(), control.Decision{ExecutionID: id, Stage: b.Stage, Action: b.Action,
		Approve: yes, Who: c.p.Name, Comment: b.Comment})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

func changesSinceProduction(s *Server, c *call) error {
	set, err := s.opts.Backend.ChangesSinceProduction(c.r.Context(), c.r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, set)
	return nil
}

func actionRef(r *http.Request) control.ActionRef {
	return control.ActionRef{ExecutionID: r.PathValue("id"), Stage: r.PathValue("stage"), Action: r.PathValue("action")}
}

func reports(s *Server, c *call) error {
	rs, err := s.opts.Backend.Reports(c.r.Context(), actionRef(c.r))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, rs)
	return nil
}

// approvalTarget names the approval a decision is for as the console does,
// execution/stage/action. When the body leaves the stage or the action out, it
// is the approval the execution waits for, or else its only approval (a
// decision refused as already taken); otherwise the parts the body gave.
func approvalTarget(ctx context.Context, b control.Backend, id, stage, action string) string {
	if stage == "" || action == "" {
		if ex, err := b.GetExecution(ctx, id); err == nil {
			if s, a, ok := onlyApproval(ex, stage, action); ok {
				stage, action = s, a
			}
		}
	}
	return targetOf(id, stage, action)
}

// onlyApproval finds, within the stage and action when they are given, the one
// approval of ex that waits for a decision, or else its one approval.
func onlyApproval(ex *control.Execution, stage, action string) (string, string, bool) {
	var waiting, all [][2]string
	for _, s := range ex.Stages {
		for _, a := range s.Actions {
			if a.Approval == nil || stage != "" && s.Name != stage || action != "" && a.Name != action {
				continue
			}
			all = append(all, [2]string{s.Name, a.Name})
			if a.Approval.Status == control.ApprovalNeeded {
				waiting = append(waiting, [2]string{s.Name, a.Name})
			}
		}
	}
	for _, found := range [][][2]string{waiting, all} {
		if len(found) == 1 {
			return found[0][0], found[0][1], true
		}
	}
	return "", "", false
}

// targetOf joins an audit target's parts with "/", leaving out the empty ones
// at its end: an execution, execution/stage or execution/stage/action.
func targetOf(parts ...string) string {
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, "/")
}
