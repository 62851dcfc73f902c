package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ValidateFiles checks, without running anything, the files def names that exist
// in the source tree at sourceDir: each build project's buildspec (and the secrets
// it reads); for each CodeDeployToECS action its appspec and the deployment
// group's task_definition_template, checked against each other and against the
// group's hooks; for each ECS action its imagedefinitions file. Files a build
// produces are skipped when absent, except a buildspec read from the source
// artifact. Returns every problem found.
func ValidateFiles(def *Definition, sourceDir string) error {
	v := &filesCheck{def: def, dir: sourceDir, buildspecs: map[string]*Buildspec{}}
	for _, name := range slices.Sorted(maps.Keys(def.BuildProjects)) {
		v.buildspec(def.BuildProjects[name])
	}
	for _, l := range def.actions() {
		switch l.action.Provider {
		case ProviderCodeDeployToECS:
			v.codeDeploy(l.action)
		case ProviderECS:
			v.imageDefinitions(l.action)
		}
	}
	v.exportedVariables()
	return v.errs.Err()
}

type filesCheck struct {
	def        *Definition
	dir        string
	errs       ErrorList
	buildspecs map[string]*Buildspec // by build project
}

// actions lists the pipeline's actions with their place, in file order.
func (def *Definition) actions() []located {
	var out []located
	if def.Pipeline == nil {
		return nil
	}
	for si, s := range def.Pipeline.Stages {
		for _, a := range s.Actions {
			out = append(out, located{index: len(out), stage: si, sname: s.Name, action: a})
		}
	}
	return out
}

// read returns a file of the source tree and the name errors show for it; ok is
// false when it does not exist (or cannot be read, which is reported).
func (v *filesCheck) read(rel string) (data []byte, name string, ok bool) {
	name = rel
	if !filepath.IsAbs(rel) {
		name = filepath.Join(v.dir, rel)
	}
	data, err := os.ReadFile(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, name, false
	case err != nil:
		v.errs.add(Pos{File: name}, "cannot read: %v", err)
		return nil, name, false
	}
	return data, name, true
}

func (v *filesCheck) buildspec(bp *BuildProject) {
	data, name, ok := v.read(bp.Buildspec)
	if !ok {
		if v.readsSource(bp.Name) {
			v.errs.add(v.defPos(bp.Pos), "build project %q: buildspec %s does not exist in the source tree", bp.Name, name)
		}
		return
	}
	bs, err := ParseBuildspec(name, data)
	if err != nil {
		v.errs.merge(Pos{File: name}, err)
		return
	}
	v.buildspecs[bp.Name] = bs
	d := &decoder{}
	for _, kv := range bs.Env.SecretsManager {
		d.checkSecretRef(v.def, EnvSecretsManager, kv.Value, kv.Pos, "secrets-manager")
	}
	for _, kv := range bs.Env.ParameterStore {
		d.checkSecretRef(v.def, EnvParameterStore, kv.Value, kv.Pos, "parameter-store")
	}
	v.errs = append(v.errs, d.errs...)
}

// readsSource reports whether an action builds project from the source artifact,
// where its buildspec must then be.
func (v *filesCheck) readsSource(project string) bool {
	sources := map[string]bool{}
	for _, l := range v.def.actions() {
		if l.action.Category == CategorySource {
			for _, o := range l.action.OutputArtifacts {
				sources[o] = true
			}
		}
	}
	for _, l := range v.def.actions() {
		a := l.action
		if a.Provider != ProviderCodeBuild || a.Configuration["ProjectName"] != project || len(a.InputArtifacts) == 0 {
			continue
		}
		primary := cmp.Or(a.Configuration["PrimarySource"], a.InputArtifacts[0])
		if sources[primary] {
			return true
		}
	}
	return false
}

// defPos is a position in greenlight.yaml.
func (v *filesCheck) defPos(p Pos) Pos {
	if p.File == "" {
		p.File = v.def.Path
	}
	return p
}

// config resolves a configuration value as an execution started without
// overrides would: #{variables.X} takes X's default value. ok is false when the
// value depends on what an execution produces.
func (v *filesCheck) config(a *Action, key string) (string, bool) {
	value, err := ExpandVariables(a.Configuration[key], func(ns, name string) (string, bool) {
		if ns != NamespaceVariables {
			return "", false
		}
		for _, pv := range v.def.Pipeline.Variables {
			if pv.Name == name {
				return pv.DefaultValue, true
			}
		}
		return "", false
	})
	return value, err == nil
}

