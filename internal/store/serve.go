package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// What `greenlight serve` reads of the executions for routing, polling and its
// metrics: small queries over the pipeline tables, none of them the engine's.

// ExecutionPipeline returns the pipeline an execution belongs to, or an error
// wrapping ErrNotFound.
func (db *DB) ExecutionPipeline(ctx context.Context, id string) (string, error) {
	var name string
	err := db.sql.QueryRowContext(ctx, `SELECT pipeline FROM pipeline_executions WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("execution %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("execution %s: %w", id, err)
	}
	return name, nil
}

// RevisionRequested reports whether an execution of pipeline was asked to run
// revision (a commit id) already.
func (db *DB) RevisionRequested(ctx context.Context, pipeline, revision string) (bool, error) {
	var n int
	err := db.sql.QueryRowContext(ctx, `SELECT count(*) FROM pipeline_executions WHERE pipeline = ? AND requested_revision = ?`,
		pipeline, revision).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("executions of %s at %s: %w", pipeline, revision, err)
	}
	return n > 0, nil
}

// ExecutionCount is how many executions of a pipeline have a status.
type ExecutionCount struct {
	Pipeline, Status string
	Count            int
}

// ExecutionCounts counts executions by pipeline and status.
func (db *DB) ExecutionCounts(ctx context.Context) ([]ExecutionCount, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT pipeline, status, count(*) FROM pipeline_executions GROUP BY pipeline, status`)
	if err != nil {
		return nil, fmt.Errorf("count executions: %w", err)
	}
	defer rows.Close()
	var out []ExecutionCount
	for rows.Next() {
		var c ExecutionCount
		if err := rows.Scan(&c.Pipeline, &c.Status, &c.Count); err != nil {
			return nil, fmt.Errorf("count executions: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RunDuration is how long one ended stage run or action attempt took. Action is
// "" for a stage.
type RunDuration struct {
	Pipeline, Stage, Action, Status string
	Duration                        time.Duration
}

// RunDurations returns the duration of every ended stage run and action attempt.
func (db *DB) RunDurations(ctx context.Context) ([]RunDuration, error) {
	rows, err := db.sql.QueryContext(ctx, `
		SELECT pipeline, stage, '', status, started_at, ended_at FROM pipeline_stage_runs WHERE ended_at != ''
		UNION ALL
		SELECT e.pipeline, a.stage, a.action, a.status, a.started_at, a.ended_at
		FROM pipeline_action_runs a JOIN pipeline_executions e ON e.id = a.execution_id
		WHERE a.ended_at != '' AND a.started_at != ''`)
	if err != nil {
		return nil, fmt.Errorf("run durations: %w", err)
	}
	defer rows.Close()
	var out []RunDuration
	for rows.Next() {
		var r RunDuration
		var started, ended string
		if err := rows.Scan(&r.Pipeline, &r.Stage, &r.Action, &r.Status, &started, &ended); err != nil {
			return nil, fmt.Errorf("run durations: %w", err)
		}
		r.Duration = parseTime(ended).Sub(parseTime(started))
		out = append(out, r)
	}
	return out, rows.Err()
}
