package hookrun

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func call(hook *manifest.Hook, dir string, log *bytes.Buffer) deploy.HookCall {
	return deploy.HookCall{
		Event: "AfterAllowTestTraffic", ExecutionID: "d-ABC-AfterAllowTestTraffic", Hook: hook,
		Deployment: &deploy.Deployment{ID: "d-ABC", Application: "orders", Group: "production"},
		Env:        []string{"GREENLIGHT_TEST_URL=http://127.0.0.1:1", "GREENLIGHT_DEPLOYMENT_ID=d-ABC"},
		Dir:        dir, Log: log,
	}
}

func TestCommandRunsInTheRevisionDirectoryWithTheDeploymentEnvironment(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	hook := &manifest.Hook{Name: "smoke", Command: []string{"sh", "-c", `echo "$GREENLIGHT_DEPLOYMENT_ID in $(pwd)" > seen`}}
	if err := (Local{}).Run(context.Background(), call(hook, dir, &log)); err != nil {
		t.Fatal(err)
	}
	seen, err := os.ReadFile(filepath.Join(dir, "seen"))
	if err != nil || strings.TrimSpace(string(seen)) != "d-ABC in "+dir {
		t.Fatalf("hook saw %q, %v", seen, err)
	}
}

func TestCommandFailureSaysTheLastLinesItPrinted(t *testing.T) {
	var log bytes.Buffer
	hook := &manifest.Hook{Name: "smoke", Command: []string{"sh", "-c", "echo checking /orders; echo 'GET /orders: 500' >&2; exit 3"}}
	err := (Command{}).Run(context.Background(), call(hook, t.TempDir(), &log))
	if err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "GET /orders: 500") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(log.String(), "checking /orders") {
		t.Errorf("the deployment log lacks the output: %q", log.String())
	}
}

func TestCommandIsKilledWithItsChildrenWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	var log bytes.Buffer
	hook := &manifest.Hook{Name: "slow", Command: []string{"sh", "-c", "sleep 30 & sleep 30"}}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := (Command{}).Run(ctx, call(hook, dir, &log)); err == nil {
		t.Fatal("a cancelled hook succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("cancel took %s: the process group was not killed", took)
	}
}

func TestHTTPPostsTheLifecycleEventAndItsStatusDecides(t *testing.T) {
	var got Event
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("smoke test says so"))
	}))
	defer srv.Close()
	var log bytes.Buffer
	hook := &manifest.Hook{Name: "smoke", HTTP: srv.URL + "/hook"}
	if err := (Local{}).Run(context.Background(), call(hook, "", &log)); err != nil {
		t.Fatal(err)
	}
	want := Event{DeploymentID: "d-ABC", LifecycleEventHookExecutionID: "d-ABC-AfterAllowTestTraffic", LifecycleEvent: "AfterAllowTestTraffic",
		Application: "orders", DeploymentGroup: "production"}
	if got.DeploymentID != want.DeploymentID || got.LifecycleEvent != want.LifecycleEvent || got.LifecycleEventHookExecutionID != want.LifecycleEventHookExecutionID ||
		got.Application != want.Application || got.DeploymentGroup != want.DeploymentGroup || got.Env["GREENLIGHT_TEST_URL"] != "http://127.0.0.1:1" {
		t.Errorf("event %+v", got)
	}
	status = http.StatusInternalServerError
	err := (HTTP{}).Run(context.Background(), call(hook, "", &log))
	if err == nil || !strings.Contains(err.Error(), "500") || !strings.Contains(err.Error(), "smoke test says so") {
		t.Fatalf("a 500 answer: %v", err)
	}
	if !strings.Contains(log.String(), "500 Internal Server Error") {
		t.Errorf("the deployment log lacks the answer: %q", log.String())
	}
}

// TestCommandDoesNotInheritSecrets: a hook runs the revision's own code (its
// smoke test), and what it prints lands in the deployment log and its error
// message. It inherits greenlight's environment but not what carries a
// secret: a variable whose name says so (the webhook secret, a Slack webhook
// URL) or a source the deployment's task definition secrets are read from.
// An ordinary variable is still inherited.
func TestCommandDoesNotInheritSecrets(t *testing.T) {
	held := map[string]string{
		"GL_TEST_GH_WEBHOOK_SECRET": "gh-Hidden-3e7d",
		"GL_TEST_SLACK_WEBHOOK_URL": "https://hooks.slack.example/services/T1/B2/slack-Hidden-5a0f",
		"GL_TEST_DB_SOURCE":         "db-Hidden-91c2",
		// Named like nothing secret: another served definition's secret source.
		"GL_TEST_BETA_DB": "beta-Hidden-77e1",
	}
	for name, value := range held {
		t.Setenv(name, value)
	}
	t.Setenv("GL_TEST_PLAIN_SETTING", "plain-Visible-1d4e")
	var log bytes.Buffer
	c := call(&manifest.Hook{Name: "smoke", Command: []string{"sh", "-c", "env; exit 1"}}, t.TempDir(), &log)
	c.Deployment.Config.Secrets = &manifest.Secrets{SecretsManager: map[string]*manifest.SecretSource{"prod/db": {Env: "GL_TEST_DB_SOURCE"}}}
	c.Deployment.Config.HiddenEnv = []string{"GL_TEST_BETA_DB"}
	err := (Command{}).Run(context.Background(), c)
	if err == nil {
		t.Fatal("the hook exits 1, Run succeeded")
	}
	for name, value := range held {
		for _, text := range []string{log.String(), err.Error()} {
			if strings.Contains(text, value) || strings.Contains(text, name+"=") {
				t.Errorf("the hook saw %s, which carries a secret", name)
			}
		}
	}
	if !strings.Contains(log.String(), "GL_TEST_PLAIN_SETTING=plain-Visible-1d4e") {
		t.Errorf("the hook did not inherit an ordinary variable of greenlight's environment")
	}
}
