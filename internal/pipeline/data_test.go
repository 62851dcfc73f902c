package pipeline_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// Variables flow from the codepipeline and variables namespaces and from one
// action's namespace to the configuration of later actions; the source action's
// variables become the execution's revision.
func TestVariablesFlowBetweenNamespaces(t *testing.T) {
	def := definition("",
		stage("Source", action("Source", "Fake", 1, category(manifest.CategorySource), namespace("SourceVariables"))),
		stage("Build", action("Build", "Fake", 1, namespace("BuildVariables"),
			config("ProjectName", "orders-#{variables.Env}", "Commit", "#{SourceVariables.CommitId}",
				"Execution", "#{codepipeline.PipelineExecutionId}", "Pipeline", "#{codepipeline.PipelineName}"))),
		stage("Deploy", action("Deploy", "Fake", 1, config("Image", "orders:#{BuildVariables.ImageTag}"))),
	)
	def.Pipeline.Variables = []*manifest.PipelineVariable{{Name: "Env", DefaultValue: "staging"}}
	h := newHarness(t, def)
	h.fake.on("Source", func(context.Context, *pipeline.ActionRun) (pipeline.Outcome, error) {
		return pipeline.Outcome{Status: pipeline.Succeeded, OutputVariables: map[string]string{
			"CommitId": "0123abcd", "BranchName": "main", "CommitMessage": "add orders", "AuthorDisplayName": "Ada"}}, nil
	})
	h.fake.on("Build", func(_ context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		return pipeline.Outcome{Status: pipeline.Succeeded, OutputVariables: map[string]string{"ImageTag": a.Config["Commit"][:4]}}, nil
	})
	id := h.start(pipeline.StartRequest{Variables: map[string]string{"Env": "prod"}})
	h.await(h.runAsync(id), pipeline.StatusSucceeded)

	build := h.fake.callsOf(id, "Build")[0]
	want := map[string]string{"ProjectName": "orders-prod", "Commit": "0123abcd", "Execution": id, "Pipeline": "orders"}
	for k, v := range want {
		if build.Config[k] != v {
			t.Errorf("Build config %s = %q, want %q", k, build.Config[k], v)
		}
	}
	if build.Source.CommitID != "0123abcd" || build.Source.Branch != "main" || build.Source.Author != "Ada" {
		t.Errorf("Build source revision %+v", build.Source)
	}
	if got := h.fake.callsOf(id, "Deploy")[0].Config["Image"]; got != "orders:0123" {
		t.Errorf("Deploy image %q", got)
	}
	v := h.view(id)
	if v.Source.CommitID != "0123abcd" || v.Variables["Env"] != "prod" {
		t.Errorf("execution view: source %+v, variables %v", v.Source, v.Variables)
	}
}

// A reference nothing defines fails the action with the reference named, before
// its provider runs.
func TestUnresolvedVariableFailsTheAction(t *testing.T) {
	h := newHarness(t, definition("", stage("Build", action("Build", "Fake", 1, config("ProjectName", "#{Nowhere.Thing}")))))
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)
	if n := len(h.fake.callsOf(id, "Build")); n != 0 {
		t.Fatalf("provider ran %d times", n)
	}
	a := findAction(h.view(id), "Build", "Build")
	if !strings.Contains(a.ErrorMessage, "#{Nowhere.Thing}") || !strings.Contains(a.ErrorMessage, "ProjectName") {
		t.Fatalf("error %q", a.ErrorMessage)
	}
}

// Output artifacts are sealed read-only once their action succeeded, recorded,
// and handed to later actions as inputs at the same place.
func TestArtifactsAreSealedAndPassedAsInputs(t *testing.T) {
	h := newHarness(t, definition("",
		stage("Source", action("Source", "Fake", 1, outputs("source_output"))),
		stage("Build", action("Build", "Fake", 1, inputs("source_output"), outputs("build_output")))))
	h.fake.on("Source", func(_ context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		dir := a.Outputs[0].Dir
		if err := os.MkdirAll(filepath.Join(dir, "cmd"), 0o755); err != nil {
			return pipeline.Outcome{}, err
		}
		return pipeline.Outcome{Status: pipeline.Succeeded}, os.WriteFile(filepath.Join(dir, "cmd", "main.go"), []byte("package main\n"), 0o644)
	})
	h.fake.on("Build", func(_ context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		src, err := os.ReadFile(filepath.Join(a.Inputs[0].Dir, "cmd", "main.go"))
		if err != nil {
			return pipeline.Outcome{}, err
		}
		return pipeline.Outcome{Status: pipeline.Succeeded}, os.WriteFile(filepath.Join(a.Outputs[0].Dir, "copy.go"), src, 0o644)
	})
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusSucceeded)

	build := h.fake.callsOf(id, "Build")[0]
	wantDir := filepath.Join(h.stateDir, "artifacts", id, "source_output")
	if len(build.Inputs) != 1 || build.Inputs[0].Dir != wantDir {
		t.Fatalf("build inputs %+v, want %s", build.Inputs, wantDir)
	}
	for _, dir := range []string{wantDir, filepath.Join(h.stateDir, "artifacts", id, "build_output")} {
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Mode().Perm()&0o222 != 0 {
				t.Errorf("%s is writable: %v", path, info.Mode())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if arts := h.view(id).Artifacts; len(arts) != 2 {
		t.Fatalf("recorded artifacts %+v", arts)
	}
}

// An input artifact no earlier action produced fails the action, named.
func TestMissingInputArtifactFailsTheAction(t *testing.T) {
	h := newHarness(t, definition("", stage("Build", action("Build", "Fake", 1, inputs("source_output")))))
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)
	if a := findAction(h.view(id), "Build", "Build"); !strings.Contains(a.ErrorMessage, "source_output") {
		t.Fatalf("error %q", a.ErrorMessage)
	}
}

// A provider error, a panic and an unknown provider fail the action with the
// reason; none takes the engine down.
func TestProviderErrorsFailTheAction(t *testing.T) {
	h := newHarness(t, definition("", stage("Build",
		action("Err", "Fake", 1), action("Panic", "Fake", 1), action("Unknown", "NoSuchProvider", 1))))
	h.fake.on("Err", func(context.Context, *pipeline.ActionRun) (pipeline.Outcome, error) {
		return pipeline.Outcome{}, os.ErrPermission
	})
	h.fake.on("Panic", func(context.Context, *pipeline.ActionRun) (pipeline.Outcome, error) { panic("provider bug") })
	id := h.start(pipeline.StartRequest{})
	h.await(h.runAsync(id), pipeline.StatusFailed)
	v := h.view(id)
	for action, want := range map[string]string{"Err": "permission denied", "Panic": "provider panicked: provider bug",
		"Unknown": `no provider "NoSuchProvider"`} {
		if a := findAction(v, "Build", action); a.Status != pipeline.StatusFailed || !strings.Contains(a.ErrorMessage, want) {
			t.Errorf("%s: %s %q, want Failed with %q", action, a.Status, a.ErrorMessage, want)
		}
	}
}
