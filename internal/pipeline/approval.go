package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// DefaultApprovalTimeout is CodePipeline's: an approval nobody gives fails the
// action after 7 days.
const DefaultApprovalTimeout = 7 * 24 * time.Hour

// manualApproval is the built-in "Manual" provider: it records that an approval is
// needed and waits until someone, in any process, approves or rejects it, or it
// times out. The request survives a restart: a resumed attempt keeps waiting for
// the same approval, with the same deadline.
type manualApproval struct{ e *Engine }

func (m *manualApproval) DefaultTimeout() time.Duration { return DefaultApprovalTimeout }

func (m *manualApproval) Run(ctx context.Context, a *ActionRun) (Outcome, error) {
	req, created, err := m.request(ctx, a)
	if err != nil {
		return Outcome{}, err
	}
	if created {
		fmt.Fprintf(a.Log, "approval needed: %s\n", cmp.Or(req.CustomData, "(no custom data)"))
		a.Events.Emit(event.Event{Kind: event.KindApproval, Status: string(ApprovalNeeded), Message: req.CustomData,
			Data: approvalData(req)})
	}
	tick := time.NewTicker(m.e.opts.PollInterval)
	defer tick.Stop()
	for {
		got, err := m.read(ctx, a)
		if err != nil && ctx.Err() == nil {
			return Outcome{}, err
		}
		if got != nil && got.Status != ApprovalNeeded {
			return m.decided(a, got), nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return m.timedOut(ctx, a)
			}
			return Outcome{}, ctx.Err()
		case <-tick.C:
		}
	}
}

