// Package store owns greenlight's durable state in one SQLite file: pipeline
// executions, stage and action runs, approvals, deployments with their lifecycle
// events, alarm states and the event log. Several greenlight processes (a `run`, an
// `approve` from another terminal, the controller) share one file; every write is a
// transaction, so a crash never leaves a half-written row. It implements the ports
// the domain declares: pipeline.Store (Pipelines) and deploy.Store (Deployments).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver: no cgo

	"github.com/greenlight-ci/greenlight/internal/flock"
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// DB is an open state file.
type DB struct {
	sql  *sql.DB
	path string
}

// migration is one schema step. Steps only ever get appended: a state file records
// the steps it has, and Open applies the rest in one transaction each.
type migration struct {
	name string
	sql  string
}

// migrations in order; each domain keeps its schema beside its queries.
var migrations = []migration{
	{"0001_events", eventsSchema},
	{"0002_pipeline", pipelineSchema},
	{"0003_deploy", deploySchema},
	{"0005_access", accessSchema},
	{"0006_notifications", notificationsSchema},
	{"0007_webhook_deliveries", webhookSchema},
	{"0008_hook_results", hooksSchema},
	{"0009_action_processes", actionProcessesSchema},
	{"0010_execution_ref", executionRefSchema},
}

// Open opens (creating if needed) the state file at path and brings its schema up to
// date.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	// SQLite would create the file 0644; made here it is 0600, and its -wal and
	// -shm files take its mode.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, fmt.Errorf("create state %s: %w", path, err)
	} else if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create state %s: %w", path, err)
	}
	// WAL lets readers (status, another terminal) work while an execution writes;
	// busy_timeout makes concurrent writers from other processes wait, not fail.
	// busy_timeout comes first: the pragmas run in order on every new connection,
	// and switching a new file to WAL must already wait for a process that is
	// opening it at the same time.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state %s: %w", path, err)
	}
	db := &DB{sql: sqldb, path: path}
	// Processes that open a new file at once (a `run` and a `status` from another
	// terminal) take turns setting it up: switching a new file to WAL does not
	// always wait on a busy file, so the setup runs under a file lock.
	lock, err := flock.Acquire(path + ".lock")
	if err != nil {
		_ = sqldb.Close()
		return nil, fmt.Errorf("lock state setup: %w", err)
	}
	err = db.migrate(ctx)
	lock.Release()
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrate state %s: %w", path, err)
	}
	return db, nil
}

// Close closes the state file.
func (db *DB) Close() error { return db.sql.Close() }

// Path is the state file's location.
func (db *DB) Path() string { return db.path }

// migrate applies the migrations the file does not have yet.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.sql.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return err
	}
	for _, m := range migrations {
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, m.name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations(name, applied_at) VALUES (?, ?)`, m.name, formatTime(time.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Tx runs fn in one immediate transaction: committed when fn returns nil, rolled
// back otherwise.
func (db *DB) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // fn failed: its error is the one to report
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Times are stored as RFC 3339 text with nanoseconds, in UTC, so that they sort.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
