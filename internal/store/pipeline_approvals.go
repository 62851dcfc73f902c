package store

import (
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// PutApproval inserts or replaces the approval of (ExecutionID, Stage, Action, Attempt).
func (t *pipelineTx) PutApproval(a *pipeline.ApprovalRecord) error {
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
func (t *pipelineTx) CloseApprovals(id, stage, action string, attempt int, from, status pipeline.ApprovalStatus) error {
	_, err := t.exec(`UPDATE pipeline_approvals SET status=? WHERE execution_id=? AND stage=? AND action=? AND attempt=? AND status=?`,
		status, id, stage, action, attempt, from)
	if err != nil {
		return fmt.Errorf("close approvals of %s/%s#%d: %w", stage, action, attempt, err)
	}
	return nil
}

// Approvals returns every approval of execution id, oldest first.
func (t *pipelineTx) Approvals(id string) ([]*pipeline.ApprovalRecord, error) {
	rows, err := t.query(`SELECT execution_id, stage, action, attempt, status, custom_data, external_entity_link, notification_arn,
		requested_at, expires_at, decided_by, decided_at, summary FROM pipeline_approvals WHERE execution_id=?
		ORDER BY requested_at, stage, action, attempt`, id)
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*pipeline.ApprovalRecord
	for rows.Next() {
		var a pipeline.ApprovalRecord
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

// Approval returns the approval of one action attempt, or pipeline.ErrNotFound.
func (t *pipelineTx) Approval(id, stage, action string, attempt int) (*pipeline.ApprovalRecord, error) {
	all, err := t.Approvals(id)
	if err != nil {
		return nil, err
	}
	for _, a := range all {
		if a.Stage == stage && a.Action == action && a.Attempt == attempt {
			return a, nil
		}
	}
	return nil, fmt.Errorf("approval %s/%s/%s#%d: %w", id, stage, action, attempt, pipeline.ErrNotFound)
}
