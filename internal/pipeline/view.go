package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"
)

// ExecutionSummary is one line of the execution history.
type ExecutionSummary struct {
	Seq               int64   `json:"seq"` // creation order: a higher Seq is a newer execution
	ID                string  `json:"execution_id"`
	Pipeline          string  `json:"pipeline"`
	Status            Status  `json:"status"`
	StatusSummary     string  `json:"status_summary,omitempty"`
	Mode              string  `json:"execution_mode"`
	Trigger           Trigger `json:"trigger"`
	TriggerDetail     string  `json:"trigger_detail,omitempty"`
	RequestedRevision string  `json:"requested_revision,omitempty"`
	// Ref is the ref whose push started the execution (refs/tags/v1.2.0,
	// refs/heads/main), when one did; RefName says it for people.
	Ref     string   `json:"ref,omitempty"`
	Source  Revision `json:"source_revision"`
	Stage   string   `json:"stage,omitempty"` // the stage it is in, waits for, or ended in
	Waiting bool     `json:"waiting,omitempty"`
	// Wait says why a waiting execution waits (the execution holding the stage).
	Wait      *Wait     `json:"wait,omitempty"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	OwnerPID  int       `json:"owner_pid,omitempty"`
	OwnerHost string    `json:"owner_host,omitempty"`
}

// RefName names what the execution runs for people: "tag v1.2.0" when a tag
// started it, the branch whose push started it, else the source's branch.
func (s ExecutionSummary) RefName() string {
	if tag, ok := strings.CutPrefix(s.Ref, "refs/tags/"); ok {
		return "tag " + tag
	}
	if branch, ok := strings.CutPrefix(s.Ref, "refs/heads/"); ok {
		return branch
	}
	return cmp.Or(s.Ref, s.Source.Branch)
}

// ExecutionView is everything `status` shows about one execution.
type ExecutionView struct {
	ExecutionSummary
	Variables map[string]string `json:"variables,omitempty"`
	Stages    []StageView       `json:"stages"`
	Artifacts []Artifact        `json:"artifacts,omitempty"`
}

// StageView is one stage of an execution; Status is "" for a stage not reached.
type StageView struct {
	Name      string       `json:"name"`
	Status    Status       `json:"status,omitempty"`
	Attempt   int          `json:"attempt,omitempty"`
	RetryMode RetryMode    `json:"retry_mode,omitempty"`
	Message   string       `json:"message,omitempty"`
	StartedAt time.Time    `json:"started_at,omitzero"`
	EndedAt   time.Time    `json:"ended_at,omitzero"`
	Actions   []ActionView `json:"actions"`
}

// ActionView is the latest attempt of one action, with its history.
type ActionView struct {
	Name            string            `json:"name"`
	Category        string            `json:"category"`
	Provider        string            `json:"provider"`
	RunOrder        int               `json:"run_order"`
	Status          Status            `json:"status,omitempty"`
	Attempt         int               `json:"attempt,omitempty"`
	Summary         string            `json:"summary,omitempty"`
	ErrorMessage    string            `json:"error_message,omitempty"`
	ExternalID      string            `json:"external_id,omitempty"`
	ExternalURL     string            `json:"external_url,omitempty"`
	OutputVariables map[string]string `json:"output_variables,omitempty"`
	Data            map[string]any    `json:"data,omitempty"`
	StartedAt       time.Time         `json:"started_at,omitzero"`
	EndedAt         time.Time         `json:"ended_at,omitzero"`
	Approval        *ApprovalView     `json:"approval,omitempty"`
	Attempts        []AttemptView     `json:"attempts,omitempty"` // earlier attempts, oldest first
}

// AttemptView is an earlier attempt of an action.
type AttemptView struct {
	Attempt      int       `json:"attempt"`
	Status       Status    `json:"status"`
	ErrorMessage string    `json:"error_message,omitempty"`
	StartedAt    time.Time `json:"started_at,omitzero"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
}

// ApprovalView is the request and decision of a Manual approval.
type ApprovalView struct {
	Status             ApprovalStatus `json:"status"`
	CustomData         string         `json:"custom_data,omitempty"`
	ExternalEntityLink string         `json:"external_entity_link,omitempty"`
	RequestedAt        time.Time      `json:"requested_at"`
	ExpiresAt          time.Time      `json:"expires_at,omitzero"`
	DecidedBy          string         `json:"decided_by,omitempty"`
	DecidedAt          time.Time      `json:"decided_at,omitzero"`
	Summary            string         `json:"summary,omitempty"`
}

// Action returns the latest attempt of the named action, or nil when the
// execution's pipeline has no such action.
func (v *ExecutionView) Action(stage, action string) *ActionView {
	for _, st := range v.Stages {
		for i := range st.Actions {
			if st.Name == stage && st.Actions[i].Name == action {
				return &st.Actions[i]
			}
		}
	}
	return nil
}

