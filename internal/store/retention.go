package store

import (
	"context"
	"fmt"
	"time"
)

// DeleteEventsBefore deletes the events older than before, except those of the
// executions and deployments named in keep (work in progress); with dryRun it
// only counts them. It returns how many there were.
func (db *DB) DeleteEventsBefore(ctx context.Context, before time.Time, keepExecutions, keepDeployments []string, dryRun bool) (int64, error) {
	where := `time < ? AND execution_id NOT IN (` + placeholders(len(keepExecutions)) + `)
		AND deployment_id NOT IN (` + placeholders(len(keepDeployments)) + `)`
	args := append(append([]any{formatTime(before)}, toAny(keepExecutions)...), toAny(keepDeployments)...)
	if dryRun {
		var n int64
		err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE `+where, args...).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("count old events: %w", err)
		}
		return n, nil
	}
	res, err := db.sql.ExecContext(ctx, `DELETE FROM events WHERE `+where, args...)
	if err != nil {
		return 0, fmt.Errorf("delete old events: %w", err)
	}
	return res.RowsAffected()
}
