package source

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// checkBuild is a build provider that reads what the source action exported.
type checkBuild struct {
	got chan *pipeline.ActionRun
}

func (c checkBuild) Run(_ context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	c.got <- a
	if _, err := os.Stat(filepath.Join(a.Inputs[0].Dir, "main.go")); err != nil {
		return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: err.Error()}, nil
	}
	return pipeline.Outcome{Status: pipeline.Succeeded}, nil
}

// The Git provider inside the engine: its artifact and variables reach the build,
// and the execution records the revision.
func TestSourceStageInAnExecution(t *testing.T) {
	r := newRepo(t, t.TempDir())
	r.write("main.go", "package main\n", 0o644)
	commit := r.commit("first")
	def := &manifest.Definition{Dir: r.dir, Pipeline: &manifest.Pipeline{Name: "orders", Stages: []*manifest.Stage{
		{Name: "Source", Actions: []*manifest.Action{{Name: "Source", Category: manifest.CategorySource,
			Provider: manifest.ProviderCodeStar, Namespace: "SourceVariables", OutputArtifacts: []string{"source_output"},
			Configuration: map[string]string{"FullRepositoryId": "myorg/orders-service", "BranchName": "main"}}}},
		{Name: "Build", Actions: []*manifest.Action{{Name: "Build", Category: manifest.CategoryBuild, Provider: "CodeBuild",
			InputArtifacts: []string{"source_output"}, Configuration: map[string]string{"Commit": "#{SourceVariables.CommitId}"}}}},
	}}}
	state := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(state, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	build := checkBuild{got: make(chan *pipeline.ActionRun, 1)}
	e := pipeline.New(def, db.Pipelines(), pipeline.Options{StateDir: state, PollInterval: 20 * time.Millisecond,
		Providers: map[string]pipeline.Provider{manifest.ProviderCodeStar: New(), "CodeBuild": build}})
	id, err := e.Start(context.Background(), pipeline.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.Run(context.Background(), id)
	if err != nil || st != pipeline.StatusSucceeded {
		v, _ := e.Execution(context.Background(), id)
		t.Fatalf("run: %s %v\n%+v", st, err, v)
	}
	a := <-build.got
	if a.Config["Commit"] != commit || a.Source.CommitID != commit || a.Source.Repository != "myorg/orders-service" {
		t.Fatalf("build saw config %v, source %+v", a.Config, a.Source)
	}
	v, err := e.Execution(context.Background(), id)
	if err != nil || v.Source.CommitID != commit || v.Source.Message != "first" || v.Source.Branch != "main" {
		t.Fatalf("execution source %+v, %v", v.Source, err)
	}
}
