package process

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/jsonapi"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
	"github.com/greenlight-ci/greenlight/internal/runtime/supervisor"
)

// serverBin is the test server, built once by TestMain.
var serverBin string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, runtimetest.Server(&serverBin)))
}

const token = "s3cret"

// newDriver serves a supervisor's API behind a bearer-token check, as the
// agent does, and returns a driver that calls it.
func newDriver(t *testing.T) *Driver {
	t.Helper()
	client, url := newServer(t)
	return New(jsonapi.New(client, url, token))
}

// newServer serves a supervisor's API and returns how to reach it.
func newServer(t *testing.T) (*http.Client, string) {
	t.Helper()
	sup, err := supervisor.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		sup.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), runtimetest.Eventually)
		defer cancel()
		if err := sup.StopAll(ctx, time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		_ = sup.Close()
	})
	return srv.Client(), srv.URL + "/"
}

// serverTask runs the test server in every container of a task, each with its
// Command as the server's arguments.
func serverTask(id string, labels map[string]string, cs ...runtime.ContainerSpec) runtime.TaskSpec {
	for i := range cs {
		cs[i].ProcessCommand = append([]string{serverBin}, cs[i].Command...)
	}
	return runtime.TaskSpec{ID: id, Labels: labels, Containers: cs, ProcessDir: filepath.Dir(serverBin)}
}

func serverSpec(id string, labels map[string]string, env ...string) runtime.TaskSpec {
	return runtime.TaskSpec{
		ID:             id,
		Labels:         labels,
		Env:            append([]string{"HOST=127.0.0.1"}, env...),
		ContainerPort:  8080,
		ProcessCommand: []string{serverBin},
		ProcessDir:     filepath.Dir(serverBin),
	}
}

func TestProcessDriverContract(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{Driver: newDriver(t), Spec: serverSpec, Task: serverTask, Binary: serverBin})
}

func TestRelativePathsAreResolvedHere(t *testing.T) {
	d := newDriver(t)
	dir := t.TempDir()
	t.Chdir(dir)
	id := runtimetest.NewID("rel")
	spec := serverSpec(id, nil)
	spec.ProcessDir = "."
	spec.LogPath = "out/task.log"
	task := runtimetest.Start(t, d, spec)
	runtimetest.WaitHealthy(t, task.Address)
	if !runtimetest.Poll(t, func(context.Context) bool {
		data, _ := os.ReadFile(filepath.Join(dir, "out", "task.log"))
		return strings.Contains(string(data), "testserver listening")
	}) {
		t.Errorf("no output in %s", filepath.Join(dir, "out", "task.log"))
	}
}

func TestSupervisorErrorsReachTheCaller(t *testing.T) {
	client, url := newServer(t)
	d := New(jsonapi.New(client, url, token))
	spec := serverSpec("no-command", nil)
	spec.ProcessCommand = nil
	_, err := d.Start(t.Context(), spec)
	if err == nil || !strings.Contains(err.Error(), "ProcessCommand is empty") || !strings.Contains(err.Error(), "400") {
		t.Errorf("Start = %v, want the supervisor's 400 and its reason", err)
	}

	wrong := New(jsonapi.New(client, url, "wrong"))
	if _, err := wrong.List(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "bad token") {
		t.Errorf("List with a wrong token = %v, want the 401 reason", err)
	}
}

func TestUnreachableAgent(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	d := New(jsonapi.New(http.DefaultClient, url, token))
	if _, err := d.Inspect(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Inspect with no agent = %v, want a call error", err)
	}
}
