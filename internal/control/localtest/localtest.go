// Package localtest sets up, for tests, what the local control surface runs on:
// a git repository holding a definition, its state directory and SQLite file,
// and a control/local backend whose agent and controller run from the real
// greenlight binary (a test binary cannot be one). Everything stops when the
// test ends. The contract suite's pipeline (controltest) is here too.
package localtest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control/controltest"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// ContractDefinition is the pipeline the contract suite expects: Source, Build
// (a CodeBuild project that logs a line and reports two passing JUnit tests),
// Approval.
const ContractDefinition = `version: 1
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

// ContractBuildspec is the build of ContractDefinition.
const ContractBuildspec = `version: 0.2
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

// Contract is the repository of the contract suite's pipeline.
var Contract = map[string]string{"greenlight.yaml": ContractDefinition, "buildspec.yml": ContractBuildspec}

// Env is one repository with its state and local backend.
type Env struct {
	Def      string // greenlight.yaml's path
	StateDir string
	DB       *store.DB
	Site     *daemon.Site
	Backend  *local.Backend
	Log      *slog.Logger
}

// New commits files (name -> content, greenlight.yaml among them) to a new git
// repository and opens the local backend of its state directory, whose
// background processes run from binary. The backend closes, the agent and
// controller stop and the state file closes when the test ends (after the
// test's own cleanups registered later).
func New(t *testing.T, binary string, files map[string]string) *Env {
	t.Helper()
	repo := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first"}} {
		if out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	e := &Env{Def: filepath.Join(repo, "greenlight.yaml"), StateDir: filepath.Join(repo, ".greenlight"), Log: slog.New(slog.DiscardHandler)}
	def, err := manifest.Load(e.Def)
	if err != nil {
		t.Fatal(err)
	}
	if e.DB, err = store.Open(context.Background(), filepath.Join(e.StateDir, "state.db")); err != nil {
		t.Fatal(err)
	}
	e.Site = daemon.NewSite(e.StateDir, e.Log).InstallFrom(binary)
	e.Backend = local.New(local.Options{Definition: def, StateDir: e.StateDir, DB: e.DB, Site: e.Site, Logger: e.Log,
		PollInterval: 50 * time.Millisecond})
	t.Cleanup(func() {
		_ = e.Backend.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if err := e.Site.Down(ctx); err != nil {
			t.Errorf("down: %v", err)
		}
		_ = e.DB.Close()
	})
	return e
}
