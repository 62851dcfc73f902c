package serve_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/serve"
	"github.com/greenlight-ci/greenlight/internal/store"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// binary is the greenlight executable the agent and controller run from (this
// test binary is not greenlight).
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// definition is a pipeline that starts fast and then waits: Source, then a
// manual approval nobody gives.
func definition(name, extra string) string {
	return fmt.Sprintf(`version: 1
pipeline:
  name: %s
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}
    - name: Approval
      actions:
        - {name: Review, category: Approval, provider: Manual}
%s`, name, extra)
}

// repo is a git repository named name under parent holding greenlight.yaml.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T, parent, name, yaml string) *repo {
	t.Helper()
	r := &repo{t: t, dir: filepath.Join(parent, name)}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "-q", "-b", "main")
	r.commit("greenlight.yaml", yaml, "pipeline")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	out, err := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=t", "-c", "user.email=t@t"}, args...)...).CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes a file, commits it and returns the commit id.
func (r *repo) commit(file, content, msg string) string {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, file), []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *repo) path() string { return filepath.Join(r.dir, "greenlight.yaml") }

// server is a running serve.Server on loopback with a real agent and
// controller, stopped (and its Run checked to return nil) when the test ends.
type server struct {
	t   *testing.T
	url string
	srv *serve.Server
	db  *store.DB
}

// token creates an API token of role.
func (s *server) token(role access.Role) string {
	s.t.Helper()
	tok, _, err := (&access.Service{Store: store.Access{DB: s.db}}).Create(context.Background(), "test-"+string(role), role, 0)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func startServer(t *testing.T, files ...string) *server {
	t.Helper()
	return startServerWith(t, serverConfig{}, files...)
}

// serverConfig changes what startServerWith starts.
type serverConfig struct {
	options func(*serve.Options) // nil: as New's defaults
	listen  net.ListenConfig     // how the server's socket is made
}

func startServerWith(t *testing.T, cfg serverConfig, files ...string) *server {
	t.Helper()
	defs, err := serve.Load(files, "")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t}
	srv, site, db := newServer(t, defs, time.Hour, cfg.options)
	s.srv, s.db = srv, db
	ln, err := cfg.listen.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	api, err := srv.API()
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- srv.Run(ctx, ln, api, api.Close) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after a stop: %v, want nil", err)
		}
		down(t, site)
	})
	return s
}

func stateDir(defs []*manifest.Definition) string {
	dir, _ := filepath.Abs(filepath.Join(defs[0].Dir, ".greenlight"))
	return dir
}

// newServer builds a server on the first definition's state directory.
func newServer(t *testing.T, defs []*manifest.Definition, poll time.Duration, options ...func(*serve.Options)) (*serve.Server, *daemon.Site, *store.DB) {
	t.Helper()
	dir := stateDir(defs)
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	site := daemon.NewSite(dir, log).InstallFrom(binary)
	o := serve.Options{Definitions: defs, StateDir: dir, DB: db, Site: site, PollInterval: poll,
		Logger: log, EnginePoll: 50 * time.Millisecond}
	for _, opt := range options {
		if opt != nil {
			opt(&o)
		}
	}
	return serve.New(o), site, db
}

func down(t *testing.T, site *daemon.Site) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := site.Down(ctx); err != nil {
		t.Errorf("down: %v", err)
	}
}

// pushPayload is a GitHub push delivery of after to ref of owner/name.
func pushPayload(fullName, ref, after string) []byte {
	body, _ := json.Marshal(map[string]any{
		"ref": ref, "before": strings.Repeat("0", 40), "after": after, "deleted": false,
		"commits":     []map[string]any{{"id": after, "message": "change", "modified": []string{"README"}}},
		"head_commit": map[string]any{"id": after, "message": "change", "author": map[string]any{"name": "Ada"}},
		"repository":  map[string]any{"full_name": fullName, "default_branch": "main", "clone_url": "https://github.com/" + fullName + ".git"},
		"sender":      map[string]any{"login": "ada"},
	})
	return body
}

// answer is a delivery's HTTP answer.
type answer struct {
	status int
	serve.DeliveryAnswer
	Error struct{ Code, Message string } `json:"error"`
}

// deliver posts a delivery signed with secret ("": unsigned).
func (s *server) deliver(event, id string, body []byte, secret string) answer {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.url+"/webhooks/github", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderDelivery, id)
	if secret != "" {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		s.t.Fatalf("answer of delivery %s: %v", id, err)
	}
	return a
}

// executions lists the executions of pipeline.
func (s *server) executions(pipeline string) []control.ExecutionSummary {
	s.t.Helper()
	page, err := s.srv.Backend().ListExecutions(context.Background(), control.ExecutionQuery{Pipeline: pipeline})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Executions
}

// waitFor polls cond until it holds or a minute passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// get GETs path of the API with token and returns the body and status.
func (s *server) get(path, token string) (string, int) {
	s.t.Helper()
	return s.call(http.MethodGet, path, token, "")
}

// post POSTs body (JSON) to path of the API with token and returns the answer's
// body and status.
func (s *server) post(path, token, body string) (string, int) {
	s.t.Helper()
	return s.call(http.MethodPost, path, token, body)
}

func (s *server) call(method, path, token, body string) (string, int) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out), resp.StatusCode
}
