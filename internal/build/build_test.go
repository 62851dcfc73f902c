package build_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/procfs"
)

// These tests run real builds: a real bash or sh, real files in t.TempDir().

// line numbers the commands as if written in buildspec.yml, from line 10 on.
type specWriter struct{ line int }

func (w *specWriter) cmds(texts ...string) []manifest.Command {
	var out []manifest.Command
	for _, text := range texts {
		w.line++
		out = append(out, manifest.Command{Text: text, Pos: manifest.Pos{File: "buildspec.yml", Line: 10 + w.line, Column: 9}})
	}
	return out
}

func phase(name string, commands []manifest.Command, finally ...manifest.Command) *manifest.Phase {
	return &manifest.Phase{Name: name, OnFailure: manifest.OnFailureAbort, Commands: commands, Finally: finally}
}

// safeBuffer is a log that the test may read while the build writes.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	req build.Request
	log *safeBuffer
}

func newFixture(t *testing.T, spec *manifest.Buildspec) *fixture {
	t.Helper()
	root := t.TempDir()
	src := filepath.Join(root, "source")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	log := &safeBuffer{}
	return &fixture{log: log, req: build.Request{
		BuildID:               "orders-build:5f0c2a8e-1111-4c2b-9e1d-000000000001",
		BuildNumber:           7,
		Project:               "orders-build",
		Buildspec:             spec,
		SourceDir:             src,
		WorkDir:               filepath.Join(root, "work"),
		ResolvedSourceVersion: "0123456789abcdef0123456789abcdef01234567",
		Initiator:             "codepipeline/orders",
		ArtifactsDir:          filepath.Join(root, "artifacts"),
		SecondaryArtifactsDir: filepath.Join(root, "secondary"),
		Timeout:               2 * time.Minute,
		Log:                   log,
	}}
}

func (f *fixture) writeSource(t *testing.T, name, body string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(f.req.SourceDir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) run(t *testing.T) *build.Result {
	t.Helper()
	res, err := build.Run(context.Background(), f.req)
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, f.log)
	}
	return res
}

func wantStatus(t *testing.T, res *build.Result, status build.Status, log fmt.Stringer) {
	t.Helper()
	if res.Status != status {
		t.Fatalf("status %s (failure %q), want %s\nlog:\n%s", res.Status, res.Failure, status, log)
	}
}

func phaseNames(res *build.Result) string {
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name+"="+string(p.Status))
	}
	return strings.Join(names, " ")
}

func TestShellStateCarriesAcrossCommandsAndPhases(t *testing.T) {
	for _, shell := range []string{"bash", "sh"} {
		t.Run(shell, func(t *testing.T) {
			var w specWriter
			spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{Shell: shell}}
			spec.Phases.Install = phase("install", w.cmds(
				"COLOR=blue", // not exported
				"greet() { echo \"hello $1\"; }",
				"mkdir -p sub/dir && cd sub/dir",
			))
			spec.Phases.Build = phase("build", w.cmds(
				"echo \"color=$COLOR\"",
				"greet world",
				"echo \"pwd=$(pwd)\"",
			))
			f := newFixture(t, spec)
			res := f.run(t)
			wantStatus(t, res, build.StatusSucceeded, f.log)
			work, _ := filepath.Abs(f.req.WorkDir)
			for _, want := range []string{"\ncolor=blue\n", "\nhello world\n", "\npwd=" + filepath.Join(work, "sub/dir") + "\n"} {
				if !strings.Contains(f.log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, f.log)
				}
			}
			if got := phaseNames(res); got != "install=SUCCEEDED build=SUCCEEDED upload_artifacts=SUCCEEDED" {
				t.Errorf("phases: %s", got)
			}
		})
	}
}

