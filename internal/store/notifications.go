package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/notify"
)

// notificationsSchema is the durable notification queue (internal/notify) and
// the place its follower has read the event log to. A stored event gets one
// delivery per rule target, however often it is queued.
const notificationsSchema = `
CREATE TABLE notification_deliveries (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	event_seq    INTEGER NOT NULL DEFAULT 0,
	event        TEXT NOT NULL,
	rule         TEXT NOT NULL,
	detail_type  TEXT NOT NULL,
	event_type   TEXT NOT NULL,
	target_index INTEGER NOT NULL,
	target       TEXT NOT NULL,
	status       TEXT NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0,
	next_attempt TEXT NOT NULL DEFAULT '',
	lease_until  TEXT NOT NULL DEFAULT '',
	last_error   TEXT NOT NULL DEFAULT '',
	last_status  INTEGER NOT NULL DEFAULT 0,
	payload      BLOB,
	created_at   TEXT NOT NULL,
	updated_at   TEXT NOT NULL
);
CREATE UNIQUE INDEX notification_deliveries_once ON notification_deliveries(event_seq, rule, target_index) WHERE event_seq > 0;
CREATE INDEX notification_deliveries_due ON notification_deliveries(status, next_attempt);

CREATE TABLE notification_cursors (
	name TEXT PRIMARY KEY,
	seq  INTEGER NOT NULL
);
`

// Notifications adapts the DB to notify.Store and notify.EventSource.
type Notifications struct{ DB *DB }

var (
	_ notify.Store       = Notifications{}
	_ notify.EventSource = Notifications{}
	_ notify.Lookup      = Notifications{}
)

const deliveryRowColumns = `seq, event_seq, event, rule, detail_type, event_type, target_index, target, status, attempts,
	next_attempt, last_error, last_status, payload, created_at, updated_at`

// Enqueue inserts pending deliveries, skipping those already queued for a stored
// event.
func (s Notifications) Enqueue(ctx context.Context, ds []notify.Delivery) error {
	return s.DB.Tx(ctx, func(tx *sql.Tx) error {
		for _, d := range ds {
			ev, target, err := encodeDelivery(d)
			if err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO notification_deliveries(event_seq, event, rule, detail_type, event_type,
				target_index, target, status, attempts, next_attempt, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
				d.EventSeq, ev, d.Rule, d.DetailType, d.EventType, d.TargetIndex, target, string(d.Status), d.Attempts,
				formatTime(d.NextAttempt), formatTime(d.Created), formatTime(d.Updated))
			if err != nil {
				return fmt.Errorf("queue notification: %w", err)
			}
		}
		return nil
	})
}

func encodeDelivery(d notify.Delivery) (string, string, error) {
	ev, err := json.Marshal(d.Event)
	if err != nil {
		return "", "", fmt.Errorf("encode notification event: %w", err)
	}
	target, err := json.Marshal(d.Target)
	if err != nil {
		return "", "", fmt.Errorf("encode notification target: %w", err)
	}
	return string(ev), string(target), nil
}

// ClaimDue leases up to limit due pending deliveries.
func (s Notifications) ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]notify.Delivery, error) {
	var out []notify.Delivery
	err := s.DB.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryRowColumns+` FROM notification_deliveries
			WHERE status = ? AND next_attempt <= ? AND lease_until <= ? ORDER BY next_attempt, seq LIMIT ?`,
			string(notify.StatusPending), formatTime(now), formatTime(now), limit)
		if err != nil {
			return err
		}
		out, err = scanEach(rows, scanNotification)
		if err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE notification_deliveries SET lease_until = ? WHERE seq = ?`, formatTime(leaseUntil), d.Seq); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim notifications: %w", err)
	}
	return out, nil
}

func scanNotification(row rowScanner) (notify.Delivery, error) {
	var d notify.Delivery
	var ev, target, status, next, created, updated string
	if err := row.Scan(&d.Seq, &d.EventSeq, &ev, &d.Rule, &d.DetailType, &d.EventType, &d.TargetIndex, &target,
		&status, &d.Attempts, &next, &d.LastError, &d.LastStatus, &d.Payload, &created, &updated); err != nil {
		return d, err
	}
	if err := errors.Join(json.Unmarshal([]byte(ev), &d.Event), json.Unmarshal([]byte(target), &d.Target)); err != nil {
		return d, fmt.Errorf("decode notification %d: %w", d.Seq, err)
	}
	d.Status, d.NextAttempt, d.Created, d.Updated = notify.Status(status), parseTime(next), parseTime(created), parseTime(updated)
	return d, nil
}

// SaveAttempt records an attempt and ends the lease.
func (s Notifications) SaveAttempt(ctx context.Context, d notify.Delivery) error {
	_, err := s.DB.sql.ExecContext(ctx, `UPDATE notification_deliveries SET status = ?, attempts = ?, next_attempt = ?,
		lease_until = '', last_error = ?, last_status = ?, payload = ?, updated_at = ? WHERE seq = ?`,
		string(d.Status), d.Attempts, formatTime(d.NextAttempt), d.LastError, d.LastStatus, d.Payload, formatTime(d.Updated), d.Seq)
	if err != nil {
		return fmt.Errorf("record notification %d: %w", d.Seq, err)
	}
	return nil
}

// RecentDeliveries returns the newest deliveries first.
func (s Notifications) RecentDeliveries(ctx context.Context, limit int) ([]notify.Delivery, error) {
	out, err := queryAll(ctx, s.DB.sql, scanNotification, `SELECT `+deliveryRowColumns+` FROM notification_deliveries ORDER BY seq DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return out, nil
}

