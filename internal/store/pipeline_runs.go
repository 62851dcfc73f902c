package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// PutStageRun inserts or replaces the stage run of (ExecutionID, Stage).
func (t *pipelineTx) PutStageRun(r *pipeline.StageRecord) error {
	_, err := t.exec(`INSERT INTO pipeline_stage_runs(execution_id, stage, pipeline, idx, attempt, status, message, retry_mode, started_at, ended_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(execution_id, stage) DO UPDATE SET idx=excluded.idx, attempt=excluded.attempt, status=excluded.status,
			message=excluded.message, retry_mode=excluded.retry_mode, started_at=excluded.started_at, ended_at=excluded.ended_at`,
		r.ExecutionID, r.Stage, r.Pipeline, r.Index, r.Attempt, r.Status, r.Message, r.RetryMode, formatTime(r.StartedAt), formatTime(r.EndedAt))
	if err != nil {
		return fmt.Errorf("write stage run %s/%s: %w", r.ExecutionID, r.Stage, err)
	}
	return nil
}

// StageRun returns the run of stage in execution id, or pipeline.ErrNotFound.
func (t *pipelineTx) StageRun(id, stage string) (*pipeline.StageRecord, error) {
	rows, err := t.query(`SELECT `+stageRunColumns+` FROM pipeline_stage_runs WHERE execution_id=? AND stage=?`, id, stage)
	if err != nil {
		return nil, fmt.Errorf("read stage run %s/%s: %w", id, stage, err)
	}
	list, err := scanStageRuns(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("stage run %s/%s: %w", id, stage, pipeline.ErrNotFound)
	}
	return list[0], nil
}

// StageRuns returns every stage run of execution id in stage order.
func (t *pipelineTx) StageRuns(id string) ([]*pipeline.StageRecord, error) {
	rows, err := t.query(`SELECT `+stageRunColumns+` FROM pipeline_stage_runs WHERE execution_id=? ORDER BY idx`, id)
	if err != nil {
		return nil, fmt.Errorf("list stage runs of %s: %w", id, err)
	}
	return scanStageRuns(rows)
}

// StageRunsWithStatus returns the stage runs of pipeline's stage in one of statuses.
func (t *pipelineTx) StageRunsWithStatus(name, stage string, statuses ...pipeline.Status) ([]*pipeline.StageRecord, error) {
	if len(statuses) == 0 {
		return nil, errors.New("stage runs with status: no status given")
	}
	args := append([]any{name, stage}, toAny(statuses)...)
	rows, err := t.query(`SELECT `+stageRunColumns+` FROM pipeline_stage_runs
		WHERE pipeline=? AND stage=? AND status IN (`+placeholders(len(statuses))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("list stage runs of %s/%s: %w", name, stage, err)
	}
	return scanStageRuns(rows)
}

const stageRunColumns = `execution_id, pipeline, stage, idx, attempt, status, message, retry_mode, started_at, ended_at`

func scanStageRuns(rows *sql.Rows) ([]*pipeline.StageRecord, error) {
	defer rows.Close()
	var out []*pipeline.StageRecord
	for rows.Next() {
		var r pipeline.StageRecord
		var started, ended string
		if err := rows.Scan(&r.ExecutionID, &r.Pipeline, &r.Stage, &r.Index, &r.Attempt, &r.Status, &r.Message, &r.RetryMode, &started, &ended); err != nil {
			return nil, fmt.Errorf("scan stage run: %w", err)
		}
		r.StartedAt, r.EndedAt = parseTime(started), parseTime(ended)
		out = append(out, &r)
	}
	return out, rows.Err()
}

// PutActionRun inserts or replaces the attempt (ExecutionID, Stage, Action, Attempt).
func (t *pipelineTx) PutActionRun(r *pipeline.ActionRecord) error {
	vars, err := encodeJSON(r.OutputVariables)
	if err != nil {
		return fmt.Errorf("encode output variables of %s/%s: %w", r.Stage, r.Action, err)
	}
	data, err := encodeJSON(r.Data)
	if err != nil {
		return fmt.Errorf("encode data of %s/%s: %w", r.Stage, r.Action, err)
	}
	procs, err := encodeProcesses(r.Processes)
	if err != nil {
		return fmt.Errorf("encode processes of %s/%s: %w", r.Stage, r.Action, err)
	}
	_, err = t.exec(`INSERT INTO pipeline_action_runs(execution_id, stage, action, attempt, run_order, provider, status, summary,
		error_message, external_id, external_url, output_variables, data, log_path, processes, started_at, ended_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(execution_id, stage, action, attempt) DO UPDATE SET run_order=excluded.run_order, provider=excluded.provider,
			status=excluded.status, summary=excluded.summary, error_message=excluded.error_message, external_id=excluded.external_id,
			external_url=excluded.external_url, output_variables=excluded.output_variables, data=excluded.data,
			log_path=excluded.log_path, processes=excluded.processes, started_at=excluded.started_at, ended_at=excluded.ended_at`,
		r.ExecutionID, r.Stage, r.Action, r.Attempt, r.RunOrder, r.Provider, r.Status, r.Summary,
		r.ErrorMessage, r.ExternalID, r.ExternalURL, vars, data, r.LogPath, procs, formatTime(r.StartedAt), formatTime(r.EndedAt))
	if err != nil {
		return fmt.Errorf("write action run %s/%s/%s#%d: %w", r.ExecutionID, r.Stage, r.Action, r.Attempt, err)
	}
	return nil
}

// SetActionExternalID records the external id of an attempt (a deployment id, a
// build id) before the provider acts on it.
func (t *pipelineTx) SetActionExternalID(id, stage, action string, attempt int, externalID string) error {
	return t.setAttemptColumn("external id", "external_id", externalID, id, stage, action, attempt)
}

