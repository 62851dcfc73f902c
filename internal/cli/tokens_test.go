package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// greenlight runs the command line in-process on a state directory and returns
// what it printed and its error.
func greenlight(t *testing.T, stateDir string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	a := &app{stdout: &out, stderr: &out}
	root := a.rootCommand()
	root.SetArgs(append([]string{"--state-dir", stateDir}, args...))
	root.SetOut(&out)
	root.SetErr(&out)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestTokensCreateListRevokeAndAudit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".greenlight")
	out, err := greenlight(t, dir, "tokens", "create", "ci-bot", "--role", "operator", "--expires", "90d")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "token ci-bot (operator, expires ") || !strings.HasPrefix(lines[1], "glt_") {
		t.Fatalf("create printed:\n%s", out)
	}
	token := lines[1]

	out, err = greenlight(t, dir, "--json", "tokens", "create", "alice", "--role", "Approver")
	var created map[string]any
	if err != nil || json.Unmarshal([]byte(out), &created) != nil || created["role"] != "approver" || !strings.HasPrefix(created["token"].(string), "glt_") {
		t.Fatalf("create --json: %v\n%s", err, out)
	}

	// The token printed authenticates against the state directory.
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := &access.Service{Store: store.Access{DB: db}}
	if p, err := s.Authenticate(context.Background(), token); err != nil || p.Name != "ci-bot" || p.Role != access.RoleOperator {
		t.Fatalf("authenticate the printed token: %+v, %v", p, err)
	}

	out, err = greenlight(t, dir, "tokens", "list")
	if err != nil || !strings.Contains(out, "ci-bot") || !strings.Contains(out, "alice") || strings.Contains(out, "glt_") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := greenlight(t, dir, "tokens", "revoke", "ci-bot"); err != nil || out != "token ci-bot (operator) revoked\n" {
		t.Fatalf("revoke: %v\n%s", err, out)
	}
	if _, err := s.Authenticate(context.Background(), token); err == nil {
		t.Fatal("a revoked token still authenticates")
	}
	out, _ = greenlight(t, dir, "--json", "tokens", "list")
	if !strings.Contains(out, `"name":"ci-bot"`) || !strings.Contains(out, `"status":"revoked"`) {
		t.Errorf("list --json after revoke:\n%s", out)
	}

	out, err = greenlight(t, dir, "audit")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(out, "tokens.revoke ci-bot from local: succeeded") {
		t.Errorf("audit: %v\n%s", err, out)
	}
}

func TestTokensBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".greenlight")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tokens", "create", "x", "--role", "root"}, `unknown role "root" (allowed: viewer, approver, operator, admin)`},
		{[]string{"tokens", "create", "x", "--role", "viewer", "--expires", "soon"}, `--expires "soon": write a lifetime like 90d, 12h or 30m`},
		{[]string{"tokens", "create", "x y", "--role", "viewer"}, `token name "x y": use letters, digits, ., _ and -`},
		{[]string{"tokens", "create", "x"}, `required flag(s) "role" not set`},
		{[]string{"tokens", "revoke", "nobody"}, `no active token named "nobody"`},
	} {
		_, err := greenlight(t, dir, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
	if _, err := greenlight(t, dir, "tokens", "create", "x", "--role", "viewer"); err != nil {
		t.Fatal(err)
	}
	if _, err := greenlight(t, dir, "tokens", "create", "x", "--role", "admin"); err == nil || !strings.Contains(err.Error(), "a token with this name is active: x") {
		t.Errorf("duplicate: %v", err)
	}
}