func TestFailingCommandIsNamedWithPhasePositionAndStatus(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds("echo compiling", "sh -c 'exit 3'", "echo never-runs"))
	spec.Phases.PostBuild = phase("post_build", w.cmds("echo \"post_build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING\""))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	want := "phase build: command `sh -c 'exit 3'` (buildspec.yml:12:9) exited with status 3"
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	b := res.Phases[0]
	if b.Name != "build" || b.Status != build.StatusFailed || b.ExitCode != 3 || b.Position.Line != 12 || b.Command != "sh -c 'exit 3'" {
		t.Errorf("build phase = %+v", b)
	}
	log := f.log.String()
	if strings.Contains(log, "\nnever-runs\n") {
		t.Error("a command after the failing one ran")
	}
	// A failed build still runs post_build, which knows the build is failing.
	if !strings.Contains(log, "\npost_build sees succeeding=0\n") {
		t.Errorf("post_build did not run with CODEBUILD_BUILD_SUCCEEDING=0:\n%s", log)
	}
	if !strings.Contains(log, "Phase context: COMMAND_EXECUTION_ERROR: Error while executing command: sh -c 'exit 3'. Reason: exit status 3") {
		t.Errorf("log lacks the phase context:\n%s", log)
	}
}

func TestPhaseTransitions(t *testing.T) {
	tests := []struct {
		name      string
		failIn    string
		onFailure string
		ran       string // phases that ran
		artifacts bool
	}{
		{"install fails: skip to the end", "install", "", "install=FAILED", false},
		{"pre_build fails: skip to the end", "pre_build", "", "install=SUCCEEDED pre_build=FAILED", false},
		{"build fails: post_build and artifacts still run", "build", "",
			"install=SUCCEEDED pre_build=SUCCEEDED build=FAILED post_build=SUCCEEDED upload_artifacts=SUCCEEDED", true},
		{"post_build fails: artifacts still uploaded", "post_build", "",
			"install=SUCCEEDED pre_build=SUCCEEDED build=SUCCEEDED post_build=FAILED upload_artifacts=SUCCEEDED", true},
		{"install fails with on-failure CONTINUE: the next phases run", "install", manifest.OnFailureContinue,
			"install=FAILED pre_build=SUCCEEDED build=SUCCEEDED post_build=SUCCEEDED upload_artifacts=SUCCEEDED", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w specWriter
			spec := &manifest.Buildspec{Version: "0.2", Artifacts: &manifest.BuildArtifacts{Files: []string{"out.txt"}}}
			mk := func(name string) *manifest.Phase {
				cmd := "echo " + name + " >> out.txt"
				if name == tt.failIn {
					cmd = "false"
				}
				p := phase(name, w.cmds(cmd))
				if name == tt.failIn && tt.onFailure != "" {
					p.OnFailure = tt.onFailure
				}
				return p
			}
			spec.Phases = manifest.BuildPhases{Install: mk("install"), PreBuild: mk("pre_build"), Build: mk("build"), PostBuild: mk("post_build")}
			f := newFixture(t, spec)
			f.writeSource(t, "out.txt", "source\n", 0o644)
			res := f.run(t)
			wantStatus(t, res, build.StatusFailed, f.log)
			if got := phaseNames(res); got != tt.ran {
				t.Errorf("phases %s\nwant   %s", got, tt.ran)
			}
			_, err := os.Stat(filepath.Join(f.req.ArtifactsDir, "out.txt"))
			if uploaded := err == nil; uploaded != tt.artifacts {
				t.Errorf("artifact uploaded = %v, want %v", uploaded, tt.artifacts)
			}
		})
	}
}

