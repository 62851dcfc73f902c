package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/server"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// harness is a server on 127.0.0.1 over a real state file, with the local
// backend of its directory (no pipeline definition: every call answers from
// the state file, nothing starts), and a token for each principal.
type harness struct {
	url    string
	db     *store.DB
	access *access.Service
	srv    *server.Server
	tokens map[string]string // principal -> token ("none": no token)
}

// clock is the access service's time, moved by the test to expire a token.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// The principals of the role table.
var principals = []string{"viewer", "approver", "operator", "admin", "none", "revoked", "expired"}

func newHarness(t *testing.T, tune func(*server.Options)) *harness {
	t.Helper()
	return newHarnessOf(t, nil, tune)
}

// newHarnessOf is a harness whose backend serves def (nil: no definition).
func newHarnessOf(t *testing.T, def *manifest.Definition, tune func(*server.Options)) *harness {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	clk := &clock{now: time.Now()}
	acc := &access.Service{Store: store.Access{DB: db}, Now: clk.Now}
	backend := local.New(local.Options{Definition: def, StateDir: dir, DB: db})
	t.Cleanup(func() { _ = backend.Close() })
	opts := server.Options{Backend: backend, Access: acc, Deliveries: store.Notifications{DB: db},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "greenlight_up 1\n") }),
		Poll:    20 * time.Millisecond}
	if tune != nil {
		tune(&opts)
	}
	srv, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { _ = srv.Close() }) // first: live streams end, so ts.Close does not wait on them
	h := &harness{url: ts.URL, db: db, access: acc, srv: srv, tokens: map[string]string{"none": ""}}
	for _, role := range access.Roles {
		h.tokens[string(role)] = h.token(t, string(role), role, 0)
	}
	h.tokens["revoked"] = h.token(t, "revoked", access.RoleAdmin, 0)
	if _, err := acc.Revoke(context.Background(), "revoked"); err != nil {
		t.Fatal(err)
	}
	h.tokens["expired"] = h.token(t, "expired", access.RoleAdmin, time.Hour)
	clk.add(2 * time.Hour)
	return h
}

func (h *harness) token(t *testing.T, name string, role access.Role, expires time.Duration) string {
	t.Helper()
	tok, _, err := h.access.Create(context.Background(), name, role, expires)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends a request as a principal and returns the answer with its body read.
func (h *harness) do(t *testing.T, who, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if tok := h.tokens[who]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

// auditLog returns every audit record, newest first.
func (h *harness) auditLog(t *testing.T) []access.AuditRecord {
	t.Helper()
	recs, err := h.access.Audit(context.Background(), access.AuditQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
