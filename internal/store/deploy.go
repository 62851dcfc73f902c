package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// deploySchema holds deployments (the controller's record, as JSON, with the columns
// queries need) and the commands other processes queue for a running deployment.
const deploySchema = `
CREATE TABLE deployments (
	id           TEXT PRIMARY KEY,
	service      TEXT NOT NULL,
	application  TEXT NOT NULL DEFAULT '',
	grp          TEXT NOT NULL DEFAULT '',
	kind         TEXT NOT NULL,
	status       TEXT NOT NULL,
	execution_id TEXT NOT NULL DEFAULT '',
	created      TEXT NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX deployments_service ON deployments(service, created);
CREATE INDEX deployments_status ON deployments(status);
CREATE INDEX deployments_execution ON deployments(execution_id);
CREATE TABLE deployment_commands (
	seq           INTEGER PRIMARY KEY AUTOINCREMENT,
	deployment_id TEXT NOT NULL,
	data          TEXT NOT NULL
);
CREATE INDEX deployment_commands_deployment ON deployment_commands(deployment_id, seq);
`

// DeploymentRecord is a deployment as stored: the deploy package owns Data's format.
type DeploymentRecord struct {
	ID          string
	Service     string
	Application string
	Group       string
	Kind        string
	Status      string
	ExecutionID string
	Created     time.Time
	Data        []byte
}

// DeploymentQuery selects deployment records; zero fields match everything.
type DeploymentQuery struct {
	ID          string
	Service     string
	ExecutionID string
	// NotStatus excludes records in these statuses (e.g. the final ones, to list
	// active deployments).
	NotStatus []string
	Status    []string
	Newest    bool // newest first (default oldest first)
	Limit     int
}

// InsertDeployment stores a new record in one transaction with check, which sees
// the service's other records matching active (to refuse a second active deployment).
func (db *DB) InsertDeployment(ctx context.Context, rec DeploymentRecord, active DeploymentQuery, check func([]DeploymentRecord) error) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		if check != nil {
			active.Service = rec.Service
			others, err := queryDeployments(ctx, tx, active)
			if err != nil {
				return err
			}
			if err := check(others); err != nil {
				return err
			}
		}
		return insertDeployment(ctx, tx, rec)
	})
}

// UpdateDeployment overwrites a record's status and data.
func (db *DB) UpdateDeployment(ctx context.Context, rec DeploymentRecord) error {
	return db.Tx(ctx, func(tx *sql.Tx) error { return updateDeployment(ctx, tx, rec) })
}

// UpdateAndInsertDeployment updates one record and inserts another atomically (a
// deployment and the rollback deployment that replaces it).
func (db *DB) UpdateAndInsertDeployment(ctx context.Context, updated, inserted DeploymentRecord) error {
	return db.Tx(ctx, func(tx *sql.Tx) error {
		if err := updateDeployment(ctx, tx, updated); err != nil {
			return err
		}
		return insertDeployment(ctx, tx, inserted)
	})
}

// Deployments returns the records matching q.
func (db *DB) Deployments(ctx context.Context, q DeploymentQuery) ([]DeploymentRecord, error) {
	return queryDeployments(ctx, db.sql, q)
}

// AddDeploymentCommand queues a command (opaque data) for a deployment.
func (db *DB) AddDeploymentCommand(ctx context.Context, deploymentID string, data []byte) error {
	_, err := db.sql.ExecContext(ctx, `INSERT INTO deployment_commands(deployment_id, data) VALUES (?, ?)`, deploymentID, string(data))
	if err != nil {
		return fmt.Errorf("queue command for %s: %w", deploymentID, err)
	}
	return nil
}

// TakeDeploymentCommands returns and deletes a deployment's queued commands, oldest first.
func (db *DB) TakeDeploymentCommands(ctx context.Context, deploymentID string) ([][]byte, error) {
	var out [][]byte
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT data FROM deployment_commands WHERE deployment_id = ? ORDER BY seq`, deploymentID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			out = append(out, []byte(s))
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(out) == 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM deployment_commands WHERE deployment_id = ?`, deploymentID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("take commands of %s: %w", deploymentID, err)
	}
	return out, nil
}

func insertDeployment(ctx context.Context, tx *sql.Tx, r DeploymentRecord) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deployments(id, service, application, grp, kind, status, execution_id, created, data) VALUES (?,?,?,?,?,?,?,?,?)`,
		r.ID, r.Service, r.Application, r.Group, r.Kind, r.Status, r.ExecutionID, formatTime(r.Created), string(r.Data))
	if err != nil {
		return fmt.Errorf("insert deployment %s: %w", r.ID, err)
	}
	return nil
}

func updateDeployment(ctx context.Context, tx *sql.Tx, r DeploymentRecord) error {
	res, err := tx.ExecContext(ctx, `UPDATE deployments SET status = ?, data = ? WHERE id = ?`, r.Status, string(r.Data), r.ID)
	if err != nil {
		return fmt.Errorf("update deployment %s: %w", r.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update deployment %s: %w", r.ID, ErrNotFound)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryDeployments(ctx context.Context, q querier, f DeploymentQuery) ([]DeploymentRecord, error) {
	where, args := []string{"1=1"}, []any{}
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.ID != "" {
		add("id = ?", f.ID)
	}
	if f.Service != "" {
		add("service = ?", f.Service)
	}
	if f.ExecutionID != "" {
		add("execution_id = ?", f.ExecutionID)
	}
	if len(f.NotStatus) > 0 {
		add("status NOT IN ("+placeholders(len(f.NotStatus))+")", toAny(f.NotStatus)...)
	}
	if len(f.Status) > 0 {
		add("status IN ("+placeholders(len(f.Status))+")", toAny(f.Status)...)
	}
	order := "created, id"
	if f.Newest {
		order = "created DESC, id DESC"
	}
	query := `SELECT id, service, application, grp, kind, status, execution_id, created, data FROM deployments WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query deployments: %w", err)
	}
	defer rows.Close()
	var out []DeploymentRecord
	for rows.Next() {
		var r DeploymentRecord
		var created, data string
		if err := rows.Scan(&r.ID, &r.Service, &r.Application, &r.Group, &r.Kind, &r.Status, &r.ExecutionID, &created, &data); err != nil {
			return nil, fmt.Errorf("scan deployment: %w", err)
		}
		r.Created, r.Data = parseTime(created), []byte(data)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if f.ID != "" && len(out) == 0 {
		return nil, fmt.Errorf("deployment %s: %w", f.ID, ErrNotFound)
	}
	return out, nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// IsNotFound reports whether err means a missing row.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
