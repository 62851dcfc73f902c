package build_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// runtimeBuild runs a build whose install phase asks for versions; extraPath
// goes first on the build's PATH.
func runtimeBuild(t *testing.T, versions map[string]string, extraPath string) (*build.Result, string) {
	t.Helper()
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2"}
	install := phase("install", w.cmds("touch install-ran"))
	install.RuntimeVersions, install.RuntimeVersionPos = versions, map[string]manifest.Pos{}
	for name := range versions {
		install.RuntimeVersionPos[name] = manifest.Pos{File: "buildspec.yml", Line: 5, Column: 17}
	}
	spec.Phases.Install = install
	spec.Phases.Build = phase("build", w.cmds("touch build-ran"))
	f := newFixture(t, spec)
	if extraPath != "" {
		f.req.Env = []string{"PATH=" + extraPath + string(os.PathListSeparator) + os.Getenv("PATH")}
	}
	res := f.run(t)
	return res, f.log.String()
}

// goVersion is the Go this test was built with: the go on PATH.
func goVersion(t *testing.T) (full, minor string) {
	full = strings.TrimPrefix(runtime.Version(), "go")
	parts := strings.Split(full, ".")
	if len(parts) < 2 {
		t.Skipf("Go %s has no minor version", full)
	}
	return full, parts[0] + "." + parts[1]
}

func TestRuntimeVersionsMatchTheGoOnThisMachine(t *testing.T) {
	full, minor := goVersion(t)
	for _, asked := range []string{minor, full, "1.x", "latest"} {
		res, log := runtimeBuild(t, map[string]string{"golang": asked}, "")
		wantStatus(t, res, build.StatusSucceeded, stringer(log))
		if !strings.Contains(log, "Runtime golang "+asked+": "+full+" (go version)") {
			t.Errorf("golang %s: log does not say what was found:\n%s", asked, log)
		}
	}
}

func TestRuntimeVersionMismatchFailsTheInstallPhase(t *testing.T) {
	full, _ := goVersion(t)
	res, log := runtimeBuild(t, map[string]string{"golang": "1.19"}, "")
	wantStatus(t, res, build.StatusFailed, stringer(log))
	want := "phase install: runtime-versions: golang 1.19 asked (buildspec.yml:5:17), this machine has " + full + " (go version)"
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if got := phaseNames(res); got != "install=FAILED" {
		t.Errorf("phases %s; want the install phase failed and nothing after", got)
	}
	if !strings.Contains(log, "Phase context: RUNTIME_VERSIONS: golang 1.19 asked") {
		t.Errorf("log:\n%s", log)
	}
}

// fakeTools writes version commands printing what the real tools print.
func fakeTools(t *testing.T) string {
	dir := t.TempDir()
	for name, output := range map[string]string{
		"node":   "echo v20.11.1",
		"java":   `echo 'openjdk version "17.0.9" 2023-10-17' >&2; echo 'OpenJDK Runtime Environment (build 17.0.9+9-Debian-1deb12u1)' >&2`,
		"ruby":   "echo 'ruby 3.1.2p20 (2022-04-12 revision 4491bb740a) [x86_64-linux-gnu]'",
		"php":    "echo 'PHP 8.2.7 (cli) (built: Jun  9 2023 19:37:27) (NTS)'",
		"dotnet": "echo '6.0.417 [/usr/share/dotnet/sdk]'; echo '8.0.100 [/usr/share/dotnet/sdk]'",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+output+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRuntimeVersionsOfEveryToolchain(t *testing.T) {
	tools := fakeTools(t)
	match := map[string]string{"nodejs": "20", "java": "corretto17", "ruby": "3.x", "php": "8.2", "dotnet": "8.0"}
	res, log := runtimeBuild(t, match, tools)
	wantStatus(t, res, build.StatusSucceeded, stringer(log))
	for _, line := range []string{"Runtime java corretto17: 17.0.9 (java -version)", "Runtime dotnet 8.0: 6.0.417, 8.0.100 (dotnet --list-sdks)", "Runtime nodejs 20: 20.11.1 (node --version)"} {
		if !strings.Contains(log, line) {
			t.Errorf("log lacks %q:\n%s", line, log)
		}
	}
	mismatch := map[string]string{"nodejs": "18.x", "java": "corretto21", "ruby": "3.3", "php": "7.x", "dotnet": "7.0"}
	res, log = runtimeBuild(t, mismatch, tools)
	wantStatus(t, res, build.StatusFailed, stringer(log))
	for _, part := range []string{"dotnet 7.0 asked (buildspec.yml:5:17), this machine has 6.0.417, 8.0.100 (dotnet --list-sdks)",
		"java corretto21 asked (buildspec.yml:5:17), this machine has 17.0.9 (java -version)", "nodejs 18.x asked", "php 7.x asked", "ruby 3.3 asked"} {
		if !strings.Contains(res.Failure, part) {
			t.Errorf("failure lacks %q: %s", part, res.Failure)
		}
	}
}

func TestMissingRuntimeFailsTheInstallPhase(t *testing.T) {
	empty := t.TempDir()
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Env: manifest.BuildEnv{Variables: []manifest.KeyValue{{Key: "PATH", Value: empty}}}}
	spec.Phases.Install = phase("install", w.cmds("true"))
	spec.Phases.Install.RuntimeVersions = map[string]string{"php": "8.3"}
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	if !strings.Contains(res.Failure, "php 8.3 asked, but php is not installed on this machine (not on the build's PATH)") {
		t.Errorf("failure %q", res.Failure)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
