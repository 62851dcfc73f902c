package access_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func newService(t *testing.T) (*access.Service, string, *time.Time) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	return &access.Service{Store: store.Access{DB: db}, Now: func() time.Time { return now }}, path, &now
}

func TestTokensAreShownOnceAndStoredHashed(t *testing.T) {
	s, path, _ := newService(t)
	ctx := context.Background()
	token, rec, err := s.Create(ctx, "ci-bot", access.RoleOperator, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "glt_") || len(token) != 4+43 || rec.Hash != access.HashToken(token) || rec.Hash == token {
		t.Fatalf("token %q, record %+v", token, rec)
	}
	other, _, err := s.Create(ctx, "alice", access.RoleViewer, 0)
	if err != nil || other == token {
		t.Fatalf("second token %q, %v", other, err)
	}
	// The state file (database and write-ahead log) never holds a token.
	for _, f := range []string{path, path + "-wal"} {
		data, _ := os.ReadFile(f)
		if bytes.Contains(data, []byte(token)) || bytes.Contains(data, []byte(token[4:])) {
			t.Fatalf("%s holds the token in clear", f)
		}
	}
	p, err := s.Authenticate(ctx, token)
	if err != nil || p.Name != "ci-bot" || p.Role != access.RoleOperator || p.TokenID != rec.ID {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "Bearer " + token, "glt_" + strings.Repeat("A", 43), token[:len(token)-1]} {
		if _, err := s.Authenticate(ctx, bad); !errors.Is(err, access.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q) = %v", bad, err)
		}
	}
	// A token that is not greenlight's is refused as such, not as no token at all.
	if _, err := s.Authenticate(ctx, "ghp_16C7e42F292c6912E7710c838347Ae178B4a"); err == nil || !strings.Contains(err.Error(), "not a greenlight token: those start with glt_") {
		t.Errorf("a GitHub token: %v, want it called not a greenlight token", err)
	}
	if _, err := s.Authenticate(ctx, " "); err == nil || !strings.Contains(err.Error(), "no greenlight token presented") {
		t.Errorf("no token: %v, want it called no token", err)
	}
	list, err := s.Tokens(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "ci-bot" || list[0].Status(time.Now()) != access.TokenActive {
		t.Errorf("Tokens = %+v, %v", list, err)
	}
}

func TestExpiredRevokedAndReusedNames(t *testing.T) {
	s, _, now := newService(t)
	ctx := context.Background()
	token, _, err := s.Create(ctx, "deployer", access.RoleOperator, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Create(ctx, "deployer", access.RoleViewer, 0); !errors.Is(err, access.ErrNameTaken) {
		t.Errorf("duplicate active name: %v", err)
	}
	*now = now.Add(time.Hour)
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, access.ErrUnauthenticated) || !errors.Is(err, access.ErrExpired) ||
		err.Error() != "unauthenticated: token deployer expired at 2024-05-02T11:00:00Z" {
		t.Errorf("expired: %v", err)
	}
	if _, err := s.Revoke(ctx, "deployer"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, token); !errors.Is(err, access.ErrUnauthenticated) || !errors.Is(err, access.ErrRevoked) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked: %v", err)
	}
	if _, err := s.Revoke(ctx, "deployer"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	fresh, _, err := s.Create(ctx, "deployer", access.RoleApprover, 0)
	if err != nil {
		t.Fatalf("reusing a revoked name: %v", err)
	}
	if p, err := s.Authenticate(ctx, fresh); err != nil || p.Role != access.RoleApprover {
		t.Errorf("new deployer token: %+v, %v", p, err)
	}
	for _, c := range []struct {
		name string
		role access.Role
		exp  time.Duration
	}{{"has space", access.RoleViewer, 0}, {"x", "root", 0}, {"y", access.RoleViewer, -time.Hour}} {
		if _, _, err := s.Create(ctx, c.name, c.role, c.exp); err == nil {
			t.Errorf("Create(%q, %q, %s) succeeded", c.name, c.role, c.exp)
		}
	}
}

