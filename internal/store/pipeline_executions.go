package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

const executionColumns = `seq, id, pipeline, mode, status, status_summary, trigger_type, trigger_detail,
	requested_revision, source_revision, variables, stage_index, waiting, waiting_since, stop_mode, stop_reason,
	owner_id, owner_pid, owner_start, owner_host, heartbeat_at, started_at, updated_at, ended_at, requested_ref`

// InsertExecution records a new execution; e.Seq is set from the row.
func (t *pipelineTx) InsertExecution(e *pipeline.ExecutionRecord) error {
	src, vars, err := encodeExecutionMaps(e)
	if err != nil {
		return err
	}
	res, err := t.exec(`INSERT INTO pipeline_executions(id, pipeline, mode, status, status_summary, trigger_type, trigger_detail,
		requested_revision, source_revision, variables, stage_index, waiting, waiting_since, stop_mode, stop_reason,
		owner_id, owner_pid, owner_start, owner_host, heartbeat_at, started_at, updated_at, ended_at, requested_ref)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.Pipeline, e.Mode, e.Status, e.StatusSummary, e.Trigger, e.TriggerDetail,
		e.RequestedRevision, src, vars, e.StageIndex, boolInt(e.Waiting), formatTime(e.WaitingSince), e.StopMode, e.StopReason,
		e.Owner.ID, e.Owner.PID, int64(e.Owner.Start), e.Owner.Host, formatTime(e.Owner.Heartbeat),
		formatTime(e.StartedAt), formatTime(e.UpdatedAt), formatTime(e.EndedAt), e.Ref)
	if err != nil {
		return fmt.Errorf("insert execution %s: %w", e.ID, err)
	}
	e.Seq, err = res.LastInsertId()
	return err
}

// UpdateExecution writes every mutable field of e.
func (t *pipelineTx) UpdateExecution(e *pipeline.ExecutionRecord) error {
	src, vars, err := encodeExecutionMaps(e)
	if err != nil {
		return err
	}
	res, err := t.exec(`UPDATE pipeline_executions SET status=?, status_summary=?, source_revision=?, variables=?,
		stage_index=?, waiting=?, waiting_since=?, stop_mode=?, stop_reason=?,
		owner_id=?, owner_pid=?, owner_start=?, owner_host=?, heartbeat_at=?, updated_at=?, ended_at=?
		WHERE id=?`,
		e.Status, e.StatusSummary, src, vars, e.StageIndex, boolInt(e.Waiting), formatTime(e.WaitingSince),
		e.StopMode, e.StopReason, e.Owner.ID, e.Owner.PID, int64(e.Owner.Start), e.Owner.Host,
		formatTime(e.Owner.Heartbeat), formatTime(e.UpdatedAt), formatTime(e.EndedAt), e.ID)
	if err != nil {
		return fmt.Errorf("update execution %s: %w", e.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update execution %s: %w", e.ID, pipeline.ErrNotFound)
	}
	return nil
}

// Heartbeat records that ownerID still drives execution id. It reports false when
// the execution has another owner now (it was taken over).
func (t *pipelineTx) Heartbeat(id, ownerID string, at time.Time) (bool, error) {
	res, err := t.exec(`UPDATE pipeline_executions SET heartbeat_at=? WHERE id=? AND owner_id=?`, formatTime(at), id, ownerID)
	if err != nil {
		return false, fmt.Errorf("heartbeat %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Execution returns one execution, or pipeline.ErrNotFound.
func (t *pipelineTx) Execution(id string) (*pipeline.ExecutionRecord, error) {
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions WHERE id=?`, id)
	if err != nil {
		return nil, fmt.Errorf("read execution %s: %w", id, err)
	}
	list, err := scanExecutions(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("execution %s: %w", id, pipeline.ErrNotFound)
	}
	return list[0], nil
}

// ExecutionsWithStatus returns the executions of pipeline in one of statuses, oldest
// first.
func (t *pipelineTx) ExecutionsWithStatus(name string, statuses ...pipeline.Status) ([]*pipeline.ExecutionRecord, error) {
	if len(statuses) == 0 {
		return nil, errors.New("executions with status: no status given")
	}
	args := append([]any{name}, toAny(statuses)...)
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions
		WHERE pipeline=? AND status IN (`+placeholders(len(statuses))+`) ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return scanExecutions(rows)
}

// ListExecutions returns up to limit executions of name, newest first, older than
// beforeSeq when it is not 0; every pipeline's when name is "".
func (t *pipelineTx) ListExecutions(name string, beforeSeq int64, limit int) ([]*pipeline.ExecutionRecord, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions
		WHERE (?='' OR pipeline=?) AND (?=0 OR seq<?) ORDER BY seq DESC LIMIT ?`, name, name, beforeSeq, beforeSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return scanExecutions(rows)
}

func scanExecutions(rows *sql.Rows) ([]*pipeline.ExecutionRecord, error) {
	defer rows.Close()
	var out []*pipeline.ExecutionRecord
	for rows.Next() {
		var e pipeline.ExecutionRecord
		var src, vars, waitingSince, heartbeat, started, updated, ended string
		var waiting int
		var ownerStart int64
		err := rows.Scan(&e.Seq, &e.ID, &e.Pipeline, &e.Mode, &e.Status, &e.StatusSummary, &e.Trigger, &e.TriggerDetail,
			&e.RequestedRevision, &src, &vars, &e.StageIndex, &waiting, &waitingSince, &e.StopMode, &e.StopReason,
			&e.Owner.ID, &e.Owner.PID, &ownerStart, &e.Owner.Host, &heartbeat, &started, &updated, &ended, &e.Ref)
		if err != nil {
			return nil, fmt.Errorf("scan execution: %w", err)
		}
		e.Waiting, e.Owner.Start = waiting != 0, uint64(ownerStart)
		e.WaitingSince, e.Owner.Heartbeat = parseTime(waitingSince), parseTime(heartbeat)
		e.StartedAt, e.UpdatedAt, e.EndedAt = parseTime(started), parseTime(updated), parseTime(ended)
		if err := decodeJSON(src, &e.SourceRevision); err != nil {
			return nil, fmt.Errorf("decode execution %s source revision: %w", e.ID, err)
		}
		if err := decodeJSON(vars, &e.Variables); err != nil {
			return nil, fmt.Errorf("decode execution %s variables: %w", e.ID, err)
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

func encodeExecutionMaps(e *pipeline.ExecutionRecord) (src, vars string, err error) {
	if src, err = encodeJSON(e.SourceRevision); err != nil {
		return "", "", fmt.Errorf("encode execution %s source revision: %w", e.ID, err)
	}
	if vars, err = encodeJSON(e.Variables); err != nil {
		return "", "", fmt.Errorf("encode execution %s variables: %w", e.ID, err)
	}
	return src, vars, nil
}
