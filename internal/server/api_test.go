package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control/localtest"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/server"
)

func errorOf(t *testing.T, body string) server.ErrorDetail {
	t.Helper()
	var e server.ErrorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error
}

// Bodies: over the cap, with an unknown field, with a second value, or not
// JSON are refused with 400 before anything runs, and the refusal is audited.
func TestBadBodiesAreRefused(t *testing.T) {
	h := newHarness(t, nil)
	big := `{"name":"` + strings.Repeat("x", server.MaxBody) + `","role":"viewer"}`
	for _, c := range []struct{ name, body, says string }{
		{"oversized", big, "over 1048576 bytes"},
		{"unknown field", `{"name":"x","role":"viewer","roles":"admin"}`, `unknown field "roles"`},
		{"two values", `{"name":"x","role":"viewer"} {}`, "more follows"},
		{"not JSON", `name=x`, "request body"},
		{"bad role", `{"name":"x","role":"root"}`, `unknown role "root"`},
		{"bad name", `{"name":"has space","role":"viewer"}`, "token name"},
		{"bad lifetime", `{"name":"x","role":"viewer","expires_in":"soon"}`, "expires_in"},
	} {
		resp, body := h.do(t, "admin", "POST", "/api/v1/tokens", c.body)
		if e := errorOf(t, body); resp.StatusCode != http.StatusBadRequest || e.Code != "bad_request" || !strings.Contains(e.Message, c.says) {
			t.Errorf("%s: %d %+v; want 400 saying %q", c.name, resp.StatusCode, e, c.says)
		}
		if r := h.auditLog(t)[0]; r.Action != access.VerbCreateToken || r.Result != access.ResultFailed || r.Who != "admin" {
			t.Errorf("%s: audit record %+v", c.name, r)
		}
	}
	toks, _ := h.access.Tokens(context.Background())
	if len(toks) != 6 {
		t.Errorf("%d tokens after refused creations, want the harness's 6", len(toks))
	}
}

func TestErrorsOfTheControlSurface(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"GET", "/api/v1/deployments/d-NOSUCHONE", "", 404, "not_found"},
		{"GET", "/api/v1/executions?limit=x", "", 400, "bad_request"},
		{"GET", "/api/v1/events?after=x", "", 400, "bad_request"},
		{"POST", "/api/v1/executions", `{"trigger":"Webhook"}`, 400, "bad_request"},
		{"PUT", "/api/v1/deployments/d-1/lifecycle-events/h-1", `{"status":"Maybe"}`, 400, "bad_request"},
		{"POST", "/api/v1/deployments/active/rollback", "", 404, "not_found"},
		{"GET", "/api/v1/no-such-route", "", 404, "not_found"},
		{"DELETE", "/api/v1/tokens/nobody", "", 404, "not_found"},
	} {
		resp, body := h.do(t, "admin", c.method, c.path, c.body)
		if e := errorOf(t, body); resp.StatusCode != c.status || e.Code != c.code || e.Message == "" {
			t.Errorf("%s %s: %d %s; want %d %s", c.method, c.path, resp.StatusCode, body, c.status, c.code)
		}
	}
	resp, body := h.do(t, "admin", "POST", "/api/v1/tokens", `{"name":"viewer","role":"viewer"}`)
	if e := errorOf(t, body); resp.StatusCode != http.StatusConflict || e.Reason != "name_taken" {
		t.Errorf("a taken name: %d %s", resp.StatusCode, body)
	}
}

// A token is shown once, when created; it works at once and stops working
// when revoked, and the listing never shows it.
func TestTokensThroughTheAPI(t *testing.T) {
	h := newHarness(t, nil)
	resp, body := h.do(t, "admin", "POST", "/api/v1/tokens", `{"name":"ci-bot","role":"operator","expires_in":"90d"}`)
	var made server.CreatedToken
	if err := json.Unmarshal([]byte(body), &made); err != nil || resp.StatusCode != http.StatusCreated ||
		!strings.HasPrefix(made.Token, access.TokenPrefix) || made.Record.Role != access.RoleOperator || made.Record.Expires.IsZero() {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	h.tokens["ci-bot"] = made.Token
	if resp, body := h.do(t, "ci-bot", "GET", "/api/v1/pipelines", ""); resp.StatusCode == http.StatusUnauthorized {
		t.Fatalf("new token refused: %s", body)
	}
	_, list := h.do(t, "admin", "GET", "/api/v1/tokens", "")
	if strings.Contains(list, made.Token) || !strings.Contains(list, `"ci-bot"`) {
		t.Errorf("token list: %s", list)
	}
	if resp, body := h.do(t, "admin", "DELETE", "/api/v1/tokens/ci-bot", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(t, "ci-bot", "GET", "/api/v1/pipelines", ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Errorf("revoked token: %d %s", resp.StatusCode, body)
	}
	recs := h.auditLog(t)
	if recs[0].Action != access.VerbRevokeToken || recs[0].Target != "ci-bot" || recs[1].Action != access.VerbCreateToken ||
		recs[1].Target != "ci-bot" || recs[1].Result != access.ResultSucceeded || strings.Contains(recs[1].Message, made.Token) {
		t.Errorf("audit: %+v", recs[:2])
	}
	_, audit := h.do(t, "admin", "GET", "/api/v1/audit?who=admin&action=tokens.revoke", "")
	var got []access.AuditRecord
	if err := json.Unmarshal([]byte(audit), &got); err != nil || len(got) != 1 || got[0].Target != "ci-bot" {
		t.Errorf("audit query: %s", audit)
	}
}

func TestHealthzAndMounts(t *testing.T) {
	h := newHarness(t, func(o *server.Options) {
		o.Webhook = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) })
		o.Console = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("console")) })
	})
	if resp, body := h.do(t, "none", "GET", "/healthz", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("healthz: %d %s", resp.StatusCode, body)
	}
	if resp, _ := h.do(t, "none", "POST", "/webhooks/github", "{}"); resp.StatusCode != http.StatusAccepted {
		t.Errorf("webhook without a token: %d", resp.StatusCode)
	}
	if resp, body := h.do(t, "none", "GET", "/login", ""); resp.StatusCode != http.StatusOK || body != "console" {
		t.Errorf("console: %d %s", resp.StatusCode, body)
	}
	if resp, body := h.do(t, "viewer", "GET", "/metrics", ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "greenlight_up") {
		t.Errorf("metrics: %d %s", resp.StatusCode, body)
	}
}

// On a state file with nothing in it, every list in every answer is [], never
// null: the lists themselves and the lists inside answers.
func TestEmptyListsAreAnsweredEmpty(t *testing.T) {
	dir := t.TempDir()
	for name, content := range localtest.Contract { // never run
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	def, err := manifest.Load(filepath.Join(dir, "greenlight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessOf(t, def, nil)
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/api/v1/pipelines", `"stages":[`},
		{"GET", "/api/v1/executions", `{"executions":[]}`},
		{"GET", "/api/v1/deployments", `[]`},
		{"GET", "/api/v1/events", `[]`},
		{"GET", "/api/v1/notifications", `[]`},
		{"GET", "/api/v1/audit?who=nobody", `[]`},
	} {
		resp, body := h.do(t, "admin", c.method, c.path, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, c.want) || strings.Contains(body, "null") {
			t.Errorf("%s %s: %d %s, want %s and no null", c.method, c.path, resp.StatusCode, body, c.want)
		}
	}
}
