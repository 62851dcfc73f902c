package provider

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/mask"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// CodeBuild runs a build project's buildspec on the input artifact.
type CodeBuild struct {
	Def *manifest.Definition
	// Env is added to every build's environment, after the project's (e.g.
	// GREENLIGHT_DOCKER=1 when a service runs on Docker).
	Env []string
	// HiddenEnv names more variables of this process's environment no build
	// inherits, beyond those its own definition reads secrets from
	// (Definition.SecretEnv): under `greenlight serve`, those of every other
	// definition served.
	HiddenEnv []string
}

// hiddenEnv is what a build does not inherit for carrying a secret.
func (p *CodeBuild) hiddenEnv() []string {
	return slices.Concat(p.Def.SecretEnv(), p.HiddenEnv)
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
	// Positions name the buildspec as the repository has it (buildspec.yml:5:15),
	// as validate does, not the artifact's copy in the state directory.
	specName := cmp.Or(project.Buildspec, "buildspec.yml")
	data, err := os.ReadFile(filepath.Join(source, specName))
	if err != nil {
		return failed("read %s: %v", specName, err), nil
	}
	spec, err := manifest.ParseBuildspec(specName, data)
	if err != nil {
		return failed("%v", err), nil
	}
	env, masked, err := p.environment(ctx, project, a.Config["EnvironmentVariables"])
	if err != nil {
		return failed("%v", err), nil
	}
	// Everything this action says from here on passes the mask: its log, its
	// outcome and its errors.
	masker := mask.NewMasker(masked)
	log := masker.Writer(a.Log)
	defer log.Close()
	out, err := p.runBuild(ctx, a, project, spec, source, env, masked, log)
	return maskOutcome(out, masker), mask.Err(err, masker)
}

func (p *CodeBuild) runBuild(ctx context.Context, a *pipeline.ActionRun, project *manifest.BuildProject, spec *manifest.Buildspec,
	source string, env, masked []string, log io.Writer) (pipeline.Outcome, error) {
	builds := build.Workspaces{Dir: filepath.Join(a.StateDir, "builds")}
	ws, err := builds.Create(project.Name)
	if err != nil {
		return pipeline.Outcome{}, err
	}
	defer ws.Release()
	req := build.Request{
		BuildID: ws.ID, BuildNumber: ws.Number, Project: project.Name, Buildspec: spec,
		SourceDir: source, SecondarySources: secondarySources(a, source), WorkDir: ws.WorkDir,
		Env: env, Masked: masked, HiddenEnv: p.hiddenEnv(), Secrets: Secrets{Def: p.Def}, ResolvedSourceVersion: a.Source.CommitID,
		Initiator: "codepipeline/" + a.Pipeline, CacheDir: filepath.Join(a.StateDir, "cache", project.Name), CacheType: project.Cache.Type,
		SecondaryArtifactsDir: ws.SecondaryDir, Timeout: project.Timeout.D(), Log: log,
		Started: recordProcesses(a),
	}
	// Without an output artifact the buildspec's artifacts are still collected, as
	// CodeBuild does, but kept beside the build instead of passed on.
	req.ArtifactsDir = ws.ArtifactsDir
	if len(a.Outputs) > 0 {
		req.ArtifactsDir = a.Outputs[0].Dir
	}
	res, err := build.Run(ctx, req)
	if err != nil {
		return pipeline.Outcome{}, err // names the build
	}
	if err := placeSecondaryArtifacts(ws.SecondaryDir, a.Outputs); err != nil {
		return pipeline.Outcome{}, err
	}
	if _, err := builds.Prune(project.Name, p.Def.Retention.KeepBuilds(), false); err != nil {
		fmt.Fprintf(log, "warning: prune old build directories: %v\n", err)
	}
	return buildOutcome(ws.ID, res), nil
}

// recordProcesses records the build's process group on the action attempt, so
// that the process resuming it after a crash kills what is left of it first.
func recordProcesses(a *pipeline.ActionRun) func(procfs.Group) error {
	if a.RecordProcessGroup == nil {
		return nil
	}
	return func(g procfs.Group) error {
		return a.RecordProcessGroup(pipeline.ProcessGroup{PGID: g.PGID, Start: g.Start, Env: g.Env})
	}
}

// environment is the project's variables (secrets resolved), then the action's
// EnvironmentVariables (CodePipeline's JSON list), then greenlight's own; masked
// holds the values read from secret sources.
func (p *CodeBuild) environment(ctx context.Context, project *manifest.BuildProject, actionVars string) (env, masked []string, err error) {
	vars := append([]*manifest.EnvironmentVariable(nil), project.EnvironmentVariables...)
	if actionVars != "" {
		var extra []*manifest.EnvironmentVariable
		if err := json.Unmarshal([]byte(actionVars), &extra); err != nil {
			return nil, nil, fmt.Errorf("configuration EnvironmentVariables: want a JSON list of {\"name\", \"value\", \"type\"}: %w", err)
		}
		vars = append(vars, extra...)
	}
	secrets := Secrets{Def: p.Def}
	env = make([]string, 0, len(vars)+len(p.Env))
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
			return nil, nil, fmt.Errorf("environment variable %s: %w", v.Name, err)
		}
		if v.Type == manifest.EnvParameterStore || v.Type == manifest.EnvSecretsManager {
			masked = append(masked, value)
		}
		env = append(env, v.Name+"="+value)
	}
	return append(env, p.Env...), masked, nil
}

// maskOutcome hides secrets in what an action's outcome shows: its summary,
// error, output variables and data (reports).
func maskOutcome(out pipeline.Outcome, m *mask.Masker) pipeline.Outcome {
	out.Summary, out.ErrorMessage = m.Mask(out.Summary), m.Mask(out.ErrorMessage)
	for k, v := range out.OutputVariables {
		out.OutputVariables[k] = m.Mask(v)
	}
	if reports, ok := out.Data["reports"].([]report.Report); ok {
		out.Data["reports"] = build.MaskReports(reports, m)
	}
	return out
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