// Every verb against every role, from a table written out here rather than read
// from the package: a change to the permissions must change this test too.
func TestRolePermissions(t *testing.T) {
	needs := map[access.Verb]access.Role{
		access.VerbListPipelines: "viewer", access.VerbListExecutions: "viewer", access.VerbGetExecution: "viewer",
		access.VerbReadLogs: "viewer", access.VerbReadReports: "viewer", access.VerbListDeployments: "viewer",
		access.VerbGetDeployment: "viewer", access.VerbReadAlarms: "viewer", access.VerbReadEvents: "viewer",
		access.VerbListDeliveries: "viewer",
		access.VerbApprove:        "approver", access.VerbReject: "approver",
		access.VerbStartExecution: "operator", access.VerbStopExecution: "operator", access.VerbRetryStage: "operator",
		access.VerbResumeExecution: "operator", access.VerbCreateDeployment: "operator", access.VerbContinueDeploy: "operator",
		access.VerbStopDeployment: "operator", access.VerbRollback: "operator", access.VerbHookResult: "operator",
		access.VerbCreateToken: "admin", access.VerbListTokens: "admin", access.VerbRevokeToken: "admin", access.VerbReadAudit: "admin",
	}
	if len(access.Verbs()) != len(needs) {
		t.Fatalf("%d verbs, the table has %d", len(access.Verbs()), len(needs))
	}
	rank := map[access.Role]int{"viewer": 0, "approver": 1, "operator": 2, "admin": 3}
	s := &access.Service{}
	for _, verb := range access.Verbs() {
		need, ok := needs[verb]
		if !ok {
			t.Errorf("verb %s is not in the table", verb)
			continue
		}
		for _, role := range access.Roles {
			want := rank[role] >= rank[need]
			err := s.Authorize(access.Principal{Name: "t", Role: role}, verb)
			if (err == nil) != want || (err != nil && !errors.Is(err, access.ErrForbidden)) {
				t.Errorf("%s as %s: %v, want allowed=%v", verb, role, err, want)
			}
		}
	}
	err := s.Authorize(access.Principal{Name: "alice", Role: access.RoleViewer}, access.VerbApprove)
	if err == nil || err.Error() != "forbidden: approvals.approve needs the approver role; token alice is viewer" {
		t.Errorf("message: %v", err)
	}
	if access.Allowed(access.RoleAdmin, "something.new") != true || access.Allowed(access.RoleOperator, "something.new") {
		t.Error("unknown verbs need admin")
	}
	if !access.VerbRollback.Mutating() || access.VerbReadLogs.Mutating() || access.VerbListTokens.Mutating() {
		t.Error("mutating verbs")
	}
}

func TestAuditRecordsAndQuery(t *testing.T) {
	s, _, now := newService(t)
	ctx := context.Background()
	records := []access.AuditRecord{
		{Who: "alice", Role: access.RoleApprover, Action: access.VerbApprove, Target: "orders/e-1/Approval/Manual", RemoteAddr: "127.0.0.1:5000", Result: access.ResultSucceeded, Message: "staging looks good"},
		{Who: "bob", Role: access.RoleViewer, Action: access.VerbRollback, Target: "orders-service/production", RemoteAddr: "127.0.0.1:5001", Result: access.ResultForbidden, Message: "needs operator"},
		{Action: access.VerbStartExecution, RemoteAddr: "127.0.0.1:5002", Result: access.ResultUnauthenticated, Message: "unknown token"},
		{Who: "alice", Role: access.RoleApprover, Action: access.VerbApprove, Target: "orders/e-0/Approval/Manual", Result: access.ResultFailed, Message: "execution e-0 was superseded"},
	}
	for _, r := range records {
		*now = now.Add(time.Second)
		if err := s.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Audit(ctx, access.AuditQuery{})
	if err != nil || len(all) != 4 || all[0].Message != "execution e-0 was superseded" || all[3].Time != time.Date(2024, 5, 2, 10, 0, 1, 0, time.UTC) {
		t.Fatalf("all = %+v, %v", all, err)
	}
	if r := all[3]; r.Who != "alice" || r.Role != access.RoleApprover || r.RemoteAddr != "127.0.0.1:5000" || r.Result != access.ResultSucceeded {
		t.Errorf("first record = %+v", r)
	}
	for _, c := range []struct {
		q    access.AuditQuery
		want int
	}{
		{access.AuditQuery{Who: "alice"}, 2},
		{access.AuditQuery{Result: access.ResultForbidden}, 1},
		{access.AuditQuery{Action: access.VerbApprove, Result: access.ResultFailed}, 1},
		{access.AuditQuery{Since: time.Date(2024, 5, 2, 10, 0, 3, 0, time.UTC)}, 2},
		{access.AuditQuery{BeforeSeq: all[1].Seq}, 2},
		{access.AuditQuery{Limit: 1}, 1},
	} {
		got, err := s.Audit(ctx, c.q)
		if err != nil || len(got) != c.want {
			t.Errorf("Audit(%+v) = %d records, %v; want %d", c.q, len(got), err, c.want)
		}
	}
}
