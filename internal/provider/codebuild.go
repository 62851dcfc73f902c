package provider

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// CodeBuild runs a build project's buildspec on the input artifact.
type CodeBuild struct {
	Def *manifest.Definition
	// Env is added to every build's environment, after the project's (e.g.
	// GREENLIGHT_DOCKER=1 when a service runs on Docker).
	Env []string

	numbers sync.Mutex // serializes build number increments in this process
}

// DefaultTimeout is CodeBuild's default build timeout.
func (p *CodeBuild) DefaultTimeout() time.Duration { return 60 * time.Minute }

// Run runs one build of the action's project.
func (p *CodeBuild) Run(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
	project, ok := p.Def.BuildProjects[a.Config["ProjectName"]]
	if !ok {
		return failed("build project %q is not defined under build_projects", a.Config["ProjectName"]), nil
	}
	source := artifactDir(a, a.Config["PrimarySource"])
	if source == "" {
		return failed("the CodeBuild action needs an input artifact (inputs: %s)", inputNames(a)), nil
	}
	specPath := filepath.Join(source, cmp.Or(project.Buildspec, "buildspec.yml"))
	spec, err := manifest.ReadFile(specPath, manifest.ParseBuildspec)
	if err != nil {
		return failed("%v", err), nil
	}
	env, err := p.environment(ctx, project, a.Config["EnvironmentVariables"])
	if err != nil {
		return failed("%v", err), nil
	}
	id := project.Name + ":" + strings.ToLower(rand.Text()[:16])
	number, err := p.nextBuildNumber(a.StateDir, project.Name)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	workDir := filepath.Join(a.StateDir, "builds", strings.ReplaceAll(id, ":", "-"))
	secondaryDir := filepath.Join(workDir + "-secondary")
	req := build.Request{
		BuildID: id, BuildNumber: number, Project: project.Name, Buildspec: spec,
		SourceDir: source, SecondarySources: secondarySources(a, source), WorkDir: workDir,
		Env: env, Secrets: Secrets{Def: p.Def}, ResolvedSourceVersion: a.Source.CommitID,
		Initiator: "codepipeline/" + a.Pipeline, CacheDir: filepath.Join(a.StateDir, "cache", project.Name),
		SecondaryArtifactsDir: secondaryDir, Timeout: project.Timeout.D(), Log: a.Log,
	}
	// Without an output artifact the buildspec's artifacts are still collected, as
	// CodeBuild does, but kept beside the build instead of passed on.
	req.ArtifactsDir = workDir + "-artifacts"
	if len(a.Outputs) > 0 {
		req.ArtifactsDir = a.Outputs[0].Dir
	}
	res, err := build.Run(ctx, req)
	if err != nil {
		return pipeline.Outcome{}, fmt.Errorf("build %s: %w", id, err)
	}
	if err := placeSecondaryArtifacts(secondaryDir, a.Outputs); err != nil {
		return pipeline.Outcome{}, err
	}
	if err := pruneBuilds(filepath.Dir(workDir), project.Name, keepBuilds); err != nil {
		fmt.Fprintf(a.Log, "warning: prune old build directories: %v\n", err)
	}
	return buildOutcome(id, res), nil
}

// keepBuilds is how many work directories of a project stay for inspection.
const keepBuilds = 10

// pruneBuilds removes a project's oldest build work directories beyond keep (the
// artifacts a build produced live in the artifact store, not here).
func pruneBuilds(dir, project string, keep int) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type build struct {
		name string
		mod  time.Time
	}
	var builds []build
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, project+"-") || strings.HasSuffix(name, "-artifacts") || strings.HasSuffix(name, "-secondary") {
			continue
		}
		if info, err := e.Info(); err == nil {
			builds = append(builds, build{name, info.ModTime()})
		}
	}
	sort.Slice(builds, func(i, j int) bool { return builds[i].mod.After(builds[j].mod) })
	var errs []error
	for _, b := range builds[min(keep, len(builds)):] {
		for _, suffix := range []string{"", "-artifacts", "-secondary"} {
			errs = append(errs, os.RemoveAll(filepath.Join(dir, b.name+suffix)))
		}
	}
	return errors.Join(errs...)
}

