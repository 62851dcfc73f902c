package build

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// A toolchain is how to find the versions of a runtime on this machine: the
// first probe command found on the build's PATH, and the versions in its output.
type toolchain struct {
	probes  [][]string
	version *regexp.Regexp // every match is a version installed (dotnet lists several SDKs)
}

var toolchains = map[string]toolchain{
	"golang": {[][]string{{"go", "version"}}, regexp.MustCompile(`go(\d+(?:\.\d+)*)`)},
	"python": {[][]string{{"python3", "--version"}, {"python", "--version"}}, regexp.MustCompile(`Python (\d+(?:\.\d+)*)`)},
	"nodejs": {[][]string{{"node", "--version"}}, regexp.MustCompile(`v(\d+(?:\.\d+)*)`)},
	"java":   {[][]string{{"java", "-version"}}, regexp.MustCompile(`version "(\d+(?:\.\d+)*)`)},
	"ruby":   {[][]string{{"ruby", "--version"}}, regexp.MustCompile(`ruby (\d+(?:\.\d+)*)`)},
	"php":    {[][]string{{"php", "--version"}}, regexp.MustCompile(`PHP (\d+(?:\.\d+)*)`)},
	"dotnet": {[][]string{{"dotnet", "--list-sdks"}}, regexp.MustCompile(`(?m)^(\d+(?:\.\d+)*)`)},
}

// probeTimeout bounds one version command (a JVM starting on a loaded machine).
const probeTimeout = 30 * time.Second

// checkRuntimes checks the install phase's runtime-versions against the
// toolchains on this machine, with the build's environment. It returns why they
// do not match, "" when they do.
func (b *builder) checkRuntimes(ctx context.Context, p *manifest.Phase) string {
	var problems []string
	for _, name := range slices.Sorted(maps.Keys(p.RuntimeVersions)) {
		asked := p.RuntimeVersions[name]
		found, source := b.installed(ctx, name)
		at := at(p.RuntimeVersionPos[name])
		switch {
		case len(found) == 0:
			problems = append(problems, fmt.Sprintf("%s %s asked%s, but %s", name, asked, at, source))
		case !runtimeMatches(name, asked, found):
			problems = append(problems, fmt.Sprintf("%s %s asked%s, this machine has %s (%s)", name, asked, at, strings.Join(found, ", "), source))
		default:
			b.logf("Runtime %s %s: %s (%s)", name, asked, strings.Join(found, ", "), source)
		}
	}
	return strings.Join(problems, "; ")
}

// installed returns the versions of a runtime on this machine and the command
// that said so, or why none was found.
func (b *builder) installed(ctx context.Context, name string) ([]string, string) {
	if name == "android" {
		return androidPlatforms(b.shellCfg.env)
	}
	tc := toolchains[name]
	var tried []string
	for _, probe := range tc.probes {
		path := lookPathIn(probe[0], envValue(b.shellCfg.env, "PATH"))
		if path == "" {
			tried = append(tried, probe[0])
			continue
		}
		out, err := b.probe(ctx, path, probe[1:])
		cmd := strings.Join(probe, " ")
		var versions []string
		for _, m := range tc.version.FindAllStringSubmatch(out, -1) {
			versions = append(versions, normalizeVersion(name, m[1]))
		}
		if len(versions) == 0 {
			return nil, fmt.Sprintf("`%s` did not say a version (%v): %q", cmd, err, clipOutput(out))
		}
		return versions, cmd
	}
	return nil, fmt.Sprintf("%s is not installed on this machine (not on the build's PATH)", strings.Join(tried, " nor "))
}

func (b *builder) probe(ctx context.Context, path string, args []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env, cmd.Dir = b.shellCfg.env, b.workDir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out // java -version writes to stderr
	err := cmd.Run()
	return out.String(), err
}

// normalizeVersion turns Java's old "1.8.0" into 8.0.
func normalizeVersion(runtime, v string) string {
	if runtime == "java" && strings.HasPrefix(v, "1.") {
		return strings.TrimPrefix(v, "1.")
	}
	return v
}

// runtimeMatches reports whether one of the versions found satisfies asked:
// latest takes any; "20.x" and "corretto17.x" the major version; "1.22" every
// part it names (go1.22.5 satisfies 1.22; so does 1.22.5, not 1.22.6).
func runtimeMatches(runtime, asked string, found []string) bool {
	if asked == "latest" {
		return len(found) > 0
	}
	if runtime == "java" {
		asked = strings.TrimPrefix(strings.TrimPrefix(asked, "corretto"), "openjdk")
	}
	want := strings.Split(strings.TrimSuffix(asked, ".x"), ".")
	for _, v := range found {
		have := strings.Split(v, ".")
		if len(have) >= len(want) && equalParts(have[:len(want)], want) {
			return true
		}
	}
	return false
}

func equalParts(a, b []string) bool {
	for i := range a {
		if strings.TrimLeft(a[i], "0") != strings.TrimLeft(b[i], "0") {
			return false
		}
	}
	return true
}

// androidPlatforms lists the SDK platforms under $ANDROID_SDK_ROOT or
// $ANDROID_HOME (platforms/android-<N>).
func androidPlatforms(env []string) ([]string, string) {
	for _, name := range []string{"ANDROID_SDK_ROOT", "ANDROID_HOME"} {
		root := envValue(env, name)
		if root == "" {
			continue
		}
		dirs, _ := filepath.Glob(filepath.Join(root, "platforms", "android-*"))
		var versions []string
		for _, d := range dirs {
			versions = append(versions, strings.TrimPrefix(filepath.Base(d), "android-"))
		}
		if len(versions) > 0 {
			return versions, "$" + name + "/platforms"
		}
	}
	return nil, "no Android SDK platform is installed ($ANDROID_SDK_ROOT and $ANDROID_HOME hold none)"
}

// lookPathIn finds an executable the way the build's shell would, on its PATH.
func lookPathIn(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && !info.IsDir() && info.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func clipOutput(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