// SetActionProcesses replaces the process groups recorded on an attempt; it
// commits before the groups run anything (see pipeline.ActionRun).
func (t *pipelineTx) SetActionProcesses(id, stage, action string, attempt int, groups []pipeline.ProcessGroup) error {
	procs, err := encodeProcesses(groups)
	if err != nil {
		return fmt.Errorf("encode processes of %s/%s#%d: %w", stage, action, attempt, err)
	}
	return t.setAttemptColumn("processes", "processes", procs, id, stage, action, attempt)
}

// setAttemptColumn sets one column (a constant of this file) of an attempt's
// row; what names it in errors.
func (t *pipelineTx) setAttemptColumn(what, column string, value any, id, stage, action string, attempt int) error {
	res, err := t.exec(`UPDATE pipeline_action_runs SET `+column+`=? WHERE execution_id=? AND stage=? AND action=? AND attempt=?`,
		value, id, stage, action, attempt)
	if err != nil {
		return fmt.Errorf("set %s of %s/%s#%d: %w", what, stage, action, attempt, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("set %s of %s/%s#%d: %w", what, stage, action, attempt, pipeline.ErrNotFound)
	}
	return nil
}

func encodeProcesses(groups []pipeline.ProcessGroup) (string, error) {
	if len(groups) == 0 {
		return "", nil
	}
	b, err := json.Marshal(groups)
	return string(b), err
}

func decodeProcesses(s string) ([]pipeline.ProcessGroup, error) {
	if s == "" {
		return nil, nil
	}
	var out []pipeline.ProcessGroup
	return out, json.Unmarshal([]byte(s), &out)
}

// ActionRuns returns every attempt of every action of execution id, by stage,
// action and attempt.
func (t *pipelineTx) ActionRuns(id string) ([]*pipeline.ActionRecord, error) {
	rows, err := t.query(`SELECT execution_id, stage, action, attempt, run_order, provider, status, summary, error_message,
		external_id, external_url, output_variables, data, log_path, processes, started_at, ended_at
		FROM pipeline_action_runs WHERE execution_id=? ORDER BY stage, action, attempt`, id)
	if err != nil {
		return nil, fmt.Errorf("list action runs of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*pipeline.ActionRecord
	for rows.Next() {
		var r pipeline.ActionRecord
		var vars, data, procs, started, ended string
		err := rows.Scan(&r.ExecutionID, &r.Stage, &r.Action, &r.Attempt, &r.RunOrder, &r.Provider, &r.Status, &r.Summary,
			&r.ErrorMessage, &r.ExternalID, &r.ExternalURL, &vars, &data, &r.LogPath, &procs, &started, &ended)
		if err != nil {
			return nil, fmt.Errorf("scan action run: %w", err)
		}
		r.StartedAt, r.EndedAt = parseTime(started), parseTime(ended)
		if err := decodeJSON(vars, &r.OutputVariables); err != nil {
			return nil, fmt.Errorf("decode output variables of %s/%s: %w", r.Stage, r.Action, err)
		}
		if err := decodeJSON(data, &r.Data); err != nil {
			return nil, fmt.Errorf("decode data of %s/%s: %w", r.Stage, r.Action, err)
		}
		if r.Processes, err = decodeProcesses(procs); err != nil {
			return nil, fmt.Errorf("decode processes of %s/%s: %w", r.Stage, r.Action, err)
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}

// PutArtifact records (or, after a retry, replaces) an execution's artifact.
func (t *pipelineTx) PutArtifact(a *pipeline.ArtifactRecord) error {
	_, err := t.exec(`INSERT INTO pipeline_artifacts(execution_id, name, stage, action, attempt, dir, sealed_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT(execution_id, name) DO UPDATE SET stage=excluded.stage, action=excluded.action, attempt=excluded.attempt,
			dir=excluded.dir, sealed_at=excluded.sealed_at`,
		a.ExecutionID, a.Name, a.Stage, a.Action, a.Attempt, a.Dir, formatTime(a.SealedAt))
	if err != nil {
		return fmt.Errorf("record artifact %s of %s: %w", a.Name, a.ExecutionID, err)
	}
	return nil
}

// DeleteArtifact forgets an artifact about to be produced again (a retry).
func (t *pipelineTx) DeleteArtifact(id, name string) error {
	if _, err := t.exec(`DELETE FROM pipeline_artifacts WHERE execution_id=? AND name=?`, id, name); err != nil {
		return fmt.Errorf("forget artifact %s of %s: %w", name, id, err)
	}
	return nil
}

// Artifacts returns the sealed artifacts of execution id by name.
func (t *pipelineTx) Artifacts(id string) ([]*pipeline.ArtifactRecord, error) {
	rows, err := t.query(`SELECT execution_id, name, stage, action, attempt, dir, sealed_at FROM pipeline_artifacts
		WHERE execution_id=? ORDER BY name`, id)
	if err != nil {
		return nil, fmt.Errorf("list artifacts of %s: %w", id, err)
	}
	defer rows.Close()
	var out []*pipeline.ArtifactRecord
	for rows.Next() {
		var a pipeline.ArtifactRecord
		var sealed string
		if err := rows.Scan(&a.ExecutionID, &a.Name, &a.Stage, &a.Action, &a.Attempt, &a.Dir, &sealed); err != nil {
			return nil, fmt.Errorf("scan artifact: %w", err)
		}
		a.SealedAt = parseTime(sealed)
		out = append(out, &a)
	}
	return out, rows.Err()
}
