package awsrender

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// CodeBuild's limits on a project's build timeout, in minutes.
const (
	minBuildTimeout = 5
	maxBuildTimeout = 2160
)

// reportTypes maps the report formats CodeBuild accepts to its report group types;
// greenlight's own additions (GOTESTJSON, GOCOVER) are absent.
var reportTypes = map[string]string{
	manifest.ReportJUnitXML: "TEST", manifest.ReportCucumberJSON: "TEST", manifest.ReportNUnitXML: "TEST",
	manifest.ReportNUnit3XML: "TEST", manifest.ReportTestNGXML: "TEST", manifest.ReportVisualStudio: "TEST",
	manifest.CoverageClover: "CODE_COVERAGE", manifest.CoverageCobertura: "CODE_COVERAGE",
	manifest.CoverageJaCoCo: "CODE_COVERAGE", manifest.CoverageSimpleCov: "CODE_COVERAGE",
}

// runsDocker: a command that starts the docker CLI needs CodeBuild's privileged mode.
var runsDocker = regexp.MustCompile(`(^|[\s;&|(])docker\s`)

func (r *renderer) buildProjects() (map[string]BuildProject, error) {
	out := map[string]BuildProject{}
	for _, name := range slices.Sorted(maps.Keys(r.def.BuildProjects)) {
		bp := r.def.BuildProjects[name]
		bs, err := manifest.ReadFile(r.path(bp.Buildspec), manifest.ParseBuildspec)
		if err != nil {
			return nil, fmt.Errorf("build project %q: %w", name, err)
		}
		out[name] = BuildProject{
			Buildspec:            bp.Buildspec,
			TimeoutInMinutes:     r.buildTimeout(bp),
			EnvironmentVariables: environment(bp.EnvironmentVariables),
			Privileged:           runsDockerCommands(bs),
			ReportGroups:         r.reportGroups(name, bs),
			CachePaths:           bs.Cache != nil && len(bs.Cache.Paths) > 0,
			Parameters:           secretIDs(bp, bs.Env.ParameterStore, manifest.EnvParameterStore),
			Secrets:              secretIDs(bp, bs.Env.SecretsManager, manifest.EnvSecretsManager),
		}
	}
	return out, nil
}

// buildTimeout: CodeBuild counts whole minutes, 5 to 2160.
func (r *renderer) buildTimeout(bp *manifest.BuildProject) int {
	minutes := ceilMinutes(bp.Timeout.D())
	field := "build_projects." + bp.Name + ".timeout"
	switch {
	case minutes < minBuildTimeout:
		r.findings.add(bp.Pos, field, Changed, "%s is below CodeBuild's minimum; rendered as %d minutes", bp.Timeout.D(), minBuildTimeout)
		return minBuildTimeout
	case minutes > maxBuildTimeout:
		r.findings.add(bp.Pos, field, Changed, "%s is above CodeBuild's maximum; rendered as %d minutes", bp.Timeout.D(), maxBuildTimeout)
		return maxBuildTimeout
	case bp.Timeout.D()%time.Minute != 0:
		r.findings.add(bp.Pos, field, Changed, "%s is not a whole number of minutes; rendered as %d minutes", bp.Timeout.D(), minutes)
	}
	return minutes
}

func environment(vars []*manifest.EnvironmentVariable) []EnvironmentVariable {
	out := []EnvironmentVariable{}
	for _, v := range vars {
		out = append(out, EnvironmentVariable{Name: v.Name, Value: v.Value, Type: v.Type})
	}
	return out
}

// secretIDs lists the ids of one kind (Parameter Store or Secrets Manager) that a
// project's variables and its buildspec's env read, without json-key or version.
func secretIDs(bp *manifest.BuildProject, fromBuildspec []manifest.KeyValue, kind string) []string {
	var refs []string
	for _, v := range bp.EnvironmentVariables {
		if v.Type == kind {
			refs = append(refs, v.Value)
		}
	}
	for _, kv := range fromBuildspec {
		refs = append(refs, kv.Value)
	}
	out := []string{}
	for _, ref := range refs {
		id := ref
		if kind == manifest.EnvSecretsManager {
			id = manifest.ParseSecretRef(ref).ID
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func runsDockerCommands(bs *manifest.Buildspec) bool {
	for _, ph := range bs.Phases.List() {
		for _, c := range append(append([]manifest.Command{}, ph.Commands...), ph.Finally...) {
			if runsDocker.MatchString(c.Text) {
				return true
			}
		}
	}
	return false
}

// reportGroups lists the buildspec's report groups CodeBuild accepts; the others
// are findings at the report's position in the buildspec.
func (r *renderer) reportGroups(project string, bs *manifest.Buildspec) map[string]string {
	out := map[string]string{}
	for _, rg := range bs.Reports {
		if t, ok := reportTypes[rg.FileFormat]; ok {
			out[rg.Name] = t
			continue
		}
		r.findings.add(rg.Pos, fmt.Sprintf("build_projects.%s.buildspec.reports.%s.file-format", project, rg.Name), LocalOnly,
			"%s is greenlight's own format, which CodeBuild does not accept (tests: JUNITXML, CUCUMBERJSON, NUNITXML, NUNIT3XML, TESTNGXML, VISUALSTUDIOTRX; coverage: CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV)", rg.FileFormat)
	}
	return out
}

// ceilMinutes rounds up to whole minutes.
func ceilMinutes(d time.Duration) int {
	return int((d + time.Minute - 1) / time.Minute)
}
