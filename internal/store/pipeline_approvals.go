package store

import (
	"fmt"
	"time"
)

// PipelineApproval is the request and decision of one Manual approval attempt.
type PipelineApproval struct {
	ExecutionID        string
	Stage              string
	Action             string
	Attempt            int
	Status             string
	CustomData         string
	ExternalEntityLink string
	NotificationArn    string
	RequestedAt        time.Time
	ExpiresAt          time.Time
	DecidedBy          string
	DecidedAt          time.Time
	Summary            string
}

// PutApproval inserts or replaces the approval of (ExecutionID, Stage, Action, Attempt).
func (t *PipelineTx) PutApproval(a *PipelineApproval) error {
	_, err := t.exec(`INSERT INTO pipeline_approvals(execution_id, stage, action, attempt, status, custom_data, external_entity_link,
		notification_arn, requested_at, expires_at, decided_by, decided_at, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(execution_id, stage, action, attempt) DO UPDATE SET status=excluded.status, custom_data=excluded.custom_data,
			external_entity_link=excluded.external_entity_link, notification_arn=excluded.notification_arn,
			requested_at=excluded.requested_at, expires_at=excluded.expires_at, decided_by=excluded.decided_by,
			decided_at=excluded.decided_at, summary=excluded.summary`,
		a.ExecutionID, a.Stage, a.Action, a.Attempt, a.Status, a.CustomData, a.ExternalEntityLink, a.NotificationArn,
		formatTime(a.RequestedAt), formatTime(a.ExpiresAt), a.DecidedBy, formatTime(a.DecidedAt), a.Summary)
	if err != nil {
		return fmt.Errorf("write approval %s/%s/%s#%d: %w", a.ExecutionID, a.Stage, a.Action, a.Attempt, err)
	}
	return nil
}

// CloseApprovals sets status on the approvals of one action attempt that are still
// in status from (an abandoned or failed action no longer waits for a decision).
func (t *PipelineTx) CloseApprovals(id, stage, action string, attempt int, from, status string) error {
	_, err := t.exec(`UPDATE pipeline_approvals SET status=? WHERE execution_id=? AND stage=? AND action=? AND attempt=? AND status=?`,
		status, id, stage, action, attempt, from)
	if err != nil {
		return fmt.Errorf("close approvals of %s/%s#%d: %w", stage, action, attempt, err)
	}
	return nil
}

// Approvals returns every approval of execution id, oldest first.
func (t *PipelineTx) Approvals(id string) ([]*PipelineApproval, error) {
	rows, err := t.query(`SELECT execution_id, stage, action, attempt, status, custom_data, external_entity_link, notification_arn,
		requested_at, expires_at, decided_by, decided_at, summary FROM pipeline_approvals WHERE execution_id=?
		ORDER BY requested_at, stage, action, attempt`, id)
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*PipelineApproval
	for rows.Next() {
		var a PipelineApproval
		var requested, expires, decided string
		err := rows.Scan(&a.ExecutionID, &a.Stage, &a.Action, &a.Attempt, &a.Status, &a.CustomData, &a.ExternalEntityLink,
			&a.NotificationArn, &requested, &expires, &a.DecidedBy, &decided, &a.Summary)
		if err != nil {
			return nil, fmt.Errorf("scan approval: %w", err)
		}
		a.RequestedAt, a.ExpiresAt, a.DecidedAt = parseTime(requested), parseTime(expires), parseTime(decided)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// Approval returns the approval of one action attempt, or ErrNotFound.
func (t *PipelineTx) Approval(id, stage, action string, attempt int) (*PipelineApproval, error) {
	all, err := t.Approvals(id)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.Stage == stage && a.Action == action && a.Attempt == attempt {
			return a, nil
		}
	}
	return nil, fmt.Errorf("approval %s/%s/%s#%d: %w", id, stage, action, attempt, ErrNotFound)
}
