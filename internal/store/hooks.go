package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/hookrun"
)

// hooksSchema holds the lifecycle hook executions of HTTP hooks: each waits
// for a result (a hook that answers 202 reports it later, through the control
// surface) until it has one or its timeout passes.
const hooksSchema = `
CREATE TABLE hook_executions (
	deployment_id   TEXT NOT NULL,
	execution_id    TEXT NOT NULL,
	lifecycle_event TEXT NOT NULL,
	hook            TEXT NOT NULL DEFAULT '',
	state           TEXT NOT NULL,
	started_at      TEXT NOT NULL,
	finished_at     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (deployment_id, execution_id)
);
`

// HookWaits adapts the DB to hookrun.Waits.
type HookWaits struct{ DB *DB }

var _ hookrun.Waits = HookWaits{}

// OpenWait records the hook execution as waiting, replacing what an earlier
// attempt under the same id left.
func (h HookWaits) OpenWait(ctx context.Context, w hookrun.Wait) error {
	_, err := h.DB.sql.ExecContext(ctx, `INSERT INTO hook_executions(deployment_id, execution_id, lifecycle_event, hook, state, started_at, finished_at)
		VALUES (?, ?, ?, ?, ?, ?, '')
		ON CONFLICT(deployment_id, execution_id) DO UPDATE SET
			lifecycle_event = excluded.lifecycle_event, hook = excluded.hook, state = excluded.state,
			started_at = excluded.started_at, finished_at = ''`,
		w.DeploymentID, w.ExecutionID, w.LifecycleEvent, w.Hook, string(hookrun.WaitWaiting), formatTime(w.Started))
	if err != nil {
		return fmt.Errorf("open wait of hook execution %s: %w", w.ExecutionID, err)
	}
	return nil
}

// WaitState returns the hook execution's state.
func (h HookWaits) WaitState(ctx context.Context, deploymentID, executionID string) (hookrun.WaitState, error) {
	state, err := waitState(ctx, h.DB.sql, deploymentID, executionID)
	if err != nil {
		return "", fmt.Errorf("hook execution %s of %s: %w", executionID, deploymentID, err)
	}
	return state, nil
}

// FinishWait moves a waiting hook execution to state, in one transaction: of
// two reports (or a report and the timeout) exactly one finds it waiting.
func (h HookWaits) FinishWait(ctx context.Context, deploymentID, executionID string, state hookrun.WaitState) error {
	if !state.Done() {
		return fmt.Errorf("finish hook execution %s as %s: not a final state", executionID, state)
	}
	err := h.DB.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE hook_executions SET state = ?, finished_at = ?
			WHERE deployment_id = ? AND execution_id = ? AND state = ?`,
			string(state), formatTime(time.Now()), deploymentID, executionID, string(hookrun.WaitWaiting))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		was, err := waitState(ctx, tx, deploymentID, executionID)
		if err != nil {
			return err
		}
		return fmt.Errorf("it is %s: %w", was, hookrun.ErrNoLongerWaiting)
	})
	if err != nil {
		return fmt.Errorf("hook execution %s of %s: %w", executionID, deploymentID, err)
	}
	return nil
}

// HookExecution is a hook execution's record, for reading it back.
type HookExecution struct {
	hookrun.Wait
	State    hookrun.WaitState
	Finished time.Time
}

// HookExecutions returns a deployment's hook executions in the order they
// started.
func (h HookWaits) HookExecutions(ctx context.Context, deploymentID string) ([]HookExecution, error) {
	out, err := queryAll(ctx, h.DB.sql, scanHookExecution, `SELECT deployment_id, execution_id, lifecycle_event, hook, state, started_at, finished_at
		FROM hook_executions WHERE deployment_id = ? ORDER BY started_at`, deploymentID)
	if err != nil {
		return nil, fmt.Errorf("hook executions of %s: %w", deploymentID, err)
	}
	return out, nil
}

func scanHookExecution(row rowScanner) (HookExecution, error) {
	var e HookExecution
	var state, started, finished string
	err := row.Scan(&e.DeploymentID, &e.ExecutionID, &e.LifecycleEvent, &e.Hook, &state, &started, &finished)
	e.State, e.Started, e.Finished = hookrun.WaitState(state), parseTime(started), parseTime(finished)
	return e, err
}

// rowQuerier is what both *sql.DB and *sql.Tx answer.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func waitState(ctx context.Context, q rowQuerier, deploymentID, executionID string) (hookrun.WaitState, error) {
	var state string
	err := q.QueryRowContext(ctx, `SELECT state FROM hook_executions WHERE deployment_id = ? AND execution_id = ?`,
		deploymentID, executionID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", hookrun.ErrNoWait
	}
	return hookrun.WaitState(state), err
}
