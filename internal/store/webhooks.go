package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// webhookSchema remembers GitHub deliveries by X-GitHub-Delivery id, so that a
// redelivery starts nothing twice (internal/webhook).
const webhookSchema = `
CREATE TABLE webhook_deliveries (
	id          TEXT PRIMARY KEY,
	event       TEXT NOT NULL,
	received_at TEXT NOT NULL,
	outcome     TEXT NOT NULL,
	detail      TEXT NOT NULL DEFAULT '',
	finished_at TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries(received_at);
`

// WebhookDeliveries adapts the DB to webhook.Store.
type WebhookDeliveries struct{ DB *DB }

var _ webhook.Store = WebhookDeliveries{}

// ClaimDelivery inserts the delivery unless its id is known; an unfinished claim
// older than staleBefore is taken over. One transaction: two servers (or two
// requests) claiming one id cannot both win.
func (w WebhookDeliveries) ClaimDelivery(ctx context.Context, rec webhook.Record, staleBefore time.Time) (*webhook.Record, error) {
	var prev *webhook.Record
	err := w.DB.Tx(ctx, func(tx *sql.Tx) error {
		old, err := scanDelivery(tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE id = ?`, rec.ID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return insertDelivery(ctx, tx, rec)
		case err != nil:
			return err
		case old.Outcome == webhook.OutcomeClaimed && old.Received.Before(staleBefore):
			_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET received_at = ?, detail = ? WHERE id = ?`, formatTime(rec.Received), rec.Detail, rec.ID)
			return err
		}
		prev = &old
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim delivery %s: %w", rec.ID, err)
	}
	return prev, nil
}

const deliveryColumns = `id, event, received_at, outcome, detail, finished_at`

func insertDelivery(ctx context.Context, tx *sql.Tx, rec webhook.Record) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries(`+deliveryColumns+`) VALUES (?,?,?,?,?,?)`,
		rec.ID, rec.Event, formatTime(rec.Received), string(rec.Outcome), rec.Detail, formatTime(rec.Finished))
	return err
}

func scanDelivery(row rowScanner) (webhook.Record, error) {
	var r webhook.Record
	var received, outcome, finished string
	err := row.Scan(&r.ID, &r.Event, &received, &outcome, &r.Detail, &finished)
	r.Received, r.Outcome, r.Finished = parseTime(received), webhook.Outcome(outcome), parseTime(finished)
	return r, err
}

// FinishDelivery records the outcome of a claimed delivery.
func (w WebhookDeliveries) FinishDelivery(ctx context.Context, id string, outcome webhook.Outcome, detail string, at time.Time) error {
	res, err := w.DB.sql.ExecContext(ctx, `UPDATE webhook_deliveries SET outcome = ?, detail = ?, finished_at = ? WHERE id = ?`,
		string(outcome), detail, formatTime(at), id)
	if err != nil {
		return fmt.Errorf("finish delivery %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("finish delivery %s: %w", id, ErrNotFound)
	}
	return nil
}

// ReleaseDelivery forgets an unfinished claim; a finished delivery stays.
func (w WebhookDeliveries) ReleaseDelivery(ctx context.Context, id string) error {
	_, err := w.DB.sql.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE id = ? AND outcome = ?`, id, string(webhook.OutcomeClaimed))
	if err != nil {
		return fmt.Errorf("release delivery %s: %w", id, err)
	}
	return nil
}

// RecentDeliveries returns the newest deliveries first (not the records of
// their payloads, webhook.OutcomePayload).
func (w WebhookDeliveries) RecentDeliveries(ctx context.Context, limit int) ([]webhook.Record, error) {
	out, err := queryAll(ctx, w.DB.sql, scanDelivery, `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE outcome != ? ORDER BY received_at DESC LIMIT ?`,
		string(webhook.OutcomePayload), limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

// PruneDeliveries forgets deliveries received before t (GitHub redelivers for
// days, not months).
func (w WebhookDeliveries) PruneDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := w.DB.sql.ExecContext(ctx, `DELETE FROM webhook_deliveries WHERE received_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return res.RowsAffected()
}