// Execution returns one execution with its stages, actions, variables and
// approvals, as recorded now.
func (e *Engine) Execution(ctx context.Context, id string) (*ExecutionView, error) {
	var v *ExecutionView
	err := e.store.View(ctx, func(t Tx) error {
		ex, err := t.Execution(id)
		if err != nil {
			return err
		}
		stageRuns, err := t.StageRuns(id)
		if err != nil {
			return err
		}
		actionRuns, err := t.ActionRuns(id)
		if err != nil {
			return err
		}
		approvals, err := t.Approvals(id)
		if err != nil {
			return err
		}
		arts, err := t.Artifacts(id)
		if err != nil {
			return err
		}
		v = &ExecutionView{ExecutionSummary: e.summary(ex), Variables: ex.Variables}
		if v.Wait, err = e.waitOf(t, ex); err != nil {
			return err
		}
		for _, a := range arts {
			v.Artifacts = append(v.Artifacts, Artifact{Name: a.Name, Dir: a.Dir})
		}
		v.Stages = e.stageViews(stageRuns, actionRuns, approvals)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read execution %s: %w", id, err)
	}
	return v, nil
}

func (e *Engine) summary(ex *ExecutionRecord) ExecutionSummary {
	s := ExecutionSummary{
		Seq: ex.Seq, ID: ex.ID, Pipeline: ex.Pipeline, Status: ex.Status, StatusSummary: ex.StatusSummary, Mode: ex.Mode,
		Trigger: ex.Trigger, TriggerDetail: ex.TriggerDetail, RequestedRevision: ex.RequestedRevision, Ref: ex.Ref,
		Source: revisionFrom(ex.SourceRevision), Waiting: ex.Waiting,
		StartedAt: ex.StartedAt, UpdatedAt: ex.UpdatedAt, EndedAt: ex.EndedAt, OwnerPID: ex.Owner.PID, OwnerHost: ex.Owner.Host,
	}
	if ex.StageIndex < len(e.stages()) {
		s.Stage = e.stages()[ex.StageIndex].Name
	}
	return s
}

func (e *Engine) stageViews(stageRuns []*StageRecord, actionRuns []*ActionRecord, approvals []*ApprovalRecord) []StageView {
	byStage := map[string]*StageRecord{}
	for _, sr := range stageRuns {
		byStage[sr.Stage] = sr
	}
	var out []StageView
	for _, st := range e.stages() {
		sv := StageView{Name: st.Name}
		if sr := byStage[st.Name]; sr != nil {
			sv.Status, sv.Attempt, sv.RetryMode, sv.Message = sr.Status, sr.Attempt, sr.RetryMode, sr.Message
			sv.StartedAt, sv.EndedAt = sr.StartedAt, sr.EndedAt
		}
		for _, a := range st.Actions {
			av := ActionView{Name: a.Name, Category: a.Category, Provider: a.Provider, RunOrder: runOrder(a)}
			for _, run := range actionRuns {
				if run.Stage != st.Name || run.Action != a.Name {
					continue
				}
				if av.Attempt > 0 {
					av.Attempts = append(av.Attempts, AttemptView{Attempt: av.Attempt, Status: av.Status,
						ErrorMessage: av.ErrorMessage, StartedAt: av.StartedAt, EndedAt: av.EndedAt})
				}
				fillActionView(&av, run)
			}
			av.Approval = approvalView(approvals, st.Name, a.Name, av.Attempt)
			sv.Actions = append(sv.Actions, av)
		}
		out = append(out, sv)
	}
	return out
}

// fillActionView sets av from one attempt; attempts come in ascending order.
func fillActionView(av *ActionView, run *ActionRecord) {
	av.Status, av.Attempt, av.Summary, av.ErrorMessage = run.Status, run.Attempt, run.Summary, run.ErrorMessage
	av.ExternalID, av.ExternalURL, av.OutputVariables, av.Data = run.ExternalID, run.ExternalURL, run.OutputVariables, run.Data
	av.StartedAt, av.EndedAt = run.StartedAt, run.EndedAt
}

func approvalView(approvals []*ApprovalRecord, stage, action string, attempt int) *ApprovalView {
	for _, a := range approvals {
		if a.Stage == stage && a.Action == action && a.Attempt == attempt {
			return &ApprovalView{Status: a.Status, CustomData: a.CustomData, ExternalEntityLink: a.ExternalEntityLink,
				RequestedAt: a.RequestedAt, ExpiresAt: a.ExpiresAt, DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, Summary: a.Summary}
		}
	}
	return nil
}

// LogPath returns the log file of an action of an execution, which every attempt
// appends to; "" when the action never ran.
func (e *Engine) LogPath(ctx context.Context, id, stage, action string) (string, error) {
	var path string
	err := e.store.View(ctx, func(t Tx) error {
		runs, err := t.ActionRuns(id)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			if _, err := t.Execution(id); err != nil {
				return err
			}
		}
		if latest := latestAttempt(runs, stage, action); latest != nil {
			path = latest.LogPath
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("log of %s/%s in %s: %w", stage, action, id, err)
	}
	return path, nil
}
