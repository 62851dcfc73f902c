package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/testnet"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

const webhookSecret = "e2e webhook secret"

// `greenlight serve` on a copy of the example: a signed push delivery of a new
// commit takes it to production, approved by the CLI through the API with a
// token (`greenlight approve --server --token`, then `status`); the same
// delivery again starts nothing, an unsigned one is refused; SIGTERM exits 0 and
// production keeps answering.
func TestServeTakesAPushedCommitToProduction(t *testing.T) {
	p := newProject(t, "process")
	listen := testnet.FreeAddr(t)
	base := "http://" + listen
	srv := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "serve", "--listen", listen)
	srv.Env = append(os.Environ(), "GREENLIGHT_WEBHOOK_SECRET="+webhookSecret)
	var out syncBuffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill() }()
	eventually(t, 30*time.Second, "serve to answer /healthz", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	o, code := p.run(context.Background(), "tokens", "create", "release-manager", "--role", "approver")
	if code != 0 {
		t.Fatalf("tokens create: exit %d\n%s", code, o)
	}
	token := strings.TrimSpace(o[strings.LastIndex(strings.TrimSpace(o), "\n")+1:])

	p.edit("main.go", func(s string) string { return s + "\n// released by a push\n" })
	short := p.commit("release through a webhook")
	sha := p.git("rev-parse", "HEAD")
	push := servePush(sha)
	status, body := deliver(t, base, "e2e-1", push, webhookSecret)
	if status != http.StatusAccepted {
		t.Fatalf("signed push: %d %s\nserve:\n%s", status, body, out.String())
	}
	var ans struct {
		Pipelines []struct {
			ExecutionID string `json:"execution_id"`
		} `json:"pipelines"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || len(ans.Pipelines) != 1 || ans.Pipelines[0].ExecutionID == "" {
		t.Fatalf("answer %s: %v", body, err)
	}
	id := ans.Pipelines[0].ExecutionID

	waitExecution(t, base, token, id, &out, func(e apiExecution) bool { return e.approvalNeeded() })
	remote := remoteCLI{t: t, server: base, token: token}
	if o, code := remote.run("approve", id[:8], "--comment", "staging looks good"); code != 0 || strings.TrimSpace(o) != "approved "+id {
		t.Fatalf("greenlight approve --server: exit %d, printed %q, want %q", code, o, "approved "+id)
	}
	final := waitExecution(t, base, token, id, &out, func(e apiExecution) bool { return e.Status != "InProgress" })
	if final.Status != "Succeeded" {
		t.Fatalf("execution ended %s (%s)\nserve:\n%s", final.Status, final.StatusSummary, out.String())
	}
	if by := final.decidedBy(); by != "release-manager" {
		t.Errorf("the approval was decided by %q, want the token's name release-manager", by)
	}
	if v, err := version(p.production); err != nil || v != short {
		t.Errorf("production runs %q (%v), want the pushed commit %s", v, err, short)
	}
	checkRemoteStatus(t, remote, id, short)

	if status, body := deliver(t, base, "e2e-1", push, webhookSecret); status != http.StatusConflict {
		t.Errorf("the same delivery again: %d %s, want 409", status, body)
	}
	if status, body := deliver(t, base, "e2e-2", push, ""); status != http.StatusUnauthorized {
		t.Errorf("an unsigned delivery: %d %s, want 401", status, body)
	}

	_ = srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, out.String())
	}
	if v, err := version(p.production); err != nil || v != short {
		t.Errorf("after serve stopped, production answers %q (%v), want %s", v, err, short)
	}
}

// servePush is GitHub's push delivery of sha to main of the example's repository.
func servePush(sha string) []byte {
	body, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": sha,
		"commits":     []map[string]any{{"id": sha, "message": "release through a webhook", "modified": []string{"main.go"}}},
		"head_commit": map[string]any{"id": sha, "message": "release through a webhook"},
		"repository":  map[string]any{"full_name": "acme/orders-service", "default_branch": "main"},
		"sender":      map[string]any{"login": "ada"},
	})
	return body
}

func deliver(t *testing.T, base, id string, body []byte, secret string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, "push")
	req.Header.Set(webhook.HeaderDelivery, id)
	if secret != "" {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), body))
	}
	return do(t, req)
}

func apiCall(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

// remoteCLI runs the greenlight binary against a server, from a directory with
// no greenlight.yaml and no state: whatever it shows or does went through the API.
type remoteCLI struct {
	t             *testing.T
	server, token string
}

func (c remoteCLI) run(args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append(args, "--server", c.server, "--token", c.token)...)
	cmd.Dir = c.t.TempDir()
	cmd.Env = append(os.Environ(), "GREENLIGHT_SERVER=", "GREENLIGHT_TOKEN=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	case err != nil:
		c.t.Fatalf("greenlight %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), 0
}

// checkRemoteStatus reads the finished execution with `greenlight status
// --server`: its header says it succeeded, the revision is the pushed commit and
// every stage succeeded.
func checkRemoteStatus(t *testing.T, remote remoteCLI, id, short string) {
	t.Helper()
	o, code := remote.run("status", id)
	if code != 0 {
		t.Fatalf("greenlight status --server: exit %d\n%s", code, o)
	}
	lines := strings.Split(strings.TrimSpace(o), "\n")
	if want := "execution " + id + " of "; !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], ": Succeeded") {
		t.Errorf("status header %q, want %q...: Succeeded", lines[0], want)
	}
	if len(lines) < 2 || !strings.Contains(lines[1], "revision "+short) {
		t.Errorf("status does not show the pushed revision %s:\n%s", short, o)
	}
	for _, stage := range []string{"Source", "Build", "Test", "DeployStaging", "Approval", "DeployProduction"} {
		if !slices.Contains(lines, fmt.Sprintf("  ✔ %-18s Succeeded", stage)) {
			t.Errorf("status does not show stage %s succeeded:\n%s", stage, o)
		}
	}
}

// apiExecution is the part of GET /api/v1/executions/{id} the test reads.
type apiExecution struct {
	Status        string `json:"status"`
	StatusSummary string `json:"status_summary"`
	Stages        []struct {
		Actions []struct {
			Approval *struct {
				Status    string `json:"status"`
				DecidedBy string `json:"decided_by"`
			} `json:"approval"`
		} `json:"actions"`
	} `json:"stages"`
}

// decidedBy is who decided the execution's approval ("" when none was).
func (e apiExecution) decidedBy() string {
	for _, s := range e.Stages {
		for _, a := range s.Actions {
			if a.Approval != nil && a.Approval.DecidedBy != "" {
				return a.Approval.DecidedBy
			}
		}
	}
	return ""
}

func (e apiExecution) approvalNeeded() bool {
	for _, s := range e.Stages {
		for _, a := range s.Actions {
			if a.Approval != nil && a.Approval.Status == "Needed" {
				return true
			}
		}
	}
	return false
}

// waitExecution reads the execution through the API until done holds.
func waitExecution(t *testing.T, base, token, id string, out *syncBuffer, done func(apiExecution) bool) apiExecution {
	t.Helper()
	var e apiExecution
	deadline := time.Now().Add(10 * time.Minute)
	for {
		st, b := apiCall(t, http.MethodGet, base+"/api/v1/executions/"+id, token, "")
		if st == http.StatusOK && json.Unmarshal(b, &e) == nil && done(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %s: last answer %d %s\nserve:\n%s", id, st, b, out.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
