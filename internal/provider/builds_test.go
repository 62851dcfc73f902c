package provider_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
)

// buildAction runs project's buildspec from src through p, as the engine would.
func buildAction(t *testing.T, p *provider.CodeBuild, stateDir, src string) pipeline.Outcome {
	t.Helper()
	a := &pipeline.ActionRun{
		Pipeline: "p", ExecutionID: "e", Stage: "Build", Action: "Build", Attempt: 1,
		Config: map[string]string{"ProjectName": "api"}, Inputs: []pipeline.Artifact{{Name: "src", Dir: src}},
		StateDir: stateDir, Log: &lockedBuffer{},
	}
	out, err := p.Run(context.Background(), a)
	if err != nil || out.Status != pipeline.Succeeded {
		t.Errorf("build: %v %s %s", err, out.Status, out.ErrorMessage)
	}
	return out
}

func projectDef(t *testing.T, retention string) *manifest.Definition {
	t.Helper()
	def, err := manifest.ParseDefinition(filepath.Join(t.TempDir(), "greenlight.yaml"), []byte(`version: 1
pipeline:
  name: p
  stages:
    - {name: Source, actions: [{name: S, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}]}
    - {name: Build, actions: [{name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: api}}]}
build_projects:
  api: {}
  api-v2: {}
`+retention))
	if err != nil {
		t.Fatal(err)
	}
	return def
}

func sourceWith(t *testing.T, buildspec string) string {
	t.Helper()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "buildspec.yml"), []byte(buildspec), 0o644); err != nil {
		t.Fatal(err)
	}
	return src
}

// Two `run`s build the same project at once: each is its own provider (as in
// its own process), and every build gets a number of its own.
func TestParallelRunsGetTheirOwnBuildNumbers(t *testing.T) {
	def := projectDef(t, "")
	src := sourceWith(t, "version: 0.2\nenv:\n  exported-variables: [NUMBER]\nphases:\n  build:\n    commands:\n      - NUMBER=$CODEBUILD_BUILD_NUMBER\n")
	stateDir := t.TempDir()
	const runs, builds = 2, 6
	var mu sync.Mutex
	var numbers []int
	var wg sync.WaitGroup
	for range runs {
		p := &provider.CodeBuild{Def: def}
		wg.Go(func() {
			for range builds {
				out := buildAction(t, p, stateDir, src)
				n, _ := strconv.Atoi(out.OutputVariables["NUMBER"])
				mu.Lock()
				numbers = append(numbers, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != i+1 {
			t.Fatalf("build numbers of %d parallel runs: %v; want 1..%d, each once", runs, numbers, runs*builds)
		}
	}
}

// Pruning after a build of api keeps the newest builds of api only (10 by
// default): api-v2's builds stay, and api's old -artifacts folders go, those of
// a pruned build and those whose build folder is gone.
func TestPruningAfterABuildMatchesTheExactProject(t *testing.T) {
	def := projectDef(t, "")
	stateDir := t.TempDir()
	builds := filepath.Join(stateDir, "builds")
	names := []string{"api-v2-cccccccccccccccc", "api-v2-cccccccccccccccc-artifacts", "api-bbbbbbbbbbbbbbbb-artifacts"}
	for i := range 10 {
		id := strings.Repeat(string(rune('d'+i)), 16)
		names = append(names, "api-"+id, "api-"+id+"-artifacts")
	}
	for i, name := range names { // oldest first
		path := filepath.Join(builds, name)
		if err := os.MkdirAll(path, 0o755); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(time.Duration(i-100) * time.Minute)
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	buildAction(t, &provider.CodeBuild{Def: def}, stateDir, sourceWith(t, "version: 0.2\nphases:\n  build:\n    commands: [\"true\"]\nartifacts:\n  files: [buildspec.yml]\n"))
	left := map[string]bool{}
	entries, _ := os.ReadDir(builds)
	for _, e := range entries {
		left[e.Name()] = e.IsDir()
	}
	for _, gone := range []string{"api-bbbbbbbbbbbbbbbb-artifacts", "api-dddddddddddddddd", "api-dddddddddddddddd-artifacts"} {
		if left[gone] {
			t.Errorf("%s was not pruned", gone)
		}
	}
	for _, kept := range []string{"api-v2-cccccccccccccccc", "api-v2-cccccccccccccccc-artifacts", "api-eeeeeeeeeeeeeeee-artifacts", "api-mmmmmmmmmmmmmmmm"} {
		if !left[kept] {
			t.Errorf("%s was pruned", kept)
		}
	}
	if n := len(left); n != 2+18+2+2 { // api-v2, 9 old api builds, the new one, api.number and .numbers.lock
		t.Errorf("%d entries left: %v", n, left)
	}
}

// TestBuildErrorsNameTheBuildspecAsInTheRepository: a runtime-versions
// mismatch points at buildspec.yml:line:column, as validate does and
// docs/builds.md shows, not at the artifact's copy in the state directory.
func TestBuildErrorsNameTheBuildspecAsInTheRepository(t *testing.T) {
	def := projectDef(t, "")
	src := sourceWith(t, "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: 1.19\n  build:\n    commands:\n      - true\n")
	a := &pipeline.ActionRun{
		Pipeline: "p", ExecutionID: "e", Stage: "Build", Action: "Build", Attempt: 1,
		Config: map[string]string{"ProjectName": "api"}, Inputs: []pipeline.Artifact{{Name: "src", Dir: src}},
		StateDir: t.TempDir(), Log: &lockedBuffer{},
	}
	out, err := (&provider.CodeBuild{Def: def}).Run(context.Background(), a)
	if err != nil || out.Status != pipeline.Failed {
		t.Fatalf("build: %v %s %s, want it Failed", err, out.Status, out.ErrorMessage)
	}
	if !strings.Contains(out.ErrorMessage, "golang 1.19 asked (buildspec.yml:5:15)") {
		t.Errorf("error %q, want the position buildspec.yml:5:15", out.ErrorMessage)
	}
}
