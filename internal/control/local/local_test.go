package local_test

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/controltest"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// binary is the greenlight executable the backend's agent and controller run
// from (this test binary is not greenlight).
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// definition is the pipeline the contract suite expects: Source, Build (a
// CodeBuild project that logs a line and reports two passing JUnit tests),
// Approval.
const definition = `version: 1
pipeline:
  name: contract
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: unit}}
    - name: Approval
      actions:
        - {name: Review, category: Approval, provider: Manual, configuration: {CustomData: "review it"}}
build_projects:
  unit:
    buildspec: buildspec.yml
`

const buildspec = `version: 0.2
phases:
  build:
    commands:
      - echo ` + controltest.BuildLogLine + `
      - mkdir -p reports
      - printf '<testsuite name="u" tests="2"><testcase classname="u" name="a"/><testcase classname="u" name="b"/></testsuite>' > reports/unit.xml
reports:
  ` + controltest.ReportGroup + `:
    files: [reports/unit.xml]
    file-format: JUNITXML
`

func TestLocalBackendContract(t *testing.T) {
	controltest.Run(t, controltest.Harness{New: newBackend})
}

// newBackend makes a git repository holding the definition, and the local
// backend of its state directory, whose agent and controller run from the real
// binary; they are stopped when the test ends.
func newBackend(t *testing.T) control.Backend {
	t.Helper()
	repo := t.TempDir()
	for name, content := range map[string]string{"greenlight.yaml": definition, "buildspec.yml": buildspec} {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "contract"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	def, err := manifest.Load(filepath.Join(repo, "greenlight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(repo, ".greenlight")
	db, err := store.Open(context.Background(), filepath.Join(stateDir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	site := daemon.NewSite(stateDir, log).InstallFrom(binary)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := site.Down(ctx); err != nil {
			t.Errorf("down: %v", err)
		}
		_ = db.Close()
	})
	return local.New(local.Options{Definition: def, StateDir: stateDir, DB: db, Site: site, Logger: log,
		PollInterval: 50 * time.Millisecond})
}
