package remote_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/controltest"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/control/localtest"
	"github.com/greenlight-ci/greenlight/internal/control/remote"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/server"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// binary is the greenlight executable the local backend's agent and
// controller run from.
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// tokenName is who the server records as acting: the suite's requests say
// other names, which must not count.
const tokenName = "remote-suite"

// served is a server over a local backend on a real state directory.
type served struct {
	url      string
	token    string
	access   *access.Service
	stateDir string
}

// serve makes a git repository holding the definition, the local backend of
// its state directory (agent and controller from the real binary) and a
// server on 127.0.0.1 in front of it, with an operator token.
func serve(t *testing.T) *served {
	t.Helper()
	return serveFiles(t, localtest.Contract)
}

// serveFiles is serve on a repository holding files (name -> content).
func serveFiles(t *testing.T, files map[string]string) *served {
	t.Helper()
	e := localtest.New(t, binary, files)
	backend, log := e.Backend, e.Log
	acc := &access.Service{Store: store.Access{DB: e.DB}}
	srv, err := server.New(server.Options{Backend: backend, Access: acc, Logger: log, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	token, _, err := acc.Create(context.Background(), tokenName, access.RoleOperator, 0)
	if err != nil {
		t.Fatal(err)
	}
	return &served{url: ts.URL, token: token, access: acc, stateDir: e.StateDir}
}

// The contract suite through a server: every verb, typed errors included,
// round-trips the API. Then what the suite did is in the audit log as the
// token's name, and a finished action's followed log ends.
func TestRemoteBackendContract(t *testing.T) {
	var s *served
	controltest.Run(t, controltest.Harness{Identity: tokenName, New: func(t *testing.T) control.Backend {
		s = serve(t)
		return remote.New(s.url, s.token)
	}})
	if t.Failed() {
		return
	}
	checkDecisionsAudited(t, s)
	checkFollowedLogEnds(t, s)
}

// checkDecisionsAudited: the approval, and the refusal of a late decision,
// are recorded with the token's name, the comment and the reason.
func checkDecisionsAudited(t *testing.T, s *served) {
	ctx := context.Background()
	ok, err := s.access.Audit(ctx, access.AuditQuery{Action: access.VerbApprove, Result: access.ResultSucceeded})
	if err != nil || len(ok) != 1 || ok[0].Who != tokenName || ok[0].Message != "looks good" || ok[0].Role != access.RoleOperator {
		t.Errorf("approval audit: %+v, %v", ok, err)
	}
	late, err := s.access.Audit(ctx, access.AuditQuery{Action: access.VerbReject, Result: access.ResultFailed})
	if err != nil || len(late) != 1 || !strings.Contains(late[0].Message, "Succeeded") {
		t.Errorf("late decision audit: %+v, %v", late, err)
	}
	started, err := s.access.Audit(ctx, access.AuditQuery{Action: access.VerbStartExecution})
	if err != nil || len(started) != 2 || started[0].Who != tokenName || started[0].Result != access.ResultSucceeded {
		t.Errorf("start audit: %+v, %v", started, err)
	}
}

// checkFollowedLogEnds: following the log of an action that ended streams it
// whole and ends.
func checkFollowedLogEnds(t *testing.T, s *served) {
	b := remote.New(s.url, s.token)
	defer b.Close()
	page, err := b.ListExecutions(context.Background(), control.ExecutionQuery{})
	if err != nil || len(page.Executions) == 0 {
		t.Fatalf("executions: %+v, %v", page, err)
	}
	id := page.Executions[0].ID
	req, _ := http.NewRequest("GET", s.url+"/api/v1/executions/"+id+"/stages/Build/actions/Build/log?follow=1", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(text), controltest.BuildLogLine) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("followed log: %v %q", err, text)
	}
}

// Token problems come back as AuthErrors that say so.
func TestTokenErrors(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	backend := local.New(local.Options{StateDir: dir, DB: db})
	defer backend.Close()
	acc := &access.Service{Store: store.Access{DB: db}}
	srv, err := server.New(server.Options{Backend: backend, Access: acc})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	viewer, _, err := acc.Create(context.Background(), "reader", access.RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = remote.New(ts.URL, "glt_nope").ListPipelines(context.Background())
	var ae *remote.AuthError
	if !errors.As(err, &ae) || ae.Status != 401 || !errors.Is(err, access.ErrUnauthenticated) ||
		err.Error() != "unauthenticated: unknown token (--token or GREENLIGHT_TOKEN)" {
		t.Errorf("unknown token: %v", err)
	}
	_, err = remote.New(ts.URL, viewer).CommandDeployment(context.Background(), control.DeploymentCommand{Command: control.CommandRollback})
	if !errors.As(err, &ae) || ae.Status != 403 || !errors.Is(err, access.ErrForbidden) ||
		err.Error() != "forbidden: deployments.rollback needs the operator role; token reader is viewer" {
		t.Errorf("viewer rolling back: %v", err)
	}
	_, err = remote.NewAdmin(ts.URL, viewer).Audit(context.Background(), access.AuditQuery{})
	if err == nil || err.Error() != "forbidden: audit.read needs the admin role; token reader is viewer" {
		t.Errorf("viewer reading the audit log: %v", err)
	}
	// A proxy's answer, not the API's: the status once, the body when it says more.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/pipelines" {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		http.Error(w, "no upstream for this host", http.StatusBadGateway)
	}))
	defer proxy.Close()
	_, err = remote.New(proxy.URL, viewer).ListPipelines(context.Background())
	if err == nil || err.Error() != "GET /api/v1/pipelines: 403 Forbidden" {
		t.Errorf("a proxy's 403: %v", err)
	}
	_, err = remote.New(proxy.URL, viewer).ListDeployments(context.Background(), control.DeploymentQuery{})
	if err == nil || err.Error() != "GET /api/v1/deployments: 502 Bad Gateway: no upstream for this host" {
		t.Errorf("a proxy's 502: %v", err)
	}
	ts.Close()
	_, err = remote.New(ts.URL, viewer).ListPipelines(context.Background())
	if !errors.Is(err, control.ErrUnavailable) {
		t.Errorf("server gone: %v", err)
	}
}

