package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Pipelines is the pipeline engine's store (pipeline.Store) on this file.
func (db *DB) Pipelines() pipeline.Store { return pipelineStore{db} }

// pipelineStore implements pipeline.Store.
type pipelineStore struct{ db *DB }

// Update runs fn in one immediate (write-locking) transaction: every decision that
// reads state and then changes it goes through here.
func (s pipelineStore) Update(ctx context.Context, fn func(pipeline.Tx) error) error {
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		return fn(&pipelineTx{ctx: ctx, tx: tx})
	})
}

// View runs fn in a read-only transaction: a consistent snapshot that does not
// block writers in other processes.
func (s pipelineStore) View(ctx context.Context, fn func(pipeline.Tx) error) error {
	tx, err := s.db.sql.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(&pipelineTx{ctx: ctx, tx: tx})
}

func (s pipelineStore) AppendEvent(ctx context.Context, e event.Event) (event.Event, error) {
	return s.db.AppendEvent(ctx, e)
}

func (s pipelineStore) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	return s.db.Events(ctx, q)
}

// pipelineTx is one transaction over the pipeline tables. The engine composes its
// decisions (stage locks, superseding, retries) from these reads and writes inside
// a single transaction, so that several processes sharing the file agree.
type pipelineTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (t *pipelineTx) exec(query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, query, args...)
}

func (t *pipelineTx) query(query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, query, args...)
}

// encodeJSON returns "" for empty values so that columns stay readable.
func encodeJSON[T any](v map[string]T) (string, error) {
	if len(v) == 0 {
		return "", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeJSON[T any](s string, into *map[string]T) error {
	if s == "" {
		*into = nil
		return nil
	}
	return json.Unmarshal([]byte(s), into)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// AppendEvent stores e inside the transaction, so that an event and the state
// change it reports commit together (or not at all).
func (t *pipelineTx) AppendEvent(e event.Event) (event.Event, error) {
	data, err := encodeJSON(e.Data)
	if err != nil {
		return e, fmt.Errorf("encode event data: %w", err)
	}
	res, err := t.exec(`INSERT INTO events(time, kind, status, pipeline, execution_id, stage, action, deployment_id, grp, name, message, data)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		formatTime(e.Time), string(e.Kind), e.Status, e.Pipeline, e.ExecutionID, e.Stage, e.Action, e.DeploymentID, e.Group, e.Name, e.Message, data)
	if err != nil {
		return e, fmt.Errorf("append event: %w", err)
	}
	e.Seq, err = res.LastInsertId()
	return e, err
}
