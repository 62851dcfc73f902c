package manifest

import (
	"regexp"
	"slices"
	"strings"
)

// BuildPhaseNames are a buildspec's phases in the order they run.
var BuildPhaseNames = []string{"install", "pre_build", "build", "post_build"}

// ReportFormats are the file-format values of a buildspec report group.
var ReportFormats = []string{
	ReportJUnitXML, ReportCucumberJSON, ReportNUnitXML, ReportNUnit3XML, ReportTestNGXML, ReportVisualStudio,
	CoverageClover, CoverageCobertura, CoverageJaCoCo, CoverageSimpleCov, ReportGoTestJSON, CoverageGoCover,
}

var envVarName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// projectName is CodeBuild's rule for project names.
var projectName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)

// ParseBuildspec parses and validates a CodeBuild buildspec, version 0.2.
func ParseBuildspec(path string, data []byte) (*Buildspec, error) {
	d := newDecoder(path, false)
	root, ok := parseFile(parseYAML, d, data)
	if !ok {
		return nil, d.errs.Err()
	}
	if root.kind == kindNull && !root.broken {
		return nil, emptyFile(path, "a buildspec (version: 0.2, phases: ...)")
	}
	bs := d.buildspec(root)
	bs.Path = path
	if err := d.errs.Err(); err != nil {
		return nil, err
	}
	return bs, nil
}

// List returns the phases present, in the order they run.
func (p BuildPhases) List() []*Phase {
	var out []*Phase
	for _, ph := range []*Phase{p.Install, p.PreBuild, p.Build, p.PostBuild} {
		if ph != nil {
			out = append(out, ph)
		}
	}
	return out
}

func (d *decoder) buildspec(n *node) *Buildspec {
	bs := &Buildspec{Pos: n.pos, Env: BuildEnv{Shell: "bash"}}
	d.object(n, "buildspec", bs,
		req("version", func(v *node) { bs.Version = d.buildspecVersion(v) }),
		opt("run-as", func(v *node) { bs.RunAs, _ = d.name(v, "run-as") }),
		opt("env", func(v *node) { d.buildEnv(v, &bs.Env) }),
		ignored("proxy"), // proxy settings only mean something on AWS
		req("phases", func(v *node) { d.buildPhases(v, &bs.Phases) }),
		opt("reports", func(v *node) {
			d.mapOf(v, "reports", func(name string, keyPos Pos, v *node) {
				bs.Reports = append(bs.Reports, d.reportGroup(name, keyPos, v))
			})
		}),
		opt("artifacts", func(v *node) { bs.Artifacts = d.buildArtifacts(v, true) }),
		opt("cache", func(v *node) { bs.Cache = d.buildCache(v) }),
	)
	return bs
}

func (d *decoder) buildspecVersion(n *node) string {
	if !n.isScalar() {
		d.expect(n, "version", kindString)
		return ""
	}
	switch n.text {
	case "0.2":
		return "0.2"
	case "0.1":
		d.errorf(n.pos, "version: 0.1 is not supported: greenlight runs buildspec version 0.2, where commands of a build share one shell (write version: 0.2)")
	default:
		d.errorf(n.pos, "version: unsupported %q (allowed: 0.2)", clip(n.text))
	}
	return n.text
}

func (d *decoder) buildEnv(n *node, env *BuildEnv) {
	d.object(n, "env", env,
		opt("shell", func(v *node) { env.Shell, _ = d.enum(v, "shell", "bash", "sh") }),
		opt("variables", func(v *node) { env.Variables = d.keyValues(v, "variables") }),
		opt("parameter-store", func(v *node) { env.ParameterStore = d.keyValues(v, "parameter-store") }),
		opt("secrets-manager", func(v *node) { env.SecretsManager = d.keyValues(v, "secrets-manager") }),
		opt("exported-variables", func(v *node) {
			for i, name := range d.strings(v, "exported-variables", env) {
				if !envVarName.MatchString(name) {
					d.errorf(d.at(env, "exported-variables["+itoa(i)+"]", v.pos), "exported-variables: %q is not a variable name", clip(name))
				}
				env.ExportedVariables = append(env.ExportedVariables, name)
			}
		}),
		opt("git-credential-helper", func(v *node) { env.GitCredentialHelper, _ = d.yesNo(v, "git-credential-helper") }),
	)
}

