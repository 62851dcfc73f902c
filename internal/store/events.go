package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/event"
)

const eventsSchema = `
CREATE TABLE events (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	time          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	status        TEXT NOT NULL DEFAULT '',
	pipeline      TEXT NOT NULL DEFAULT '',
	execution_id  TEXT NOT NULL DEFAULT '',
	stage         TEXT NOT NULL DEFAULT '',
	action        TEXT NOT NULL DEFAULT '',
	deployment_id TEXT NOT NULL DEFAULT '',
	grp           TEXT NOT NULL DEFAULT '',
	name          TEXT NOT NULL DEFAULT '',
	message       TEXT NOT NULL DEFAULT '',
	data          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_execution ON events(execution_id, seq);
CREATE INDEX events_deployment ON events(deployment_id, seq);
`

// AppendEvent stores e and returns it with its sequence number.
func (db *DB) AppendEvent(ctx context.Context, e event.Event) (event.Event, error) {
	data := ""
	if len(e.Data) > 0 {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return e, fmt.Errorf("encode event data: %w", err)
		}
		data = string(b)
	}
	res, err := db.sql.ExecContext(ctx, `INSERT INTO events(time, kind, status, pipeline, execution_id, stage, action, deployment_id, grp, name, message, data)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		formatTime(e.Time), string(e.Kind), e.Status, e.Pipeline, e.ExecutionID, e.Stage, e.Action, e.DeploymentID, e.Group, e.Name, e.Message, data)
	if err != nil {
		return e, fmt.Errorf("append event: %w", err)
	}
	e.Seq, err = res.LastInsertId()
	return e, err
}

// Events returns the events f selects in the order they happened.
func (db *DB) Events(ctx context.Context, f event.Query) ([]event.Event, error) {
	var where []string
	var args []any
	where = append(where, "seq > ?")
	args = append(args, f.AfterSeq)
	if f.ExecutionID != "" {
		where = append(where, "execution_id = ?")
		args = append(args, f.ExecutionID)
	}
	if len(f.DeploymentIDs) > 0 {
		where = append(where, "deployment_id IN ("+placeholders(len(f.DeploymentIDs))+")")
		args = append(args, toAny(f.DeploymentIDs)...)
	}
	if len(f.Kinds) > 0 {
		where = append(where, "kind IN ("+placeholders(len(f.Kinds))+")")
		args = append(args, toAny(f.Kinds)...)
	}
	q := `SELECT seq, time, kind, status, pipeline, execution_id, stage, action, deployment_id, grp, name, message, data FROM events WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY seq`
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := db.sql.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scanEvent(rows *sql.Rows) (event.Event, error) {
	var e event.Event
	var t, kind, data string
	if err := rows.Scan(&e.Seq, &t, &kind, &e.Status, &e.Pipeline, &e.ExecutionID, &e.Stage, &e.Action, &e.DeploymentID, &e.Group, &e.Name, &e.Message, &data); err != nil {
		return e, fmt.Errorf("scan event: %w", err)
	}
	e.Time, e.Kind = parseTime(t), event.Kind(kind)
	if data != "" {
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return e, fmt.Errorf("decode event %d data: %w", e.Seq, err)
		}
	}
	return e, nil
}

// EventSink returns a sink that stores every event; a failed write is reported to
// onErr (events are the audit log: losing one silently is not acceptable).
func (db *DB) EventSink(ctx context.Context, onErr func(error)) event.Sink {
	return event.SinkFunc(func(e event.Event) {
		if _, err := db.AppendEvent(ctx, e); err != nil && onErr != nil {
			onErr(err)
		}
	})
}
