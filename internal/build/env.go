package build

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Local stand-ins for the AWS account and region in ARNs.
const (
	arnPrefix  = "arn:aws:codebuild:local:000000000000:"
	buildImage = "local"
)

// resolvedSecret is a buildspec env variable read from a secret source.
type resolvedSecret struct {
	name, value string
}

// resolveSecrets reads env.parameter-store then env.secrets-manager. A missing
// secret is a build failure before any phase runs; the message names the
// variable, where it is written and the reference (never a value).
func resolveSecrets(ctx context.Context, env manifest.BuildEnv, r SecretResolver) ([]resolvedSecret, string, error) {
	var out []resolvedSecret
	if len(env.ParameterStore)+len(env.SecretsManager) > 0 && r == nil {
		return nil, "", fmt.Errorf("buildspec reads secrets but the build has no SecretResolver")
	}
	for _, kv := range env.ParameterStore {
		v, err := r.ParameterStore(ctx, kv.Value)
		if err != nil {
			return nil, fmt.Sprintf("env: parameter-store variable %s%s: parameter %q: %v", kv.Key, at(kv.Pos), kv.Value, err), nil
		}
		out = append(out, resolvedSecret{kv.Key, v})
	}
	for _, kv := range env.SecretsManager {
		v, err := r.SecretsManager(ctx, kv.Value)
		if err != nil {
			return nil, fmt.Sprintf("env: secrets-manager variable %s%s: secret %q: %v", kv.Key, at(kv.Pos), kv.Value, err), nil
		}
		out = append(out, resolvedSecret{kv.Key, v})
	}
	return out, "", nil
}

// at is " (file:line:col)" for a known position, "" otherwise.
func at(p manifest.Pos) string {
	if p.File == "" && p.Line == 0 {
		return ""
	}
	return " (" + p.String() + ")"
}

// envList is an environment in which a later Set of a name replaces its value but
// keeps its first place.
type envList struct {
	names  []string
	values map[string]string
}

func (e *envList) Set(name, value string) {
	if e.values == nil {
		e.values = map[string]string{}
	}
	if _, ok := e.values[name]; !ok {
		e.names = append(e.names, name)
	}
	e.values[name] = value
}

func (e *envList) Environ() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, n+"="+e.values[n])
	}
	return out
}

// buildEnvironment assembles the shell's environment, later sources winning as in
// CodeBuild (buildspec < project and pipeline < CODEBUILD_* built-ins):
//  1. this process's environment, minus anything that may carry a secret (by
//     its name, a value equal to a secret's, or being one of req.HiddenEnv);
//  2. buildspec env.variables, set literally (CodeBuild does not expand them);
//  3. parameter-store and secrets-manager values;
//  4. req.Env (project, then pipeline);
//  5. the CODEBUILD_* variables.
func buildEnvironment(req *Request, workDir string, secondary map[string]string, masked []string, secrets []resolvedSecret, start time.Time) []string {
	var env envList
	secretValues := map[string]bool{}
	for _, v := range masked {
		secretValues[v] = true
	}
	for _, kv := range Inherited(req.HiddenEnv) {
		name, value, _ := strings.Cut(kv, "=")
		if secretValues[value] && value != "" {
			continue
		}
		env.Set(name, value)
	}
	for _, kv := range req.Buildspec.Env.Variables {
		env.Set(kv.Key, kv.Value)
	}
	for _, s := range secrets {
		env.Set(s.name, s.value)
	}
	for _, kv := range req.Env {
		if name, value, ok := strings.Cut(kv, "="); ok && name != "" {
			env.Set(name, value)
		}
	}
	for _, kv := range codebuildVariables(req, workDir, secondary, start) {
		env.Set(kv[0], kv[1])
	}
	return env.Environ()
}

func codebuildVariables(req *Request, workDir string, secondary map[string]string, start time.Time) [][2]string {
	_, logStream, _ := strings.Cut(req.BuildID, ":")
	vars := [][2]string{
		{"CODEBUILD_BUILD_ID", req.BuildID},
		{"CODEBUILD_BUILD_NUMBER", strconv.Itoa(req.BuildNumber)},
		{"CODEBUILD_BUILD_ARN", arnPrefix + "build/" + req.BuildID},
		{"CODEBUILD_PROJECT_ARN", arnPrefix + "project/" + req.Project},
		{"CODEBUILD_BUILD_IMAGE", buildImage},
		{"CODEBUILD_BUILD_SUCCEEDING", "1"},
		{"CODEBUILD_CI", "true"},
		{"CODEBUILD_INITIATOR", req.Initiator},
		{"CODEBUILD_LOG_PATH", logStream},
		{"CODEBUILD_RESOLVED_SOURCE_VERSION", req.ResolvedSourceVersion},
		{"CODEBUILD_SOURCE_VERSION", req.ResolvedSourceVersion},
		{"CODEBUILD_SRC_DIR", workDir},
		{"CODEBUILD_START_TIME", strconv.FormatInt(start.UnixMilli(), 10)},
	}
	for _, name := range slices.Sorted(maps.Keys(secondary)) {
		vars = append(vars, [2]string{"CODEBUILD_SRC_DIR_" + name, secondary[name]})
	}
	return vars
}

// Inherited is this process's environment as what greenlight runs from a
// repository's files (a build, a deployment hook), whose output others read,
// inherits it: without the variables whose names say they hold a credential
// (secretBearing), nor those named in hidden (the ones greenlight.yaml reads
// secrets from).
func Inherited(hidden []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || secretBearing(name) || slices.Contains(hidden, name) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// secretBearing reports whether an inherited variable's name says it holds a
// credential (a webhook URL is one: Slack's is a secret); those never reach a
// build, whose logs others read. CODEBUILD_* are the runner's to set.
func secretBearing(name string) bool {
	upper := strings.ToUpper(name)
	if strings.HasPrefix(upper, "CODEBUILD_") {
		return true
	}
	for _, word := range []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE_KEY", "API_KEY", "ACCESS_KEY", "SESSION_KEY", "AUTH", "WEBHOOK"} {
		if strings.Contains(upper, word) {
			return true
		}
	}
	return false
}