// keyValues decodes an ordered mapping of environment variable names to strings.
func (d *decoder) keyValues(n *node, what string) []KeyValue {
	var out []KeyValue
	d.mapOf(n, what, func(key string, keyPos Pos, v *node) {
		if !envVarName.MatchString(key) {
			d.errorf(keyPos, "%s: %q is not a variable name (letters, digits and _, not starting with a digit)", what, clip(key))
		}
		value := ""
		if v.kind != kindNull {
			value, _ = d.str(v, key)
		}
		out = append(out, KeyValue{Key: key, Value: value, Pos: keyPos})
	})
	return out
}

func (d *decoder) buildPhases(n *node, phases *BuildPhases) {
	slots := map[string]**Phase{
		"install": &phases.Install, "pre_build": &phases.PreBuild, "build": &phases.Build, "post_build": &phases.PostBuild,
	}
	d.mapOf(n, "phases", func(name string, keyPos Pos, v *node) {
		slot, ok := slots[name]
		if !ok {
			d.errorf(keyPos, "phases: unknown phase %q (allowed: %s)", name, strings.Join(BuildPhaseNames, ", "))
			return
		}
		*slot = d.phase(name, keyPos, v)
	})
}

func (d *decoder) phase(name string, keyPos Pos, n *node) *Phase {
	ph := &Phase{Name: name, Pos: keyPos, OnFailure: OnFailureAbort}
	fields := []field{
		opt("run-as", func(v *node) { ph.RunAs, _ = d.name(v, "run-as") }),
		opt("on-failure", func(v *node) { ph.OnFailure, _ = d.enum(v, "on-failure", OnFailureAbort, OnFailureContinue) }),
		opt("commands", func(v *node) { ph.Commands = d.commands(v, "commands") }),
		opt("finally", func(v *node) { ph.Finally = d.commands(v, "finally") }),
	}
	if name == "install" {
		fields = append(fields, opt("runtime-versions", func(v *node) { ph.RuntimeVersions = d.runtimeVersions(v, ph) }))
	}
	if n.kind == kindNull {
		return ph
	}
	d.object(n, "phase "+name, ph, fields...)
	return ph
}

func (d *decoder) commands(n *node, what string) []Command {
	var out []Command
	d.list(n, what, func(_ int, v *node) {
		if v.kind == kindMap {
			d.errorf(v.pos, `%s: expected a command string, got a mapping (quote a command that holds ": ")`, what)
			return
		}
		if text, ok := d.str(v, what); ok {
			out = append(out, Command{Text: text, Pos: v.pos})
		}
	})
	return out
}

func (d *decoder) runtimeVersions(n *node, ph *Phase) map[string]string {
	out := map[string]string{}
	ph.RuntimeVersionPos = map[string]Pos{}
	d.mapOf(n, "runtime-versions", func(name string, keyPos Pos, v *node) {
		if !slices.Contains(Runtimes, name) {
			d.errorf(keyPos, "runtime-versions: unknown runtime %q (allowed: %s)", clip(name), strings.Join(Runtimes, ", "))
			return
		}
		s, ok := d.str(v, name)
		if !ok {
			return
		}
		if !RuntimeVersionForm(name, s) {
			d.errorf(v.pos, "runtime-versions: %s: %q is not a version (write latest, a version like %s, or a major version like %s)", name, clip(s), runtimeExample(name, false), runtimeExample(name, true))
			return
		}
		out[name], ph.RuntimeVersionPos[name] = s, v.pos
	})
	return out
}

// Runtimes are the runtime names of runtime-versions (CodeBuild's standard images).
var Runtimes = []string{"android", "dotnet", "golang", "java", "nodejs", "php", "python", "ruby"}

var (
	runtimeVersion = regexp.MustCompile(`^(latest|\d+(\.\d+){0,2}|\d+(\.\d+)?\.x)$`)
	javaVersion    = regexp.MustCompile(`^(latest|(corretto|openjdk)\d+(\.x)?)$`)
)

// RuntimeVersionForm reports whether v is a version CodeBuild takes for the
// runtime: latest, a version (1.22, 20, 3.12.1), a major version with the latest
// minor (1.x, 20.x); java names its JDK: corretto17, corretto17.x.
func RuntimeVersionForm(runtime, v string) bool {
	if runtime == "java" {
		return javaVersion.MatchString(v)
	}
	return runtimeVersion.MatchString(v)
}