func (v *filesCheck) codeDeploy(a *Action) {
	appName, okApp := v.config(a, "ApplicationName")
	groupName, okGroup := v.config(a, "DeploymentGroupName")
	group, ok := v.def.DeploymentGroup(appName, groupName)
	app := v.appSpec(a)
	if !ok || !okApp || !okGroup {
		return
	}
	if app != nil {
		v.hooksMapped(app, group)
	}
	if group.TaskDefinitionTemplate == "" {
		return
	}
	data, name, found := v.read(group.TaskDefinitionTemplate)
	if !found {
		v.errs.add(v.defPos(group.Pos), "deployment group %q: task_definition_template %s does not exist", group.Name, name)
		return
	}
	td, err := ParseTaskDefinition(name, data)
	if err != nil {
		v.errs.merge(Pos{File: name}, err)
		return
	}
	v.imagePlaceholders(a, td)
	v.containerSecrets(td)
	if app != nil {
		v.errs.merge(Pos{File: app.Path}, ValidateRevision(app, td))
	}
}

func (v *filesCheck) appSpec(a *Action) *AppSpec {
	path, resolved := v.config(a, "AppSpecTemplatePath")
	if !resolved {
		return nil
	}
	data, name, ok := v.read(cmp.Or(path, "appspec.yaml"))
	if !ok {
		return nil
	}
	app, err := ParseAppSpec(name, data)
	if err != nil {
		v.errs.merge(Pos{File: name}, err)
		return nil
	}
	return app
}

// hooksMapped: every function the appspec hooks must be mapped in the group.
func (v *filesCheck) hooksMapped(app *AppSpec, g *DeploymentGroup) {
	for _, h := range app.Hooks {
		if _, ok := g.Hooks[h.Function]; ok {
			continue
		}
		v.errs.add(h.Pos, "Hooks: %s runs %q, which %s does not map under applications.%s.deployment_groups.%s.hooks (mapped: %s)",
			h.Event, h.Function, filepath.Base(v.def.Path), g.Application, g.Name, allowedNames(slices.Sorted(maps.Keys(g.Hooks)), "none"))
	}
}

// containerSecrets: every secret a container reads must have a local source.
func (v *filesCheck) containerSecrets(td *TaskDefinition) {
	for _, c := range td.ContainerDefinitions {
		for _, sec := range c.Secrets {
			kind, ref := ContainerSecretSource(sec.ValueFrom)
			if msg := secretRefProblem(v.def, kind, ref); msg != "" {
				v.errs.add(posOr(sec.Pos, c.Pos, td.Path), "secrets: %s: %s", sec.Name, msg)
			}
		}
	}
}

// imagePlaceholders: CodePipeline writes ImageN's URI where the task definition
// says "<ImageNContainerName>"; a template without the placeholder fails there.
func (v *filesCheck) imagePlaceholders(a *Action, td *TaskDefinition) {
	for i := 1; i <= 4; i++ {
		placeholder, ok := v.config(a, fmt.Sprintf("Image%dContainerName", i))
		if placeholder == "" || !ok {
			continue
		}
		want := "<" + placeholder + ">"
		if !slices.ContainsFunc(td.ContainerDefinitions, func(c *ContainerDefinition) bool { return strings.Contains(c.Image, want) }) {
			v.errs.add(posOr(td.Pos, Pos{}, td.Path), "no container image is %q, the placeholder action %q fills from Image%dContainerName", want, a.Name, i)
		}
	}
}

func (v *filesCheck) imageDefinitions(a *Action) {
	path, resolved := v.config(a, "FileName")
	if !resolved {
		return
	}
	data, name, ok := v.read(cmp.Or(path, "imagedefinitions.json"))
	if !ok {
		return
	}
	if _, err := ParseImageDefinitions(name, data); err != nil {
		v.errs.merge(Pos{File: name}, err)
	}
}

// exportedVariables: #{ns.key} naming a CodeBuild action's namespace must name a
// variable its buildspec exports.
func (v *filesCheck) exportedVariables() {
	exporters := map[string]*Buildspec{}
	for _, l := range v.def.actions() {
		a := l.action
		if bs := v.buildspecs[a.Configuration["ProjectName"]]; a.Provider == ProviderCodeBuild && a.Namespace != "" && bs != nil {
			exporters[a.Namespace] = bs
		}
	}
	for _, l := range v.def.actions() {
		a := l.action
		for _, key := range slices.Sorted(maps.Keys(a.Configuration)) {
			refs, _ := VariableRefs(a.Configuration[key])
			for _, r := range refs {
				bs := exporters[r.Namespace]
				if bs == nil || slices.Contains(bs.Env.ExportedVariables, r.Key) {
					continue
				}
				v.errs.add(v.defPos(a.ConfigurationPos[key]), "%s: %s: %s does not export %s (exported-variables: %s)",
					key, r, bs.Path, r.Key, allowedNames(bs.Env.ExportedVariables, "none"))
			}
		}
	}
}

// ReadFile reads path and parses it with parse (ParseAppSpec, ParseTaskDefinition,
// ...), naming the file when it cannot be read.
func ReadFile[T any](path string, parse func(string, []byte) (T, error)) (T, error) {
	var zero T
	data, err := os.ReadFile(path)
	if err != nil {
		return zero, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return parse(path, data)
}