// DeliveryCounts counts deliveries by status.
func (s Notifications) DeliveryCounts(ctx context.Context) (map[notify.Status]int, error) {
	rows, err := s.DB.sql.QueryContext(ctx, `SELECT status, COUNT(*) FROM notification_deliveries GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count notifications: %w", err)
	}
	defer rows.Close()
	out := map[notify.Status]int{}
	for rows.Next() {
		var status string
		var n int
		if err := rows.Scan(&status, &n); err != nil {
			return nil, fmt.Errorf("count notifications: %w", err)
		}
		out[notify.Status(status)] = n
	}
	return out, rows.Err()
}

// Cursor returns a follower's place in the event log.
func (s Notifications) Cursor(ctx context.Context, name string) (int64, bool, error) {
	var seq int64
	err := s.DB.sql.QueryRowContext(ctx, `SELECT seq FROM notification_cursors WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read cursor %s: %w", name, err)
	}
	return seq, true, nil
}

// SaveCursor records a follower's place.
func (s Notifications) SaveCursor(ctx context.Context, name string, seq int64) error {
	_, err := s.DB.sql.ExecContext(ctx, `INSERT INTO notification_cursors(name, seq) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET seq = excluded.seq`, name, seq)
	if err != nil {
		return fmt.Errorf("save cursor %s: %w", name, err)
	}
	return nil
}

// EventsAfter reads the event log after seq, leaving out log lines (no
// notification is about them).
func (s Notifications) EventsAfter(ctx context.Context, seq int64, limit int) ([]event.Event, error) {
	return s.DB.Events(ctx, event.Query{AfterSeq: seq, Limit: limit, Kinds: notifiedKinds})
}

var notifiedKinds = []event.Kind{event.KindExecution, event.KindStage, event.KindAction, event.KindApproval,
	event.KindDeployment, event.KindTraffic, event.KindAlarm}

// LastEventSeq is the newest event's sequence number (0 for an empty log).
func (s Notifications) LastEventSeq(ctx context.Context) (int64, error) {
	var seq sql.NullInt64
	if err := s.DB.sql.QueryRowContext(ctx, `SELECT MAX(seq) FROM events`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last event: %w", err)
	}
	return seq.Int64, nil
}

// ExecutionInfo implements notify.Lookup from the executions table: when the
// execution started, what started it and the commit its source action fetched.
func (s Notifications) ExecutionInfo(ctx context.Context, id string) (notify.ExecutionInfo, error) {
	var info notify.ExecutionInfo
	var started, revision string
	err := s.DB.sql.QueryRowContext(ctx, `SELECT pipeline, started_at, trigger_type, trigger_detail, source_revision
		FROM pipeline_executions WHERE id = ?`, id).Scan(&info.Pipeline, &started, &info.TriggerType, &info.TriggerDetail, &revision)
	if errors.Is(err, sql.ErrNoRows) {
		return info, fmt.Errorf("execution %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return info, fmt.Errorf("execution %s: %w", id, err)
	}
	info.StartTime = parseTime(started)
	var rev map[string]string
	if revision != "" && json.Unmarshal([]byte(revision), &rev) == nil {
		info.CommitID, info.CommitMessage, info.Author = rev["commit_id"], rev["message"], rev["author"]
		info.Branch, info.Repository = rev["branch"], rev["repository"]
	}
	return info, nil
}