func TestFinallyRunsAfterFailureAndCanFailAPhase(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Install = phase("install", w.cmds("echo setup"), w.cmds("echo install-finally")...)
	spec.Phases.Build = phase("build", w.cmds("false", "echo skipped-command"), w.cmds("echo build-finally", "echo second-finally")...)
	spec.Phases.PostBuild = phase("post_build", w.cmds("echo post"), w.cmds("exit 9", "echo after-failed-finally")...)
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	log := f.log.String()
	for _, want := range []string{"\ninstall-finally\n", "\nbuild-finally\n", "\nsecond-finally\n", "\npost\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	for _, not := range []string{"\nskipped-command\n", "\nafter-failed-finally\n"} {
		if strings.Contains(log, not) {
			t.Errorf("log has %q", not)
		}
	}
	// The first failure is the build's; post_build failed in its finally block.
	if !strings.HasPrefix(res.Failure, "phase build: command `false` (buildspec.yml:13:9) exited with status 1") {
		t.Errorf("failure = %q", res.Failure)
	}
	post := res.Phases[2]
	if post.Status != build.StatusFailed || !post.Finally || post.ExitCode != 9 || post.Command != "exit 9" {
		t.Errorf("post_build = %+v", post)
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("GREENLIGHT_TEST_API_TOKEN", "inherited-credential")
	t.Setenv("GREENLIGHT_TEST_PLAIN", "inherited-plain")
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{Variables: []manifest.KeyValue{
		{Key: "LITERAL", Value: "$HOME/not-expanded"},
		{Key: "OVERRIDDEN", Value: "from-buildspec"},
		{Key: "CODEBUILD_BUILD_ID", Value: "forged"},
	}}}
	spec.Phases.Build = phase("build", w.cmds(
		`echo "literal=$LITERAL"`,
		`echo "overridden=$OVERRIDDEN"`,
		`echo "token=${GREENLIGHT_TEST_API_TOKEN-unset} plain=$GREENLIGHT_TEST_PLAIN"`,
		`env | grep '^CODEBUILD_' | sort`,
		`cat "$CODEBUILD_SRC_DIR_tools/tool.txt"`,
	))
	f := newFixture(t, spec)
	tools := t.TempDir()
	if err := os.WriteFile(filepath.Join(tools, "tool.txt"), []byte("secondary-source-content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.req.SecondarySources = map[string]string{"tools": tools}
	f.req.Env = []string{"OVERRIDDEN=from-project", "OVERRIDDEN=from-pipeline"}
	before := time.Now().UnixMilli()
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	log := f.log.String()
	work, _ := filepath.Abs(f.req.WorkDir)
	for _, want := range []string{
		"\nliteral=$HOME/not-expanded\n",
		"\noverridden=from-pipeline\n",
		"\ntoken=unset plain=inherited-plain\n",
		"\nCODEBUILD_BUILD_ID=orders-build:5f0c2a8e-1111-4c2b-9e1d-000000000001\n",
		"\nCODEBUILD_BUILD_ARN=arn:aws:codebuild:local:000000000000:build/orders-build:5f0c2a8e-1111-4c2b-9e1d-000000000001\n",
		"\nCODEBUILD_BUILD_NUMBER=7\n",
		"\nCODEBUILD_BUILD_IMAGE=local\n",
		"\nCODEBUILD_BUILD_SUCCEEDING=1\n",
		"\nCODEBUILD_CI=true\n",
		"\nCODEBUILD_INITIATOR=codepipeline/orders\n",
		"\nCODEBUILD_LOG_PATH=5f0c2a8e-1111-4c2b-9e1d-000000000001\n",
		"\nCODEBUILD_RESOLVED_SOURCE_VERSION=0123456789abcdef0123456789abcdef01234567\n",
		"\nCODEBUILD_SOURCE_VERSION=0123456789abcdef0123456789abcdef01234567\n",
		"\nCODEBUILD_SRC_DIR=" + work + "\n",
		"\nsecondary-source-content\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	i := strings.Index(log, "CODEBUILD_START_TIME=")
	if i < 0 {
		t.Fatalf("no CODEBUILD_START_TIME in\n%s", log)
	}
	ms, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(log[i+len("CODEBUILD_START_TIME="):], "\n", 2)[0]), 10, 64)
	if err != nil || ms < before-60_000 || ms > time.Now().UnixMilli() {
		t.Errorf("CODEBUILD_START_TIME = %d (err %v), build started at %d", ms, err, before)
	}
}

// secrets is a SecretResolver over fixed maps.
type secrets struct {
	manager, params map[string]string
}

func (s secrets) SecretsManager(_ context.Context, ref string) (string, error) {
	if v, ok := s.manager[ref]; ok {
		return v, nil
	}
	return "", errors.New("no such secret in the local secret sources")
}

func (s secrets) ParameterStore(_ context.Context, name string) (string, error) {
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	return "", errors.New("no such parameter")
}

func TestSecretsAreMaskedEverywhere(t *testing.T) {
	const password = "hunter2-Zq9"
	const key = "-----BEGIN TEST KEY-----\nMIIBsecretkeylineone\nMIIBsecretkeylinetwo\n-----END TEST KEY-----"
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{
		SecretsManager: []manifest.KeyValue{{Key: "DB_PASSWORD", Value: "prod/db:password"}, {Key: "TLS_KEY", Value: "prod/tls"}},
		ParameterStore: []manifest.KeyValue{{Key: "API_URL_TOKEN", Value: "/orders/token"}},
	}}
	spec.Phases.Build = phase("build", w.cmds(
		`echo "password is $DB_PASSWORD"`,
		`echo "$TLS_KEY"`,
		`echo "token=$API_URL_TOKEN"`,
		`printf '<testsuite><testcase name="login"><failure message="bad password %s"/></testcase></testsuite>' "$DB_PASSWORD" > junit.xml`,
		`echo `+password+` >&2; false`,
	))
	spec.Reports = []*manifest.ReportGroup{{Name: "unit", Files: []string{"junit.xml"}, FileFormat: manifest.ReportJUnitXML}}
	f := newFixture(t, spec)
	f.req.Secrets = secrets{
		manager: map[string]string{"prod/db:password": password, "prod/tls": key},
		params:  map[string]string{"/orders/token": "tok-77-abc"},
	}
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	log := f.log.String()
	for _, secret := range []string{password, "MIIBsecretkeylineone", "MIIBsecretkeylinetwo", "tok-77-abc"} {
		if strings.Contains(log, secret) || strings.Contains(res.Failure, secret) {
			t.Errorf("secret %q leaked:\nfailure %q\nlog:\n%s", secret, res.Failure, log)
		}
	}
	if !strings.Contains(log, "\npassword is ***\n") || !strings.Contains(log, "\ntoken=***\n") {
		t.Errorf("masked lines missing:\n%s", log)
	}
	if want := "command `echo *** >&2; false`"; !strings.Contains(res.Failure, want) {
		t.Errorf("failure %q lacks %q", res.Failure, want)
	}
	if len(res.Reports) != 1 || res.Reports[0].Tests.Cases[0].Message != "bad password ***" {
		t.Errorf("report = %+v", res.Reports)
	}
}

