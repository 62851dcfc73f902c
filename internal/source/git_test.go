package source

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

// gitRepo is a real repository made for one test.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T, dir string) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: dir}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("init", "--quiet", "-b", "main")
	r.git("config", "user.name", "Ada Lovelace")
	r.git("config", "user.email", "ada@example.com")
	r.git("config", "commit.gpgsign", "false")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitRepo) write(name, content string, mode os.FileMode) {
	r.t.Helper()
	path := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		r.t.Fatal(err)
	}
}

// commit commits everything and returns the commit id.
func (r *gitRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "--quiet", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// runSource runs the provider as the engine would, into a fresh output directory.
func runSource(t *testing.T, defDir string, cfg map[string]string, requested string) (pipeline.Outcome, string, string) {
	t.Helper()
	state := t.TempDir()
	out := filepath.Join(state, "artifacts", "exec", "source_output")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	a := &pipeline.ActionRun{
		Pipeline: "orders", ExecutionID: "exec", Stage: "Source", Action: "Source", Attempt: 1,
		Def:    &manifest.Action{Name: "Source", Category: manifest.CategorySource, Provider: manifest.ProviderGit},
		Config: cfg, Outputs: []pipeline.Artifact{{Name: "source_output", Dir: out}},
		Log: &log, Events: event.Discard, StateDir: state, DefinitionDir: defDir, RequestedRevision: requested,
		Logger: slog.New(slog.DiscardHandler),
	}
	o, err := New().Run(context.Background(), a)
	if err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	return o, out, log.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExportsTheCommittedTreeNotTheWorkingCopy(t *testing.T) {
	root := t.TempDir()
	r := newRepo(t, filepath.Join(root, "orders-service"))
	r.write("main.go", "package main // v1\n", 0o644)
	r.write("scripts/build.sh", "#!/bin/sh\necho build\n", 0o755)
	if err := os.Symlink("main.go", filepath.Join(r.dir, "link.go")); err != nil {
		t.Fatal(err)
	}
	id := r.commit("add orders\n\nwith a body line")
	r.write("main.go", "package main // uncommitted\n", 0o644)
	r.write("untracked.txt", "x", 0o644)

	o, out, log := runSource(t, root, map[string]string{"Repository": "orders-service"}, "")
	if o.Status != pipeline.Succeeded {
		t.Fatalf("outcome %+v\n%s", o, log)
	}
	if got := readFile(t, filepath.Join(out, "main.go")); got != "package main // v1\n" {
		t.Errorf("main.go = %q, want the committed content", got)
	}
	if fi, err := os.Stat(filepath.Join(out, "scripts", "build.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("build.sh lost its executable bit: %v %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(out, "link.go")); err != nil || target != "main.go" {
		t.Errorf("symlink: %q %v", target, err)
	}
	for _, absent := range []string{"untracked.txt", ".git"} {
		if _, err := os.Lstat(filepath.Join(out, absent)); err == nil {
			t.Errorf("%s was exported", absent)
		}
	}
	want := map[string]string{"CommitId": id, "BranchName": "main", "CommitMessage": "add orders\n\nwith a body line",
		"AuthorDisplayName": "Ada Lovelace", "FullRepositoryName": "orders-service", "ConnectionArn": "local", "ProviderType": "Git"}
	for k, v := range want {
		if o.OutputVariables[k] != v {
			t.Errorf("%s = %q, want %q", k, o.OutputVariables[k], v)
		}
	}
	if d := o.OutputVariables["AuthorDate"]; !strings.Contains(d, "T") || len(d) < 20 {
		t.Errorf("AuthorDate %q is not ISO 8601", d)
	}
	if !strings.HasPrefix(o.Summary, id[:12]+" add orders") {
		t.Errorf("summary %q", o.Summary)
	}
}

func TestRequestedRevisionOverridesTheBranch(t *testing.T) {
	r := newRepo(t, t.TempDir())
	r.write("VERSION", "1", 0o644)
	first := r.commit("one")
	r.write("VERSION", "2", 0o644)
	r.commit("two")
	r.git("branch", "feature", first)

	o, out, _ := runSource(t, r.dir, map[string]string{"BranchName": "main"}, first)
	if o.Status != pipeline.Succeeded || readFile(t, filepath.Join(out, "VERSION")) != "1" || o.OutputVariables["CommitId"] != first {
		t.Fatalf("requested commit: %+v", o)
	}
	o, out, _ = runSource(t, r.dir, nil, "feature")
	if o.OutputVariables["BranchName"] != "feature" || readFile(t, filepath.Join(out, "VERSION")) != "1" {
		t.Fatalf("requested branch: %+v", o.OutputVariables)
	}
	o, out, _ = runSource(t, r.dir, nil, "")
	if o.OutputVariables["BranchName"] != "main" || readFile(t, filepath.Join(out, "VERSION")) != "2" {
		t.Fatalf("current branch: %+v", o.OutputVariables)
	}
}

// The definition lives in examples/orders of a larger repository: that
// subdirectory is the artifact's root.
func TestMonorepoSubdirectoryIsTheArtifactRoot(t *testing.T) {
	r := newRepo(t, t.TempDir())
	r.write("README.md", "monorepo", 0o644)
	before := r.commit("root only")
	r.write("examples/orders/greenlight.yaml", "version: 1\n", 0o644)
	r.write("examples/orders/buildspec.yml", "version: 0.2\n", 0o644)
	r.commit("add example")
	defDir := filepath.Join(r.dir, "examples", "orders")

	o, out, _ := runSource(t, defDir, map[string]string{"Repository": "."}, "")
	if o.Status != pipeline.Succeeded {
		t.Fatalf("outcome %+v", o)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "buildspec.yml,greenlight.yaml" {
		t.Fatalf("artifact root holds %v", names)
	}
	o, _, _ = runSource(t, defDir, nil, before)
	if o.Status != pipeline.Failed || !strings.Contains(o.ErrorMessage, "subdirectory examples/orders does not exist") {
		t.Fatalf("commit without the subdirectory: %+v", o)
	}
}

func TestRemoteRepositoryIsMirroredAndFetched(t *testing.T) {
	origin := newRepo(t, filepath.Join(t.TempDir(), "myorg", "orders-service"))
	origin.write("VERSION", "1", 0o644)
	origin.commit("one")
	url := "file://" + origin.dir

	o, out, _ := runSource(t, t.TempDir(), map[string]string{"Repository": url}, "")
	if o.Status != pipeline.Succeeded || readFile(t, filepath.Join(out, "VERSION")) != "1" {
		t.Fatalf("first fetch: %+v", o)
	}
	if o.OutputVariables["FullRepositoryName"] != "myorg/orders-service" || o.OutputVariables["BranchName"] != "main" {
		t.Fatalf("variables %+v", o.OutputVariables)
	}
	origin.write("VERSION", "2", 0o644)
	second := origin.commit("two")
	o, out, _ = runSource(t, t.TempDir(), map[string]string{"Repository": url, "BranchName": "main"}, "")
	if o.OutputVariables["CommitId"] != second || readFile(t, filepath.Join(out, "VERSION")) != "2" {
		t.Fatalf("second fetch: %+v", o.OutputVariables)
	}
}

func TestBadRepositoriesFailClearly(t *testing.T) {
	notRepo := t.TempDir()
	r := newRepo(t, t.TempDir())
	r.write("a", "a", 0o644)
	r.commit("a")
	tests := []struct {
		name, defDir string
		cfg          map[string]string
		requested    string
		want         string
	}{
		{"not a repository", notRepo, nil, "", "is not a git repository"},
		{"missing directory", notRepo, map[string]string{"Repository": "nope"}, "", "nope: not a directory"},
		{"unknown branch", r.dir, map[string]string{"BranchName": "release"}, "", "branch release not found in " + r.dir + " (branches: main)"},
		{"unknown revision", r.dir, nil, "deadbeef", "revision deadbeef not found"},
		{"option-like revision", r.dir, nil, "--output=/tmp/x", "revision --output=/tmp/x not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, _ := runSource(t, tt.defDir, tt.cfg, tt.requested)
			if o.Status != pipeline.Failed || !strings.Contains(o.ErrorMessage, tt.want) {
				t.Fatalf("outcome %+v, want Failed with %q", o, tt.want)
			}
		})
	}
}

func TestIsURL(t *testing.T) {
	for s, want := range map[string]bool{
		"https://github.com/myorg/orders.git": true, "git@github.com:myorg/orders.git": true, "file:///srv/git/x": true,
		".": false, "../orders": false, "/srv/git/orders": false, "dir/with@at:colon/x": false,
	} {
		if isURL(s) != want {
			t.Errorf("isURL(%q) = %v", s, !want)
		}
	}
}
