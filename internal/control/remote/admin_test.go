package remote_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/control/remote"
	"github.com/greenlight-ci/greenlight/internal/server"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// adminServer is a server over a fresh state directory, with or without
// notification deliveries, and an admin and a viewer token.
type adminServer struct {
	url, admin, viewer string
	access             *access.Service
}

func newAdminServer(t *testing.T, deliveries bool) *adminServer {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	backend := local.New(local.Options{StateDir: dir, DB: db})
	acc := &access.Service{Store: store.Access{DB: db}}
	opts := server.Options{Backend: backend, Access: acc}
	if deliveries {
		opts.Deliveries = store.Notifications{DB: db}
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
		_ = backend.Close()
		_ = db.Close()
	})
	s := &adminServer{url: ts.URL, access: acc}
	if s.admin, _, err = acc.Create(context.Background(), "root", access.RoleAdmin, 0); err != nil {
		t.Fatal(err)
	}
	if s.viewer, _, err = acc.Create(context.Background(), "reader", access.RoleViewer, 0); err != nil {
		t.Fatal(err)
	}
	return s
}

// An admin creates, lists and revokes a token through the API; the token
// returned works, the listing never shows it, and the audit log read back
// through the API names the admin token as who acted.
func TestAdminTokensAndAudit(t *testing.T) {
	s := newAdminServer(t, true)
	ctx := context.Background()
	ad := remote.NewAdmin(s.url, s.admin)
	defer ad.Close()

	token, rec, err := ad.CreateToken(ctx, "ci-bot", access.RoleOperator, 90*24*time.Hour)
	if err != nil || !strings.HasPrefix(token, "glt_") || rec.Name != "ci-bot" || rec.Role != access.RoleOperator ||
		rec.Expires.Sub(rec.Created) != 90*24*time.Hour {
		t.Fatalf("create: %q %+v %v", token, rec, err)
	}
	if p, err := s.access.Authenticate(ctx, token); err != nil || p.Name != "ci-bot" {
		t.Fatalf("the created token: %+v %v", p, err)
	}
	tokens, err := ad.Tokens(ctx)
	if err != nil || len(tokens) != 3 {
		t.Fatalf("tokens: %+v %v", tokens, err)
	}
	for _, tk := range tokens {
		if tk.Hash != "" || tk.Name == "" || tk.Created.IsZero() {
			t.Errorf("listed token: %+v", tk)
		}
	}
	revoked, err := ad.RevokeToken(ctx, "ci-bot")
	if err != nil || revoked.Revoked.IsZero() {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	if _, err := ad.RevokeToken(ctx, "ci-bot"); !errors.Is(err, control.ErrNotFound) || !strings.Contains(err.Error(), `no active token named "ci-bot"`) {
		t.Errorf("revoke twice: %v", err)
	}
	if _, _, err := ad.CreateToken(ctx, "reader", access.RoleViewer, 0); !errors.Is(err, control.ErrConflict) {
		t.Errorf("a taken name: %v", err)
	}

	if err := s.access.Record(ctx, access.AuditRecord{Who: "someone-else", Action: access.VerbApprove, Result: access.ResultSucceeded}); err != nil {
		t.Fatal(err)
	}
	recs, err := ad.Audit(ctx, access.AuditQuery{Who: "root", Result: access.ResultSucceeded, Since: time.Now().Add(-time.Hour)})
	if err != nil || len(recs) != 2 || recs[0].Action != access.VerbRevokeToken || recs[1].Action != access.VerbCreateToken ||
		recs[1].Target != "ci-bot" || recs[1].Role != access.RoleAdmin {
		t.Fatalf("audit: %+v %v", recs, err)
	}
	if recs, err := ad.Audit(ctx, access.AuditQuery{Action: access.VerbCreateToken, Limit: 1}); err != nil || len(recs) != 1 || recs[0].Result != access.ResultFailed {
		t.Errorf("audit of the last creation: %+v %v", recs, err)
	}
	if recs, err := ad.Audit(ctx, access.AuditQuery{Since: time.Now().Add(time.Hour)}); err != nil || len(recs) != 0 {
		t.Errorf("audit since the future: %+v %v", recs, err)
	}
}

// A viewer reads deliveries but not the audit log or the tokens, and the
// refusal says which role is needed; a server without notifications says so.
func TestAdminRefusals(t *testing.T) {
	s := newAdminServer(t, true)
	ctx := context.Background()
	viewer := remote.NewAdmin(s.url, s.viewer)
	defer viewer.Close()
	if ds, err := viewer.RecentDeliveries(ctx, 5); err != nil || len(ds) != 0 {
		t.Errorf("deliveries: %+v %v", ds, err)
	}
	var ae *remote.AuthError
	_, err := viewer.Audit(ctx, access.AuditQuery{})
	if !errors.As(err, &ae) || ae.Status != 403 || !errors.Is(err, access.ErrForbidden) || !strings.Contains(err.Error(), "admin") {
		t.Errorf("viewer reading the audit log: %v", err)
	}
	if _, _, err := viewer.CreateToken(ctx, "sneaky", access.RoleAdmin, 0); !errors.Is(err, access.ErrForbidden) {
		t.Errorf("viewer creating a token: %v", err)
	}
	if _, err := remote.NewAdmin(s.url, "glt_nope").Tokens(ctx); !errors.Is(err, access.ErrUnauthenticated) || !strings.Contains(err.Error(), "GREENLIGHT_TOKEN") {
		t.Errorf("unknown token: %v", err)
	}
	quiet := newAdminServer(t, false)
	if _, err := remote.NewAdmin(quiet.url, quiet.viewer).RecentDeliveries(ctx, 0); !errors.Is(err, control.ErrNotSupported) {
		t.Errorf("a server without notifications: %v", err)
	}
}
