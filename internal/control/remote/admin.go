package remote

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// Admin is the client of a server's administration routes: the audit log,
// the tokens and the notification deliveries. They are not verbs of the
// control surface (control.Backend drives pipelines and deployments), so they
// live beside it. The audit log and the tokens need an admin token, the
// deliveries a viewer's; a token the server refuses comes back as an
// *AuthError, any other refusal as a *control.Error.
type Admin struct {
	b *Backend
}

// NewAdmin returns the administration client of the server at baseURL,
// calling it with token.
func NewAdmin(baseURL, token string, opts ...Option) *Admin {
	return &Admin{b: New(baseURL, token, opts...)}
}

// Close releases the client's idle connections; it is idempotent.
func (a *Admin) Close() error { return a.b.Close() }

// Audit returns the audit records q selects, newest first.
func (a *Admin) Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error) {
	v := url.Values{}
	set(v, "who", q.Who)
	set(v, "action", string(q.Action))
	set(v, "result", string(q.Result))
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	setInt(v, "before", q.BeforeSeq)
	setInt(v, "limit", int64(q.Limit))
	var out []access.AuditRecord
	return out, a.b.call(ctx, http.MethodGet, path("audit"), v, nil, &out)
}

// Tokens lists every token the server knows, revoked and expired ones
// included; never the tokens themselves.
func (a *Admin) Tokens(ctx context.Context) ([]access.Token, error) {
	var out []access.Token
	return out, a.b.call(ctx, http.MethodGet, path("tokens"), nil, nil, &out)
}

// CreateToken creates a token on the server and returns it, shown this once,
// with its record; expiresIn 0 makes one that never expires. The server
// audits the creation as the calling token's name.
func (a *Admin) CreateToken(ctx context.Context, name string, role access.Role, expiresIn time.Duration) (string, access.Token, error) {
	in := server.TokenBody{Name: name, Role: string(role)}
	if expiresIn > 0 {
		in.ExpiresIn = expiresIn.String()
	}
	var out server.CreatedToken
	if err := a.b.call(ctx, http.MethodPost, path("tokens"), nil, in, &out); err != nil {
		return "", access.Token{}, err
	}
	return out.Token, out.Record, nil
}

// RevokeToken revokes the server's active token named name.
func (a *Admin) RevokeToken(ctx context.Context, name string) (access.Token, error) {
	var out access.Token
	return out, a.b.call(ctx, http.MethodDelete, path("tokens", name), nil, nil, &out)
}

// RecentDeliveries lists the server's latest notification deliveries, newest
// first.
func (a *Admin) RecentDeliveries(ctx context.Context, limit int) ([]notify.Delivery, error) {
	v := url.Values{}
	setInt(v, "limit", int64(limit))
	var out []notify.Delivery
	return out, a.b.call(ctx, http.MethodGet, path("notifications"), v, nil, &out)
}
