package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
)

// accessSchema holds API tokens (hashed; see internal/access) and the audit log.
// A name is unique among unrevoked tokens, so a revoked name can be reused while
// the revoked row stays for the audit log's sake.
const accessSchema = `
CREATE TABLE api_tokens (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	role       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL DEFAULT '',
	revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens(name) WHERE revoked_at = '';

CREATE TABLE audit_log (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	time        TEXT NOT NULL,
	who         TEXT NOT NULL DEFAULT '',
	token_id    TEXT NOT NULL DEFAULT '',
	role        TEXT NOT NULL DEFAULT '',
	action      TEXT NOT NULL,
	target      TEXT NOT NULL DEFAULT '',
	remote_addr TEXT NOT NULL DEFAULT '',
	result      TEXT NOT NULL,
	message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_who ON audit_log(who, seq);
`

// Access adapts the DB to access.Store.
type Access struct{ DB *DB }

var _ access.Store = Access{}

const tokenColumns = `id, name, role, hash, created_at, expires_at, revoked_at`

// CreateToken stores a new token; ErrNameTaken when an active token has its name.
func (a Access) CreateToken(ctx context.Context, t access.Token) error {
	_, err := a.DB.sql.ExecContext(ctx, `INSERT INTO api_tokens(`+tokenColumns+`) VALUES (?,?,?,?,?,?,?)`,
		t.ID, t.Name, string(t.Role), t.Hash, formatTime(t.Created), formatTime(t.Expires), formatTime(t.Revoked))
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed: api_tokens.name") {
		return fmt.Errorf("%w: %s (revoke it first, or choose another name)", access.ErrNameTaken, t.Name)
	}
	if err != nil {
		return fmt.Errorf("store token: %w", err)
	}
	return nil
}

// Tokens lists every token, oldest first.
func (a Access) Tokens(ctx context.Context) ([]access.Token, error) {
	out, err := queryAll(ctx, a.DB.sql, scanToken, `SELECT `+tokenColumns+` FROM api_tokens ORDER BY created_at, rowid`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

func scanToken(row rowScanner) (access.Token, error) {
	var t access.Token
	var role, created, expires, revoked string
	err := row.Scan(&t.ID, &t.Name, &role, &t.Hash, &created, &expires, &revoked)
	t.Role, t.Created, t.Expires, t.Revoked = access.Role(role), parseTime(created), parseTime(expires), parseTime(revoked)
	return t, err
}

// TokenByHash finds a token by the hash of the presented one.
func (a Access) TokenByHash(ctx context.Context, hash string) (access.Token, error) {
	t, err := scanToken(a.DB.sql.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("%w: unknown token", access.ErrUnauthenticated)
	}
	if err != nil {
		return t, fmt.Errorf("look up token: %w", err)
	}
	return t, nil
}

// RevokeToken revokes the active token named name.
func (a Access) RevokeToken(ctx context.Context, name string, at time.Time) (access.Token, error) {
	var t access.Token
	err := a.DB.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE name = ? AND revoked_at = ''`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("no active token named %q: %w", name, ErrNotFound)
		}
		if err != nil {
			return err
		}
		t.Revoked = at
		_, err = tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, formatTime(at), t.ID)
		return err
	})
	return t, err
}

// AppendAudit stores one audit record.
func (a Access) AppendAudit(ctx context.Context, r access.AuditRecord) error {
	_, err := a.DB.sql.ExecContext(ctx, `INSERT INTO audit_log(time, who, token_id, role, action, target, remote_addr, result, message)
		VALUES (?,?,?,?,?,?,?,?,?)`, formatTime(r.Time), r.Who, r.TokenID, string(r.Role), string(r.Action), r.Target, r.RemoteAddr, string(r.Result), r.Message)
	if err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	return nil
}

// Audit returns matching records, newest first.
func (a Access) Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, v any) { where, args = append(where, cond), append(args, v) }
	if q.Who != "" {
		add("who = ?", q.Who)
	}
	if q.Action != "" {
		add("action = ?", string(q.Action))
	}
	if q.Result != "" {
		add("result = ?", string(q.Result))
	}
	if !q.Since.IsZero() {
		add("time >= ?", formatTime(q.Since))
	}
	if q.BeforeSeq > 0 {
		add("seq < ?", q.BeforeSeq)
	}
	args = append(args, q.Limit)
	rows, err := a.DB.sql.QueryContext(ctx, `SELECT seq, time, who, token_id, role, action, target, remote_addr, result, message
		FROM audit_log WHERE `+strings.Join(where, " AND ")+` ORDER BY seq DESC LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []access.AuditRecord
	for rows.Next() {
		var r access.AuditRecord
		var t, role, action, result string
		if err := rows.Scan(&r.Seq, &t, &r.Who, &r.TokenID, &role, &action, &r.Target, &r.RemoteAddr, &result, &r.Message); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		r.Time, r.Role, r.Action, r.Result = parseTime(t), access.Role(role), access.Verb(action), access.Result(result)
		out = append(out, r)
	}
	return out, rows.Err()
}