func TestMissingSecretFailsBeforeAnyPhase(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{SecretsManager: []manifest.KeyValue{
		{Key: "DB_PASSWORD", Value: "prod/db:password", Pos: manifest.Pos{File: "buildspec.yml", Line: 5, Column: 18}},
	}}}
	spec.Phases.Install = phase("install", w.cmds("touch install-ran"))
	f := newFixture(t, spec)
	f.req.Secrets = secrets{}
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	want := `env: secrets-manager variable DB_PASSWORD (buildspec.yml:5:18): secret "prod/db:password": no such secret in the local secret sources`
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if len(res.Phases) != 0 {
		t.Errorf("phases ran: %s", phaseNames(res))
	}
	if _, err := os.Stat(filepath.Join(f.req.WorkDir, "install-ran")); err == nil {
		t.Error("install ran")
	}
}

func TestExportedVariablesAreValuesAtTheEnd(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{
		Variables:         []manifest.KeyValue{{Key: "STAGE", Value: "initial"}},
		ExportedVariables: []string{"IMAGE_TAG", "STAGE", "NEVER_SET", "MULTI"},
	}}
	spec.Phases.Build = phase("build", w.cmds(
		"IMAGE_TAG=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7)", // a shell variable, not exported
		"STAGE=built",
	))
	spec.Phases.PostBuild = phase("post_build", w.cmds("STAGE=posted", "MULTI=$(printf 'a\\nb')"))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	want := map[string]string{"IMAGE_TAG": "0123456", "STAGE": "posted", "NEVER_SET": "", "MULTI": "a\nb"}
	if fmt.Sprint(res.ExportedVariables) != fmt.Sprint(want) {
		t.Errorf("exported = %q, want %q", res.ExportedVariables, want)
	}
}