// deploymentFiles is the contract's repository with one deployment group (a
// process task on a free loopback port) and a revision to deploy to it.
func deploymentFiles(t *testing.T) map[string]string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	files := map[string]string{
		"greenlight.yaml": localtest.ContractDefinition + `services:
  web: {driver: process, listeners: {production: "` + addr + `"}, process: {command: [./app]}}
applications:
  web: {deployment_groups: {production: {service: web}}}
`,
		"taskdef.json": `{"family": "web", "containerDefinitions": [{"name": "app", "image": "web:1", "portMappings": [{"containerPort": 8080}]}]}`,
		"appspec.yaml": `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: app, ContainerPort: 8080}
`,
	}
	for name, content := range localtest.Contract {
		if _, ok := files[name]; !ok {
			files[name] = content
		}
	}
	return files
}

// A deployment created through the server records the token's name as its
// creator, whatever the request's Who says, as an execution's starter does;
// it reads back the same, and the audit record names the deployment.
func TestDeploymentCreatorIsTheTokenName(t *testing.T) {
	s := serveFiles(t, deploymentFiles(t))
	b := remote.New(s.url, s.token)
	defer b.Close()
	ctx := context.Background()
	repo := filepath.Dir(s.stateDir)
	d, err := b.CreateDeployment(ctx, control.DeploymentRequest{TaskDef: filepath.Join(repo, "taskdef.json"),
		AppSpec: filepath.Join(repo, "appspec.yaml"), Who: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	if d.Creator != tokenName {
		t.Errorf("created deployment's creator %q, want the token's name %q", d.Creator, tokenName)
	}
	got, err := b.GetDeployment(ctx, d.ID)
	if err != nil || got.Creator != tokenName {
		t.Errorf("deployment read back: creator %q (%v), want %q", got.Creator, err, tokenName)
	}
	recs, err := s.access.Audit(ctx, access.AuditQuery{Action: access.VerbCreateDeployment})
	if err != nil || len(recs) != 1 || recs[0].Who != tokenName || recs[0].Target != d.ID || recs[0].Result != access.ResultSucceeded {
		t.Errorf("audit of the creation: %+v, %v", recs, err)
	}
}
