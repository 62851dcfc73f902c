package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PipelineExecution is one execution of a pipeline.
type PipelineExecution struct {
	Seq               int64 // creation order: a higher Seq is a newer execution
	ID                string
	Pipeline          string
	Mode              string // execution mode the execution started under
	Status            string
	StatusSummary     string
	Trigger           string
	TriggerDetail     string
	RequestedRevision string
	SourceRevision    map[string]string
	Variables         map[string]string
	// StageIndex is the stage the execution is in or, when Waiting, in front of.
	StageIndex   int
	Waiting      bool
	WaitingSince time.Time
	StopMode     string // "", "wait" or "abandon"
	StopReason   string
	Owner        ExecutionOwner
	StartedAt    time.Time
	UpdatedAt    time.Time
	EndedAt      time.Time
}

// ExecutionOwner identifies the process driving an execution.
type ExecutionOwner struct {
	ID        string // one engine instance
	PID       int
	Start     uint64 // process start time (clock ticks since boot, /proc/<pid>/stat)
	Host      string
	Heartbeat time.Time
}

const executionColumns = `seq, id, pipeline, mode, status, status_summary, trigger_type, trigger_detail,
	requested_revision, source_revision, variables, stage_index, waiting, waiting_since, stop_mode, stop_reason,
	owner_id, owner_pid, owner_start, owner_host, heartbeat_at, started_at, updated_at, ended_at`

// InsertExecution records a new execution; e.Seq is set from the row.
func (t *PipelineTx) InsertExecution(e *PipelineExecution) error {
	src, vars, err := encodeExecutionMaps(e)
	if err != nil {
		return err
	}
	res, err := t.exec(`INSERT INTO pipeline_executions(id, pipeline, mode, status, status_summary, trigger_type, trigger_detail,
		requested_revision, source_revision, variables, stage_index, waiting, waiting_since, stop_mode, stop_reason,
		owner_id, owner_pid, owner_start, owner_host, heartbeat_at, started_at, updated_at, ended_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		e.ID, e.Pipeline, e.Mode, e.Status, e.StatusSummary, e.Trigger, e.TriggerDetail,
		e.RequestedRevision, src, vars, e.StageIndex, boolInt(e.Waiting), formatTime(e.WaitingSince), e.StopMode, e.StopReason,
		e.Owner.ID, e.Owner.PID, int64(e.Owner.Start), e.Owner.Host, formatTime(e.Owner.Heartbeat),
		formatTime(e.StartedAt), formatTime(e.UpdatedAt), formatTime(e.EndedAt))
	if err != nil {
		return fmt.Errorf("insert execution %s: %w", e.ID, err)
	}
	e.Seq, err = res.LastInsertId()
	return err
}

// UpdateExecution writes every mutable field of e.
func (t *PipelineTx) UpdateExecution(e *PipelineExecution) error {
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
		return fmt.Errorf("update execution %s: %w", e.ID, ErrNotFound)
	}
	return nil
}

// Heartbeat records that ownerID still drives execution id. It reports false when
// the execution has another owner now (it was taken over).
func (t *PipelineTx) Heartbeat(id, ownerID string, at time.Time) (bool, error) {
	res, err := t.exec(`UPDATE pipeline_executions SET heartbeat_at=? WHERE id=? AND owner_id=?`, formatTime(at), id, ownerID)
	if err != nil {
		return false, fmt.Errorf("heartbeat %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Execution returns one execution, or ErrNotFound.
func (t *PipelineTx) Execution(id string) (*PipelineExecution, error) {
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions WHERE id=?`, id)
	if err != nil {
		return nil, fmt.Errorf("read execution %s: %w", id, err)
	}
	list, err := scanExecutions(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("execution %s: %w", id, ErrNotFound)
	}
	return list[0], nil
}

// ExecutionsWithStatus returns the executions of pipeline in one of statuses, oldest
// first.
func (t *PipelineTx) ExecutionsWithStatus(pipeline string, statuses ...string) ([]*PipelineExecution, error) {
	if len(statuses) == 0 {
		return nil, errors.New("executions with status: no status given")
	}
	args := append([]any{pipeline}, pipelineArgs(statuses)...)
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions
		WHERE pipeline=? AND status IN (`+pipelinePlaceholders(len(statuses))+`) ORDER BY seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return scanExecutions(rows)
}

// RecentExecutions returns up to limit executions of pipeline, newest first; every
// pipeline's when pipeline is "".
func (t *PipelineTx) RecentExecutions(pipeline string, limit int) ([]*PipelineExecution, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := t.query(`SELECT `+executionColumns+` FROM pipeline_executions
		WHERE (?='' OR pipeline=?) ORDER BY seq DESC LIMIT ?`, pipeline, pipeline, limit)
	if err != nil {
		return nil, fmt.Errorf("list executions: %w", err)
	}
	return scanExecutions(rows)
}

func scanExecutions(rows *sql.Rows) ([]*PipelineExecution, error) {
	defer rows.Close()
	var out []*PipelineExecution
	for rows.Next() {
		var e PipelineExecution
		var src, vars, waitingSince, heartbeat, started, updated, ended string
		var waiting int
		var ownerStart int64
		err := rows.Scan(&e.Seq, &e.ID, &e.Pipeline, &e.Mode, &e.Status, &e.StatusSummary, &e.Trigger, &e.TriggerDetail,
			&e.RequestedRevision, &src, &vars, &e.StageIndex, &waiting, &waitingSince, &e.StopMode, &e.StopReason,
			&e.Owner.ID, &e.Owner.PID, &ownerStart, &e.Owner.Host, &heartbeat, &started, &updated, &ended)
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

func encodeExecutionMaps(e *PipelineExecution) (src, vars string, err error) {
	if src, err = encodeJSON(e.SourceRevision); err != nil {
		return "", "", fmt.Errorf("encode execution %s source revision: %w", e.ID, err)
	}
	if vars, err = encodeJSON(e.Variables); err != nil {
		return "", "", fmt.Errorf("encode execution %s variables: %w", e.ID, err)
	}
	return src, vars, nil
}