func TestArtifacts(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Artifacts: &manifest.BuildArtifacts{
		Name:          "ignored-locally",
		Files:         []string{"**/*"},
		BaseDirectory: "dist",
		ExcludePaths:  []string{"**/*.tmp", "cache"},
		SecondaryArtifacts: []*manifest.BuildArtifacts{
			{Identifier: "reports", Files: []string{"test/**/*.xml", "no-such-file"}, DiscardPaths: true},
		},
	}}
	spec.Phases.Build = phase("build", w.cmds(
		"mkdir -p dist/bin dist/cache test/unit test/integration",
		"printf '#!/bin/sh\\necho app\\n' > dist/bin/app && chmod 755 dist/bin/app",
		"echo config > dist/app.conf && echo scratch > dist/bin/x.tmp && echo c > dist/cache/c",
		"echo '<testsuite/>' > test/unit/unit.xml && echo '<testsuite/>' > test/integration/it.xml",
	))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)

	info, err := os.Stat(filepath.Join(f.req.ArtifactsDir, "bin/app"))
	if err != nil || info.Mode().Perm() != 0o755 {
		t.Fatalf("bin/app: %v, mode %v; want an executable", err, info)
	}
	for _, p := range []string{"app.conf"} {
		if _, err := os.Stat(filepath.Join(f.req.ArtifactsDir, p)); err != nil {
			t.Error(err)
		}
	}
	for _, p := range []string{"bin/x.tmp", "cache/c", "dist"} {
		if _, err := os.Stat(filepath.Join(f.req.ArtifactsDir, p)); err == nil {
			t.Errorf("%s is in the artifact", p)
		}
	}
	for _, p := range []string{"unit.xml", "it.xml"} {
		if _, err := os.Stat(filepath.Join(f.req.SecondaryArtifactsDir, "reports", p)); err != nil {
			t.Errorf("secondary artifact: %v", err)
		}
	}
	want := []build.ArtifactResult{
		{Dir: f.req.ArtifactsDir, Files: 2},
		{Identifier: "reports", Dir: filepath.Join(f.req.SecondaryArtifactsDir, "reports"), Files: 2},
	}
	if fmt.Sprint(res.Artifacts) != fmt.Sprint(want) {
		t.Errorf("artifacts %+v\nwant %+v", res.Artifacts, want)
	}
	if !strings.Contains(f.log.String(), "Skipping invalid file path no-such-file") {
		t.Errorf("log does not mention the pattern that matched nothing")
	}
}

func TestNoMatchingArtifactFailsTheBuild(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Artifacts: &manifest.BuildArtifacts{
		Files: []string{"imagedefinitions.json"}, Pos: manifest.Pos{File: "buildspec.yml", Line: 30, Column: 3},
	}}
	spec.Phases.Build = phase("build", w.cmds("echo forgot to write it"))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	want := `phase upload_artifacts: primary artifact (buildspec.yml:30:3): no matching artifact paths found (files: imagedefinitions.json, base-directory: "")`
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
}

func TestCommandsDoNotReadTheCommandStream(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds(
		"cat", // reads stdin: must see EOF, not the next command
		"read line || echo no-input",
		"printf 'no newline at the end'",
		"echo after",
	))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	for _, want := range []string{"\nno-input\n", "\nno newline at the end\n", "\nafter\n"} {
		if !strings.Contains(f.log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, f.log)
		}
	}
}

