package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
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

// Deployments is the deploy controller's store (deploy.Store) on this file: each
// deployment is its JSON record, with the columns queries need beside it.
func (db *DB) Deployments() deploy.Store { return deployStore{db} }

// deployStore implements deploy.Store.
type deployStore struct{ db *DB }

var doneStatuses = []deploy.Status{deploy.StatusSucceeded, deploy.StatusFailed, deploy.StatusStopped}

// deploymentQuery selects deployment rows; zero fields match everything.
type deploymentQuery struct {
	id        string
	service   string
	notStatus []deploy.Status
	status    []deploy.Status
	newest    bool // newest first (default oldest first)
	limit     int
}

func (s deployStore) CreateDeployment(ctx context.Context, d *deploy.Deployment) error {
	data, err := encodeDeployment(d)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		active, err := queryDeployments(ctx, tx, deploymentQuery{service: d.Config.Service.Name, notStatus: doneStatuses})
		if err != nil {
			return err
		}
		for _, a := range active {
			if a.Status != deploy.StatusBaking {
				return fmt.Errorf("service %s: %w: %s is %s", d.Config.Service.Name, deploy.ErrServiceBusy, a.ID, a.Status)
			}
		}
		return insertDeployment(ctx, tx, d, data)
	})
}

func (s deployStore) SaveDeployment(ctx context.Context, d *deploy.Deployment) error {
	data, err := encodeDeployment(d)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error { return updateDeployment(ctx, tx, d, data) })
}

func (s deployStore) CreateRollback(ctx context.Context, rolledBack, rollback *deploy.Deployment) error {
	upd, err := encodeDeployment(rolledBack)
	if err != nil {
		return err
	}
	ins, err := encodeDeployment(rollback)
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := updateDeployment(ctx, tx, rolledBack, upd); err != nil {
			return err
		}
		return insertDeployment(ctx, tx, rollback, ins)
	})
}

func (s deployStore) Deployment(ctx context.Context, id string) (*deploy.Deployment, error) {
	ds, err := queryDeployments(ctx, s.db.sql, deploymentQuery{id: id})
	if err != nil {
		return nil, err
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("deployment %s: %w", id, deploy.ErrNotFound)
	}
	return ds[0], nil
}

func (s deployStore) ActiveDeployments(ctx context.Context) ([]*deploy.Deployment, error) {
	return queryDeployments(ctx, s.db.sql, deploymentQuery{notStatus: doneStatuses})
}

func (s deployStore) LatestDeployments(ctx context.Context, service string, limit int) ([]*deploy.Deployment, error) {
	return queryDeployments(ctx, s.db.sql, deploymentQuery{service: service, newest: true, limit: limit})
}

// Services returns the names of the services that have deployments.
func (s deployStore) Services(ctx context.Context) ([]string, error) {
	rows, err := s.db.sql.QueryContext(ctx, `SELECT DISTINCT service FROM deployments ORDER BY service`)
	if err != nil {
		return nil, fmt.Errorf("query services: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("scan service: %w", err)
		}
		out = append(out, name)
	}
	return out, rows.Err()
}

func (s deployStore) LastReleased(ctx context.Context, service string) (*deploy.Deployment, error) {
	ds, err := queryDeployments(ctx, s.db.sql, deploymentQuery{service: service, newest: true,
		status: []deploy.Status{deploy.StatusBaking, deploy.StatusSucceeded}, limit: 1})
	if err != nil || len(ds) == 0 {
		return nil, err
	}
	return ds[0], nil
}

// AddCommand queues a command for a deployment.
func (s deployStore) AddCommand(ctx context.Context, deploymentID string, c deploy.Command) error {
	if c.Time.IsZero() {
		c.Time = time.Now()
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode command for %s: %w", deploymentID, err)
	}
	_, err = s.db.sql.ExecContext(ctx, `INSERT INTO deployment_commands(deployment_id, data) VALUES (?, ?)`, deploymentID, string(b))
	if err != nil {
		return fmt.Errorf("queue command for %s: %w", deploymentID, err)
	}
	return nil
}

// TakeCommands returns and deletes a deployment's queued commands, oldest first.
func (s deployStore) TakeCommands(ctx context.Context, deploymentID string) ([]deploy.Command, error) {
	var out []deploy.Command
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = queuedCommands(ctx, tx, deploymentID); err != nil || len(out) == 0 {
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

func queuedCommands(ctx context.Context, tx *sql.Tx, deploymentID string) ([]deploy.Command, error) {
	rows, err := tx.QueryContext(ctx, `SELECT data FROM deployment_commands WHERE deployment_id = ? ORDER BY seq`, deploymentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []deploy.Command
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		var c deploy.Command
		if err := json.Unmarshal([]byte(s), &c); err != nil {
			return nil, fmt.Errorf("decode command for %s: %w", deploymentID, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func encodeDeployment(d *deploy.Deployment) (string, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode deployment %s: %w", d.ID, err)
	}
	return string(data), nil
}

func insertDeployment(ctx context.Context, tx *sql.Tx, d *deploy.Deployment, data string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO deployments(id, service, application, grp, kind, status, execution_id, created, data) VALUES (?,?,?,?,?,?,?,?,?)`,
		d.ID, d.Config.Service.Name, d.Application, d.Group, string(d.Kind), string(d.Status), d.ExecutionID, formatTime(d.Created), data)
	if err != nil {
		return fmt.Errorf("insert deployment %s: %w", d.ID, err)
	}
	return nil
}

func updateDeployment(ctx context.Context, tx *sql.Tx, d *deploy.Deployment, data string) error {
	res, err := tx.ExecContext(ctx, `UPDATE deployments SET status = ?, data = ? WHERE id = ?`, string(d.Status), data, d.ID)
	if err != nil {
		return fmt.Errorf("update deployment %s: %w", d.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("update deployment %s: %w", d.ID, deploy.ErrNotFound)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryDeployments(ctx context.Context, q querier, f deploymentQuery) ([]*deploy.Deployment, error) {
	where, args := deploymentWhere(f)
	order := "created, id"
	if f.newest {
		order = "created DESC, id DESC"
	}
	query := `SELECT id, data FROM deployments WHERE ` + strings.Join(where, " AND ") + ` ORDER BY ` + order
	if f.limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.limit)
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query deployments: %w", err)
	}
	defer rows.Close()
	var out []*deploy.Deployment
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("scan deployment: %w", err)
		}
		var d deploy.Deployment
		if err := json.Unmarshal([]byte(data), &d); err != nil {
			return nil, fmt.Errorf("decode deployment %s: %w", id, err)
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

func deploymentWhere(f deploymentQuery) ([]string, []any) {
	where, args := []string{"1=1"}, []any{}
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.id != "" {
		add("id = ?", f.id)
	}
	if f.service != "" {
		add("service = ?", f.service)
	}
	if len(f.notStatus) > 0 {
		add("status NOT IN ("+placeholders(len(f.notStatus))+")", toAny(f.notStatus)...)
	}
	if len(f.status) > 0 {
		add("status IN ("+placeholders(len(f.status))+")", toAny(f.status)...)
	}
	return where, args
}
