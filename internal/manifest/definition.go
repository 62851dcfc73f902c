package manifest

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Load reads and validates greenlight.yaml; Path and Dir are set and defaults
// applied. Errors are an ErrorList with every problem found.
func Load(path string) (*Definition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline definition: %w", err)
	}
	return ParseDefinition(path, data)
}

// ParseDefinition parses and validates greenlight.yaml read from path.
func ParseDefinition(path string, data []byte) (*Definition, error) {
	d := newDecoder(path, false)
	root, ok := parseFile(parseYAML, d, data)
	if !ok {
		return nil, d.errs.Err()
	}
	if root.kind == kindNull && !root.broken {
		return nil, emptyFile(path, "a pipeline definition (version: 1, pipeline: ...)")
	}
	def := &Definition{Path: path, Dir: absDir(path)}
	d.definition(root, def)
	d.validateDefinition(def)
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	def.Warnings = d.warns
	sortErrors(def.Warnings)
	return def, nil
}

func absDir(path string) string {
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

// DeploymentConfig returns a CodeDeploy builtin config or a custom one by name.
func (d *Definition) DeploymentConfig(name string) (DeploymentConfig, bool) {
	if c, ok := BuiltinDeploymentConfigs[name]; ok {
		return c, true
	}
	if c, ok := d.DeploymentConfigs[name]; ok && c != nil {
		return *c, true
	}
	return DeploymentConfig{}, false
}

// DeploymentGroup returns the deployment group group of application app.
func (d *Definition) DeploymentGroup(app, group string) (*DeploymentGroup, bool) {
	a, ok := d.Applications[app]
	if !ok || a == nil {
		return nil, false
	}
	g, ok := a.DeploymentGroups[group]
	return g, ok && g != nil
}

// SecretEnv lists, sorted and once each, the environment variables of the
// greenlight process the definition reads secrets from: the sources under
// secrets, the webhook secret, and the notification targets' URLs and signing
// secrets. What greenlight starts from the repository's files (builds) must
// not inherit them.
func (d *Definition) SecretEnv() []string {
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" {
			seen[name] = true
		}
	}
	for _, name := range d.Secrets.Env() {
		add(name)
	}
	values := []*SecretValue{}
	if d.Webhook != nil {
		values = append(values, d.Webhook.Secret)
	}
	for _, r := range d.Notifications {
		for _, t := range r.Targets {
			switch {
			case t.Slack != nil:
				values = append(values, t.Slack.URL)
			case t.Webhook != nil:
				values = append(values, t.Webhook.Secret)
			}
		}
	}
	for _, v := range values {
		if v != nil {
			add(v.Env)
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Env lists, sorted and once each, the environment variables the secret
// sources read (none for a nil Secrets).
func (s *Secrets) Env() []string {
	if s == nil {
		return nil
	}
	seen := map[string]bool{}
	for _, sources := range []map[string]*SecretSource{s.SecretsManager, s.ParameterStore} {
		for _, src := range sources {
			if src != nil && src.Env != "" {
				seen[src.Env] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

func (d *decoder) definition(n *node, def *Definition) {
	d.object(n, "", def,
		req("version", func(v *node) {
			if version, ok := d.integer(v, "version"); ok && version != 1 {
				d.errorf(v.pos, "version: unsupported %d (allowed: 1)", version)
			}
			def.Version = 1
		}),
		req("pipeline", func(v *node) { def.Pipeline = d.pipeline(v) }),
		opt("build_projects", func(v *node) { def.BuildProjects = d.buildProjects(v) }),
		opt("services", func(v *node) { def.Services = d.services(v) }),
		opt("applications", func(v *node) { def.Applications = d.applications(v) }),
		opt("deployment_configs", func(v *node) { def.DeploymentConfigs = d.deploymentConfigs(v) }),
		opt("alarms", func(v *node) { def.Alarms = d.alarms(v) }),
		opt("secrets", func(v *node) { def.Secrets = d.secrets(v) }),
		opt("notifications", func(v *node) { def.Notifications = d.notifications(v) }),
		opt("webhook", func(v *node) { def.Webhook = d.webhookConfig(v) }),
		opt("retention", func(v *node) { def.Retention = d.retention(v) }),
	)
}

func (d *decoder) pipeline(n *node) *Pipeline {
	p := &Pipeline{Pos: n.pos, ExecutionMode: ExecutionModeSuperseded}
	d.object(n, "pipeline", p,
		req("name", func(v *node) {
			p.Name, _ = d.name(v, "name")
			if dotSegment(p.Name) {
				d.errorf(v.pos, "name: pipeline name %q is not allowed: browsers remove . and .. from the console's URLs (allowed: any name other than . and ..)", p.Name)
			}
		}),
		opt("execution_mode", func(v *node) {
			p.ExecutionMode, _ = d.enum(v, "execution_mode", ExecutionModeSuperseded, ExecutionModeQueued, ExecutionModeParallel)
		}),
		opt("variables", func(v *node) {
			d.list(v, "variables", func(_ int, item *node) { p.Variables = append(p.Variables, d.pipelineVariable(item)) })
		}),
		req("stages", func(v *node) {
			d.list(v, "stages", func(_ int, item *node) { p.Stages = append(p.Stages, d.stage(item)) })
			if v.kind == kindSeq && len(v.items) < 2 {
				d.errorf(v.pos, "stages: a pipeline needs at least two stages, found %d", len(v.items))
			}
		}),
		opt("triggers", func(v *node) { p.Triggers = d.triggers(v) }),
	)
	return p
}

func (d *decoder) pipelineVariable(n *node) *PipelineVariable {
	pv := &PipelineVariable{Pos: n.pos}
	d.object(n, "variable", pv,
		req("name", func(v *node) { pv.Name, _ = d.name(v, "name") }),
		opt("default_value", func(v *node) { pv.DefaultValue, _ = d.str(v, "default_value") }),
		opt("description", func(v *node) { pv.Description, _ = d.str(v, "description") }),
	)
	return pv
}

func (d *decoder) stage(n *node) *Stage {
	s := &Stage{Pos: n.pos}
	d.object(n, "stage", s,
		req("name", func(v *node) { s.Name, _ = d.name(v, "name") }),
		req("actions", func(v *node) {
			d.list(v, "actions", func(_ int, item *node) { s.Actions = append(s.Actions, d.action(item)) })
		}),
	)
	return s
}

func (d *decoder) action(n *node) *Action {
	a := &Action{Pos: n.pos, Owner: "AWS", Version: "1", RunOrder: 1}
	d.object(n, "action", a,
		req("name", func(v *node) { a.Name, _ = d.name(v, "name") }),
		req("category", func(v *node) { a.Category, _ = d.enum(v, "category", categories...) }),
		opt("owner", func(v *node) { a.Owner, _ = d.enum(v, "owner", "AWS") }),
		req("provider", func(v *node) { a.Provider, _ = d.enum(v, "provider", providers...) }),
		opt("version", func(v *node) { a.Version, _ = d.enum(v, "version", "1") }),
		opt("run_order", func(v *node) { a.RunOrder, _ = d.intIn(v, "run_order", 1, 999) }),
		opt("input_artifacts", func(v *node) { a.InputArtifacts = d.strings(v, "input_artifacts", a) }),
		opt("output_artifacts", func(v *node) { a.OutputArtifacts = d.strings(v, "output_artifacts", a) }),
		opt("namespace", func(v *node) { a.Namespace, _ = d.name(v, "namespace") }),
		opt("configuration", func(v *node) { d.configuration(v, a) }),
		opt("timeout_in_minutes", func(v *node) { a.TimeoutInMinutes, _ = d.intIn(v, "timeout_in_minutes", 1, 7*24*60) }),
	)
	return a
}

// configuration decodes an action's configuration: string values under
// CodePipeline's PascalCase keys, which the provider checks later.
func (d *decoder) configuration(n *node, a *Action) {
	a.Configuration = map[string]string{}
	a.ConfigurationPos = map[string]Pos{}
	d.mapOf(n, "configuration", func(key string, keyPos Pos, v *node) {
		d.mark(a, "configuration key "+key, keyPos)
		if v.kind == kindNull {
			v = &node{kind: kindString, pos: v.pos}
		}
		s, ok := d.str(v, key)
		if !ok {
			return
		}
		a.Configuration[key] = s
		a.ConfigurationPos[key] = v.pos
		d.config[configKey{a, key}] = v
	})
}

func (d *decoder) buildProjects(n *node) map[string]*BuildProject {
	out := map[string]*BuildProject{}
	d.mapOf(n, "build_projects", func(name string, keyPos Pos, v *node) {
		if !projectName.MatchString(name) {
			d.errorf(keyPos, "build_projects: %q is not a build project name (up to 255 letters, digits, - and _, starting with a letter or digit)", clip(name))
		}
		bp := &BuildProject{Name: name, Pos: keyPos, Buildspec: "buildspec.yml", Timeout: Duration(60 * time.Minute), Cache: ProjectCache{Type: CacheLocal}}
		d.object(v, "build project "+quote(name), bp,
			opt("buildspec", func(v *node) { bp.Buildspec, _ = d.name(v, "buildspec") }),
			opt("environment_variables", func(v *node) {
				d.list(v, "environment_variables", func(_ int, item *node) {
					bp.EnvironmentVariables = append(bp.EnvironmentVariables, d.envVar(item))
				})
			}),
			opt("timeout", func(v *node) { bp.Timeout, _ = d.durationIn(v, "timeout", time.Second, 36*time.Hour) }),
			opt("cache", func(v *node) {
				bp.Cache.Pos = v.pos
				d.object(v, "cache", &bp.Cache,
					req("type", func(v *node) { bp.Cache.Type, _ = d.enum(v, "type", CacheLocal, CacheS3, CacheNone) }))
			}),
		)
		out[name] = bp
	})
	return out
}

func (d *decoder) envVar(n *node) *EnvironmentVariable {
	ev := &EnvironmentVariable{Pos: n.pos, Type: EnvPlaintext}
	d.object(n, "environment variable", ev,
		req("name", func(v *node) {
			if s, ok := d.name(v, "name"); ok {
				switch {
				case !envVarName.MatchString(s):
					d.errorf(v.pos, "name: %q is not a variable name (letters, digits and _, not starting with a digit)", clip(s))
				case strings.HasPrefix(s, "CODEBUILD_"):
					d.errorf(v.pos, "name: %q: names starting with CODEBUILD_ are CodeBuild's own", s)
				}
				ev.Name = s
			}
		}),
		req("value", func(v *node) { ev.Value, _ = d.str(v, "value") }),
		opt("type", func(v *node) { ev.Type, _ = d.enum(v, "type", EnvPlaintext, EnvParameterStore, EnvSecretsManager) }),
	)
	return ev
}

func (d *decoder) secrets(n *node) *Secrets {
	s := &Secrets{}
	sources := func(what string) func(v *node) map[string]*SecretSource {
		return func(v *node) map[string]*SecretSource {
			out := map[string]*SecretSource{}
			d.mapOf(v, what, func(id string, keyPos Pos, v *node) {
				src := &SecretSource{Pos: keyPos}
				d.object(v, "secret "+quote(id), src,
					opt("env", func(v *node) { src.Env, _ = d.name(v, "env") }),
					opt("file", func(v *node) { src.File, _ = d.name(v, "file") }),
				)
				if v.kind == kindMap && (src.Env == "") == (src.File == "") {
					d.errorf(keyPos, "secret %q: set exactly one of env or file", id)
				}
				out[id] = src
			})
			return out
		}
	}
	d.object(n, "secrets", s,
		opt("secrets_manager", func(v *node) { s.SecretsManager = sources("secrets_manager")(v) }),
		opt("parameter_store", func(v *node) { s.ParameterStore = sources("parameter_store")(v) }),
	)
	return s
}

var (
	categories = []string{CategorySource, CategoryBuild, CategoryTest, CategoryDeploy, CategoryApproval}
	providers  = []string{ProviderGit, ProviderCodeStar, ProviderCodeBuild, ProviderECS, ProviderCodeDeployToECS, ProviderManual}
	// providersOf lists the providers each category runs, as CodePipeline pairs them.
	providersOf = map[string][]string{
		CategorySource:   {ProviderGit, ProviderCodeStar},
		CategoryBuild:    {ProviderCodeBuild},
		CategoryTest:     {ProviderCodeBuild},
		CategoryDeploy:   {ProviderECS, ProviderCodeDeployToECS},
		CategoryApproval: {ProviderManual},
	}
)

func quote(s string) string { return fmt.Sprintf("%q", s) }