func TestExitInACommandStartsANewShell(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Install = phase("install", w.cmds("KEPT=no", "exit 0"))
	spec.Phases.Build = phase("build", w.cmds(`echo "kept=${KEPT-lost}"`, "exit 4"))
	spec.Phases.PostBuild = phase("post_build", w.cmds(`echo "post succeeding=$CODEBUILD_BUILD_SUCCEEDING"`))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	log := f.log.String()
	for _, want := range []string{"\nkept=lost\n", "\npost succeeding=0\n", "The shell exited with status 4"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if !strings.Contains(res.Failure, "command `exit 4` (buildspec.yml:14:9) exited with status 4") {
		t.Errorf("failure = %q", res.Failure)
	}
}

func processGone(pid int) bool {
	// Signal 0 checks for existence; a zombie is gone for our purposes.
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err != nil || strings.Contains(string(stat), ") Z ")
}

func waitGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("background process %d still runs after the build ended", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Artifacts: &manifest.BuildArtifacts{Files: []string{"**/*"}}}
	spec.Phases.Build = phase("build", w.cmds("sleep 300 & echo $! > bg.pid", "sleep 300"), w.cmds("echo finally-must-not-run")...)
	spec.Phases.PostBuild = phase("post_build", w.cmds("echo post-must-not-run"))
	f := newFixture(t, spec)
	f.req.Timeout = 2 * time.Second
	res := f.run(t)
	wantStatus(t, res, build.StatusTimedOut, f.log)
	if want := "phase build: build timed out after 2s while running `sleep 300` (buildspec.yml:12:9)"; res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if got := phaseNames(res); got != "build=TIMED_OUT" {
		t.Errorf("phases: %s", got)
	}
	waitGone(t, filepath.Join(f.req.WorkDir, "bg.pid"))
	if strings.Contains(f.log.String(), "must-not-run") {
		t.Errorf("something ran after the timeout:\n%s", f.log)
	}
	if len(res.Artifacts) != 0 {
		t.Errorf("artifacts uploaded after a timeout: %+v", res.Artifacts)
	}
}

func TestCancelStopsTheBuild(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds("sleep 300 & echo $! > bg.pid", "sleep 300"))
	f := newFixture(t, spec)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// The header is logged before the command is handed to the shell.
		for ctx.Err() == nil && !strings.Contains(f.log.String(), "Running command sleep 300\n") {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
	}()
	res, err := build.Run(ctx, f.req)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, build.StatusStopped, f.log)
	if !strings.HasPrefix(res.Failure, "phase build: build stopped while running `sleep 300`") {
		t.Errorf("failure = %q", res.Failure)
	}
	waitGone(t, filepath.Join(f.req.WorkDir, "bg.pid"))
}

func TestBackgroundProcessesEndWithTheBuild(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds("sleep 300 > /dev/null 2>&1 & echo $! > server.pid"))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	waitGone(t, filepath.Join(f.req.WorkDir, "server.pid"))
}

func TestSourceIsCopiedNotChanged(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds("echo changed >> main.go", "./run.sh"))
	f := newFixture(t, spec)
	f.writeSource(t, "main.go", "package main\n", 0o644)
	f.writeSource(t, "run.sh", "#!/bin/sh\necho script-ran\n", 0o755)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	got, _ := os.ReadFile(filepath.Join(f.req.SourceDir, "main.go"))
	if string(got) != "package main\n" {
		t.Errorf("the source artifact changed: %q", got)
	}
	if !strings.Contains(f.log.String(), "\nscript-ran\n") {
		t.Errorf("an executable source file lost its mode:\n%s", f.log)
	}
}

func TestUnsupportedShell(t *testing.T) {
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{Shell: "fish"}}
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	if res.Failure != `env.shell: "fish" is not supported (allowed: bash, sh)` {
		t.Errorf("failure = %q", res.Failure)
	}
}

func TestBadRequest(t *testing.T) {
	if _, err := build.Run(context.Background(), build.Request{}); err == nil {
		t.Fatal("no error for an empty request")
	}
}