// environment is the project's variables (secrets resolved), then the action's
// EnvironmentVariables (CodePipeline's JSON list), then greenlight's own.
func (p *CodeBuild) environment(ctx context.Context, project *manifest.BuildProject, actionVars string) ([]string, error) {
	vars := append([]*manifest.EnvironmentVariable(nil), project.EnvironmentVariables...)
	if actionVars != "" {
		var extra []*manifest.EnvironmentVariable
		if err := json.Unmarshal([]byte(actionVars), &extra); err != nil {
			return nil, fmt.Errorf("configuration EnvironmentVariables: want a JSON list of {\"name\", \"value\", \"type\"}: %w", err)
		}
		vars = append(vars, extra...)
	}
	secrets := Secrets{Def: p.Def}
	env := make([]string, 0, len(vars)+len(p.Env))
	for _, v := range vars {
		value := v.Value
		var err error
		switch v.Type {
		case manifest.EnvParameterStore:
			value, err = secrets.ParameterStore(ctx, v.Value)
		case manifest.EnvSecretsManager:
			value, err = secrets.SecretsManager(ctx, v.Value)
		}
		if err != nil {
			return nil, fmt.Errorf("environment variable %s: %w", v.Name, err)
		}
		env = append(env, v.Name+"="+value)
	}
	return append(env, p.Env...), nil
}

// nextBuildNumber counts a project's builds (CODEBUILD_BUILD_NUMBER).
func (p *CodeBuild) nextBuildNumber(stateDir, project string) (int, error) {
	p.numbers.Lock()
	defer p.numbers.Unlock()
	path := filepath.Join(stateDir, "builds", project+".number")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	n := 0
	if b, err := os.ReadFile(path); err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	n++
	return n, atomicfile.Write(path, []byte(strconv.Itoa(n)+"\n"), 0o644)
}

func secondarySources(a *pipeline.ActionRun, primary string) map[string]string {
	out := map[string]string{}
	for _, in := range a.Inputs {
		if in.Dir != primary {
			out[in.Name] = in.Dir
		}
	}
	return out
}

// placeSecondaryArtifacts moves each secondary artifact (named by its identifier)
// into the output artifact of the same name, as CodePipeline matches them.
func placeSecondaryArtifacts(dir string, outputs []pipeline.Artifact) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		for _, out := range outputs[min(1, len(outputs)):] {
			if out.Name != e.Name() {
				continue
			}
			if err := os.Remove(out.Dir); err != nil {
				return fmt.Errorf("secondary artifact %s: %w", e.Name(), err)
			}
			if err := os.Rename(filepath.Join(dir, e.Name()), out.Dir); err != nil {
				return fmt.Errorf("secondary artifact %s: %w", e.Name(), err)
			}
		}
	}
	return os.RemoveAll(dir)
}

func buildOutcome(id string, res *build.Result) pipeline.Outcome {
	out := pipeline.Outcome{
		Status:          pipeline.Succeeded,
		OutputVariables: res.ExportedVariables,
		Data:            map[string]any{"build_id": id, "build_status": string(res.Status), "reports": res.Reports},
	}
	summary := []string{id}
	for _, r := range res.Reports {
		summary = append(summary, reportLine(r))
	}
	out.Summary = strings.Join(summary, "; ")
	if res.Status != build.StatusSucceeded {
		out.Status = pipeline.Failed
		out.ErrorMessage = fmt.Sprintf("build %s %s: %s", id, res.Status, res.Failure)
		out.Summary = out.ErrorMessage
	}
	return out
}

func reportLine(r report.Report) string {
	switch {
	case r.Tests != nil:
		t := r.Tests
		return fmt.Sprintf("%s: %d tests, %d passed, %d failed, %d skipped", r.Group, t.Total, t.Passed, t.Failed+t.Errors, t.Skipped)
	case r.Coverage != nil:
		return fmt.Sprintf("%s: line coverage %.1f%%", r.Group, 100*r.Coverage.LineRate)
	}
	return r.Group
}