// request records the approval request of this attempt, or finds the one a
// previous process recorded.
func (m *manualApproval) request(ctx context.Context, a *ActionRun) (*ApprovalRecord, bool, error) {
	var req *ApprovalRecord
	created := false
	err := m.e.store.Update(ctx, func(t Tx) error {
		got, err := t.Approval(a.ExecutionID, a.Stage, a.Action, a.Attempt)
		if err == nil {
			req = got
			return nil
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		req = &ApprovalRecord{ExecutionID: a.ExecutionID, Stage: a.Stage, Action: a.Action, Attempt: a.Attempt,
			Status: ApprovalNeeded, CustomData: a.Config["CustomData"], ExternalEntityLink: a.Config["ExternalEntityLink"],
			NotificationArn: a.Config["NotificationArn"], RequestedAt: m.e.now()}
		if deadline, ok := ctx.Deadline(); ok {
			req.ExpiresAt = deadline
		}
		created = true
		return t.PutApproval(req)
	})
	if err != nil {
		return nil, false, fmt.Errorf("request approval: %w", err)
	}
	return req, created, nil
}

func (m *manualApproval) read(ctx context.Context, a *ActionRun) (*ApprovalRecord, error) {
	var got *ApprovalRecord
	err := m.e.store.View(ctx, func(t Tx) error {
		var err error
		got, err = t.Approval(a.ExecutionID, a.Stage, a.Action, a.Attempt)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read approval: %w", err)
	}
	return got, nil
}

func (m *manualApproval) decided(a *ActionRun, got *ApprovalRecord) Outcome {
	line := fmt.Sprintf("%s by %s", strings.ToLower(string(got.Status)), got.DecidedBy)
	if got.Summary != "" {
		line += ": " + got.Summary
	}
	fmt.Fprintln(a.Log, line)
	a.Events.Emit(event.Event{Kind: event.KindApproval, Status: string(got.Status), Message: line, Data: approvalData(got)})
	out := Outcome{Status: Succeeded, Summary: line, Data: map[string]any{"approval": approvalData(got)}}
	if got.Status != ApprovalApproved {
		out.Status, out.ErrorMessage = Failed, line
	}
	return out
}

// timedOut fails the approval, unless a decision landed at the last moment.
func (m *manualApproval) timedOut(ctx context.Context, a *ActionRun) (Outcome, error) {
	ctx = context.WithoutCancel(ctx)
	var got *ApprovalRecord
	err := m.e.store.Update(ctx, func(t Tx) error {
		var err error
		if got, err = t.Approval(a.ExecutionID, a.Stage, a.Action, a.Attempt); err != nil || got.Status != ApprovalNeeded {
			return err
		}
		got.Status, got.DecidedAt = ApprovalFailed, m.e.now()
		return t.PutApproval(got)
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("time out approval: %w", err)
	}
	if got.Status != ApprovalFailed {
		return m.decided(a, got), nil
	}
	const msg = "approval timed out"
	fmt.Fprintln(a.Log, msg)
	a.Events.Emit(event.Event{Kind: event.KindApproval, Status: string(ApprovalFailed), Message: msg, Data: approvalData(got)})
	return Outcome{Status: Failed, ErrorMessage: msg, Data: map[string]any{"approval": approvalData(got)}}, nil
}

func approvalData(a *ApprovalRecord) map[string]any {
	d := map[string]any{"status": string(a.Status), "requested_at": a.RequestedAt}
	for k, v := range map[string]string{"custom_data": a.CustomData, "external_entity_link": a.ExternalEntityLink,
		"notification_arn": a.NotificationArn, "decided_by": a.DecidedBy, "summary": a.Summary} {
		if v != "" {
			d[k] = v
		}
	}
	if !a.ExpiresAt.IsZero() {
		d["expires_at"] = a.ExpiresAt
	}
	if !a.DecidedAt.IsZero() {
		d["decided_at"] = a.DecidedAt
	}
	return d
}

// Approve approves the pending approval of an execution: the action at stage and
// action, or, with both empty, the only one pending. It may be called from any
// process; the one running the execution notices within a poll interval.
func (e *Engine) Approve(ctx context.Context, executionID, stage, action, who, summary string) error {
	return e.decide(ctx, "approve", executionID, stage, action, who, summary, ApprovalApproved)
}

// Reject rejects the pending approval (see Approve); the action and the execution
// fail.
func (e *Engine) Reject(ctx context.Context, executionID, stage, action, who, summary string) error {
	return e.decide(ctx, "reject", executionID, stage, action, who, summary, ApprovalRejected)
}

func (e *Engine) decide(ctx context.Context, verb, id, stage, action, who, summary string, status ApprovalStatus) error {
	if strings.TrimSpace(who) == "" {
		return fmt.Errorf("%s %s: who decides is required: %w", verb, id, ErrBadRequest)
	}
	err := e.store.Update(ctx, func(t Tx) error {
		all, err := t.Approvals(id)
		if err != nil {
			return err
		}
		var pending []*ApprovalRecord
		for _, a := range all {
			if a.Status == ApprovalNeeded && matches(a, stage, action) {
				pending = append(pending, a)
			}
		}
		switch {
		case len(pending) == 0:
			return e.describeNoApproval(t, id, stage, action, all)
		case len(pending) > 1:
			var names []string
			for _, a := range pending {
				names = append(names, a.Stage+"/"+a.Action)
			}
			return fmt.Errorf("several approvals pending (%s): name the stage and action: %w", strings.Join(names, ", "), ErrBadRequest)
		}
		a := pending[0]
		a.Status, a.DecidedBy, a.DecidedAt, a.Summary = status, who, e.now(), summary
		return t.PutApproval(a)
	})
	if err != nil {
		return fmt.Errorf("%s %s: %w", verb, id, err)
	}
	return nil
}

func matches(a *ApprovalRecord, stage, action string) bool {
	return (stage == "" || a.Stage == stage) && (action == "" || a.Action == action)
}

// describeNoApproval says why nothing waits for a decision: the execution was
// superseded or finished, the approval was decided already, or it never asked.
func (e *Engine) describeNoApproval(t Tx, id, stage, action string, all []*ApprovalRecord) error {
	ex, err := t.Execution(id)
	if err != nil {
		return err
	}
	where := "execution " + id
	if stage != "" || action != "" {
		where = fmt.Sprintf("%s/%s", stage, action)
	}
	var last *ApprovalRecord
	for _, a := range all {
		if matches(a, stage, action) {
			last = a
		}
	}
	switch {
	case ex.Status == StatusSuperseded:
		return &ApprovalRefusedError{Reason: RefusedSuperseded, Detail: fmt.Sprintf("nothing waits for an approval at %s: %s", where, ex.StatusSummary)}
	case ex.Status.Final():
		return &ApprovalRefusedError{Reason: RefusedFinished, Detail: fmt.Sprintf("nothing waits for an approval at %s: the execution is %s", where, ex.Status)}
	case last != nil && last.DecidedBy != "":
		return &ApprovalRefusedError{Reason: RefusedDecided, Detail: fmt.Sprintf("the approval at %s/%s was %s by %s", last.Stage, last.Action, strings.ToLower(string(last.Status)), last.DecidedBy)}
	}
	detail := fmt.Sprintf("nothing waits for an approval at %s", where)
	w, err := e.waitOf(t, ex)
	switch {
	case err != nil:
		return err
	case w != nil && w.HeldBy != "":
		detail += fmt.Sprintf(": the execution is blocked by execution %s, which holds stage %s", w.HeldBy, w.Stage)
	case w != nil:
		detail += ": the execution is " + w.Reason
	}
	return &ApprovalRefusedError{Reason: RefusedNotWaiting, Detail: detail}
}
