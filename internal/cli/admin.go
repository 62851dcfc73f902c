package cli

import (
	"context"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// adminSurface is what `audit`, `tokens` and `notifications` read and change:
// the state directory's (localAdmin) or a running server's (remote.Admin).
// Both answer with the same records, so the commands print the same.
type adminSurface interface {
	Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error)
	Tokens(ctx context.Context) ([]access.Token, error)
	CreateToken(ctx context.Context, name string, role access.Role, expiresIn time.Duration) (string, access.Token, error)
	RevokeToken(ctx context.Context, name string) (access.Token, error)
	RecentDeliveries(ctx context.Context, limit int) ([]notify.Delivery, error)
}

// withAdmin runs fn on the server's administration routes when --server (or
// GREENLIGHT_SERVER) names one, else on the state directory.
func (a *app) withAdmin(ctx context.Context, fn func(adminSurface) error) error {
	if ad, ok, err := a.openRemoteAdmin(); ok {
		if err != nil {
			return err
		}
		defer ad.Close()
		return fn(ad)
	}
	s, err := a.open(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(localAdmin{access: &access.Service{Store: store.Access{DB: s.db}}, deliveries: store.Notifications{DB: s.db}})
}

// localAdmin is the state directory's administration: a token created or
// revoked here is audited as the operating system user, as the server audits
// its calls as the token's name.
type localAdmin struct {
	access     *access.Service
	deliveries store.Notifications
}

func (l localAdmin) Audit(ctx context.Context, q access.AuditQuery) ([]access.AuditRecord, error) {
	return l.access.Audit(ctx, q)
}

func (l localAdmin) Tokens(ctx context.Context) ([]access.Token, error) { return l.access.Tokens(ctx) }

func (l localAdmin) CreateToken(ctx context.Context, name string, role access.Role, expiresIn time.Duration) (string, access.Token, error) {
	token, rec, err := l.access.Create(ctx, name, role, expiresIn)
	if err != nil {
		return "", access.Token{}, err
	}
	if err := l.access.Record(ctx, localAudit(access.VerbCreateToken, name, "role "+string(role))); err != nil {
		return "", access.Token{}, err
	}
	return token, rec, nil
}

func (l localAdmin) RevokeToken(ctx context.Context, name string) (access.Token, error) {
	t, err := l.access.Revoke(ctx, name)
	if err != nil {
		return access.Token{}, err
	}
	if err := l.access.Record(ctx, localAudit(access.VerbRevokeToken, name, "")); err != nil {
		return access.Token{}, err
	}
	return t, nil
}

func (l localAdmin) RecentDeliveries(ctx context.Context, limit int) ([]notify.Delivery, error) {
	return l.deliveries.RecentDeliveries(ctx, limit)
}
