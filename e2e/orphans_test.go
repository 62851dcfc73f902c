package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// orphanDefinition is a pipeline of a source and a build, nothing to deploy.
const orphanDefinition = `version: 1
pipeline:
  name: app
  stages:
    - {name: Source, actions: [{name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}]}
    - {name: Build, actions: [{name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: app}}]}
build_projects:
  app: {}
`

// orphanBuildspec starts a background sleep, then, the first time only, a long
// foreground one; each writes its pid to DIR. A resumed build runs through.
const orphanBuildspec = `version: 0.2
phases:
  build:
    commands:
      - sleep 300 & echo $! > DIR/background.pid
      - if [ ! -e DIR/once ]; then touch DIR/once; sh -c 'echo $$ > DIR/foreground.pid; exec sleep 301'; fi
      - echo built
`

// process is one process by pid and start time: a reused pid is another one.
type process struct {
	pid   int
	start uint64
}

func (p process) String() string { return fmt.Sprintf("pid %d (start %d)", p.pid, p.start) }

// crashBuild runs the pipeline with `greenlight run` and SIGKILLs it while the
// build's command sleeps, as the audit did. It returns the project and the
// build's two sleeps, checked to be still running.
func crashBuild(t *testing.T) (*project, []process) {
	t.Helper()
	p := &project{t: t, repo: filepath.Join(t.TempDir(), "app")}
	marks := t.TempDir()
	if err := os.MkdirAll(p.repo, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"greenlight.yaml": orphanDefinition,
		"buildspec.yml":   strings.ReplaceAll(orphanBuildspec, "DIR", marks),
		".gitignore":      ".greenlight/\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(p.repo, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.git("init", "-q", "-b", "main")
	p.commit("app")
	p.downAtCleanup()

	run := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "run")
	var out syncBuffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	var sleeps []process
	eventually(t, 60*time.Second, "the build's sleeps to start", func() bool {
		sleeps = nil
		for _, name := range []string{"background.pid", "foreground.pid"} {
			data, _ := os.ReadFile(filepath.Join(marks, name))
			pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
			if err != nil {
				return false
			}
			st, err := procfs.ReadStat(pid)
			if err != nil {
				return false
			}
			sleeps = append(sleeps, process{pid, st.StartTime})
		}
		return true
	})
	t.Cleanup(func() {
		for _, s := range sleeps {
			if procfs.Alive(s.pid, s.start) {
				_ = syscall.Kill(s.pid, syscall.SIGKILL)
			}
		}
	})
	_ = run.Process.Signal(syscall.SIGKILL)
	_ = run.Wait() // killed: its status says nothing
	for _, s := range sleeps {
		if !procfs.Alive(s.pid, s.start) {
			t.Fatalf("the build's sleep %s ended with greenlight: nothing left to test\nrun:\n%s", s, out.String())
		}
	}
	return p, sleeps
}

// checkSleepsGone fails unless the crashed build's sleeps have ended: resuming
// kills them before it builds again.
func checkSleepsGone(t *testing.T, sleeps []process, out string) {
	t.Helper()
	for _, s := range sleeps {
		if procfs.Alive(s.pid, s.start) {
			t.Errorf("the crashed build's sleep %s still runs after the build was resumed\n%s", s, out)
		}
	}
}

// executionStatus is `greenlight status --json`'s status.
func (p *project) executionStatus() string {
	o, code := p.run(context.Background(), "status", "--json")
	var st struct {
		Status string `json:"status"`
	}
	if code != 0 || json.Unmarshal([]byte(o), &st) != nil {
		return ""
	}
	return st.Status
}

// A SIGKILL of `greenlight run` during a build leaves the build's commands
// running; `greenlight resume` kills them (the foreground command and one in
// the background), by pid and start time, before it builds again.
func TestResumeKillsWhatTheCrashedBuildLeftRunning(t *testing.T) {
	p, sleeps := crashBuild(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	o, code := p.run(ctx, "resume")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, o)
	}
	checkSleepsGone(t, sleeps, o)
	if !strings.Contains(o, "Build started: resumed after a restart; killed 3 process(es) the previous attempt left running") {
		t.Errorf("resume does not say it killed the shell and both sleeps:\n%s", o)
	}
	if st := p.executionStatus(); st != "Succeeded" {
		t.Errorf("after resume the execution is %q, want Succeeded\n%s", st, o)
	}
}

// `greenlight serve` resumes what a crashed `greenlight run` left, and kills the
// crashed build's processes first too.
func TestServeKillsWhatTheCrashedBuildLeftRunning(t *testing.T) {
	p, sleeps := crashBuild(t)
	srv := exec.Command(binary, "-f", filepath.Join(p.repo, "greenlight.yaml"), "serve", "--listen", testnet.FreeAddr(t))
	var out syncBuffer
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	eventually(t, 3*time.Minute, "serve to finish the resumed execution", func() bool {
		st := p.executionStatus()
		if st != "" && st != "InProgress" && st != "Succeeded" {
			t.Fatalf("the resumed execution ended %s\nserve:\n%s", st, out.String())
		}
		return st == "Succeeded"
	})
	checkSleepsGone(t, sleeps, out.String())
	_ = srv.Process.Signal(syscall.SIGTERM)
}