// goBinDir puts the go command that runs these tests on the build's PATH.
func goBinDir() string {
	goBin, err := exec.LookPath("go") // go test puts its own first on PATH
	if err != nil {
		panic("go test without go on PATH: " + err.Error())
	}
	return filepath.Dir(goBin)
}

func TestMultiLineCommandsAndSyntaxErrors(t *testing.T) {
	for _, shell := range []string{"bash", "sh"} {
		t.Run(shell, func(t *testing.T) {
			var w specWriter
			spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{Shell: shell}}
			spec.Phases.Install = phase("install", w.cmds(
				"cat <<EOF > f.txt\nline $CODEBUILD_BUILD_NUMBER\nEOF\nif [ -f f.txt ]; then\n  echo have-file\nfi",
			))
			spec.Phases.Build = phase("build", w.cmds(`echo "unterminated`))
			spec.Phases.PostBuild = phase("post_build", w.cmds("echo post-ran"))
			f := newFixture(t, spec)
			res := f.run(t)
			wantStatus(t, res, build.StatusFailed, f.log)
			got, err := os.ReadFile(filepath.Join(f.req.WorkDir, "f.txt"))
			if err != nil || string(got) != "line 7\n" {
				t.Errorf("here-document wrote %q (%v)", got, err)
			}
			for _, want := range []string{"\nhave-file\n", "\npost-ran\n"} {
				if !strings.Contains(f.log.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, f.log)
				}
			}
			if b := res.Phases[1]; b.Status != build.StatusFailed || b.ExitCode == 0 {
				t.Errorf("build phase with a syntax error = %+v", b)
			}
		})
	}
}

// Request.Started hears of every shell of a build (a command that ends the
// shell makes a new one), before it runs any command: the caller records the
// group durably, so that what a crashed greenlight leaves running is killed.
func TestStartedHearsOfEveryShellBeforeItRuns(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Install = phase("install", w.cmds("echo $$ > first.pid", "exit 0"))
	spec.Phases.Build = phase("build", w.cmds("echo $$ > second.pid"))
	f := newFixture(t, spec)
	var groups []procfs.Group
	var ranBefore []string
	f.req.Started = func(g procfs.Group) error {
		for _, name := range []string{"first.pid", "second.pid"} {
			if _, err := os.Stat(filepath.Join(f.req.WorkDir, name)); err == nil {
				ranBefore = append(ranBefore, name)
			}
		}
		groups = append(groups, g)
		return nil
	}
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	if len(groups) != 2 || len(ranBefore) != 1 || ranBefore[0] != "first.pid" {
		t.Fatalf("Started heard of %+v; commands that had run by then: %v; want two shells, the second after the first one's commands", groups, ranBefore)
	}
	for i, name := range []string{"first.pid", "second.pid"} {
		data, err := os.ReadFile(filepath.Join(f.req.WorkDir, name))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		g := groups[i]
		if g.PGID != pid || g.Start == 0 || g.Env != "CODEBUILD_BUILD_ID="+f.req.BuildID {
			t.Errorf("shell %d: group %+v, want pgid %d (the shell's $$), its start time, and CODEBUILD_BUILD_ID", i+1, g, pid)
		}
	}
}

// A build whose processes cannot be recorded runs nothing.
func TestStartedFailingRunsNothing(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	spec.Phases.Build = phase("build", w.cmds("touch ran"))
	f := newFixture(t, spec)
	f.req.Started = func(procfs.Group) error { return errors.New("state file is read-only") }
	res, err := build.Run(context.Background(), f.req)
	if err == nil || !strings.Contains(err.Error(), "record the build's processes: state file is read-only") || res.Status != build.StatusFault {
		t.Fatalf("Run = %+v, %v; want FAULT naming the record", res, err)
	}
	if _, err := os.Stat(filepath.Join(f.req.WorkDir, "ran")); err == nil {
		t.Error("a command ran although the build's processes were not recorded")
	}
}