func runtimeExample(runtime string, major bool) string {
	examples := map[string][2]string{"android": {"29", "29.x"}, "dotnet": {"8.0", "8.x"}, "golang": {"1.22", "1.x"},
		"java": {"corretto17", "corretto17.x"}, "nodejs": {"20", "20.x"}, "php": {"8.3", "8.x"}, "python": {"3.12", "3.x"}, "ruby": {"3.3", "3.x"}}
	if major {
		return examples[runtime][1]
	}
	return examples[runtime][0]
}

func (d *decoder) reportGroup(name string, keyPos Pos, n *node) *ReportGroup {
	rg := &ReportGroup{Name: name, Pos: keyPos, FileFormat: ReportJUnitXML}
	d.object(n, "report "+quote(name), rg,
		req("files", func(v *node) { rg.Files = d.globs(v, "files") }),
		opt("base-directory", func(v *node) { rg.BaseDirectory, _ = d.name(v, "base-directory") }),
		opt("discard-paths", func(v *node) { rg.DiscardPaths, _ = d.yesNo(v, "discard-paths") }),
		opt("file-format", func(v *node) { rg.FileFormat, _ = d.enum(v, "file-format", ReportFormats...) }),
	)
	return rg
}

// globs decodes a non-empty list of file patterns.
func (d *decoder) globs(n *node, what string) []string {
	out := d.strings(n, what, nil)
	if n.kind == kindSeq && len(n.items) == 0 {
		d.errorf(n.pos, "%s: needs at least one path or pattern", what)
	}
	for _, s := range out {
		if strings.TrimSpace(s) == "" {
			d.errorf(n.pos, "%s: a path or pattern must not be empty", what)
		}
	}
	return out
}

func (d *decoder) buildArtifacts(n *node, primary bool) *BuildArtifacts {
	a := &BuildArtifacts{Pos: n.pos}
	fields := []field{
		req("files", func(v *node) { a.Files = d.globs(v, "files") }),
		opt("name", func(v *node) { a.Name, _ = d.name(v, "name") }),
		opt("discard-paths", func(v *node) { a.DiscardPaths, _ = d.yesNo(v, "discard-paths") }),
		opt("base-directory", func(v *node) { a.BaseDirectory, _ = d.name(v, "base-directory") }),
		opt("exclude-paths", func(v *node) { a.ExcludePaths = d.globs(v, "exclude-paths") }),
		opt("enable-symlinks", func(v *node) { a.EnableSymlinks, _ = d.yesNo(v, "enable-symlinks") }),
		ignored("s3-prefix"), // an S3 key prefix only means something on AWS
	}
	if primary {
		fields = append(fields, opt("secondary-artifacts", func(v *node) {
			d.mapOf(v, "secondary-artifacts", func(id string, keyPos Pos, v *node) {
				if !artifactName.MatchString(id) {
					d.errorf(keyPos, "secondary-artifacts: identifier %q may hold only letters, digits, - and _", clip(id))
				}
				sa := d.buildArtifacts(v, false)
				sa.Identifier, sa.Pos = id, keyPos
				a.SecondaryArtifacts = append(a.SecondaryArtifacts, sa)
			})
		}))
	}
	d.object(n, "artifacts", a, fields...)
	return a
}

func (d *decoder) buildCache(n *node) *BuildCache {
	c := &BuildCache{Pos: n.pos}
	d.object(n, "cache", c,
		req("paths", func(v *node) { c.Paths = d.globs(v, "paths") }),
		opt("key", func(v *node) { c.Key, _ = d.name(v, "key") }),
		opt("fallback-keys", func(v *node) {
			c.FallbackKeys = d.strings(v, "fallback-keys", c)
			if len(c.FallbackKeys) > maxFallbackKeys {
				d.errorf(v.pos, "fallback-keys: %d keys, CodeBuild takes at most %d", len(c.FallbackKeys), maxFallbackKeys)
			}
		}),
		opt("action", func(v *node) { c.Action, _ = d.enum(v, "action", CacheRestore, CacheSave) }),
	)
	return c
}
