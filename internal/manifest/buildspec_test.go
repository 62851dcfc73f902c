package manifest

import (
	"os"
	"reflect"
	"testing"
)

func TestParseBuildspec(t *testing.T) {
	data, err := os.ReadFile("testdata/buildspec.yml")
	mustNotFail(t, err)
	bs, err := ParseBuildspec("buildspec.yml", data)
	mustNotFail(t, err)

	wantVars := []KeyValue{
		{Key: "DOCKER_BUILDKIT", Value: "1", Pos: Pos{"buildspec.yml", 5, 5}},
		{Key: "GOFLAGS", Value: "-mod=mod", Pos: Pos{"buildspec.yml", 6, 5}},
		{Key: "EMPTY", Value: "", Pos: Pos{"buildspec.yml", 7, 5}},
	}
	if !reflect.DeepEqual(bs.Env.Variables, wantVars) {
		t.Errorf("variables = %+v", bs.Env.Variables)
	}
	if bs.Version != "0.2" || bs.Env.Shell != "bash" || bs.Env.SecretsManager[0].Value != "prod/orders/db:password" || bs.Env.GitCredentialHelper {
		t.Errorf("env = %+v", bs.Env)
	}
	phases := bs.Phases.List()
	var names []string
	for _, p := range phases {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, BuildPhaseNames) {
		t.Errorf("phases in run order = %v", names)
	}
	if bs.Phases.Install.RuntimeVersions["golang"] != "1.26" || bs.Phases.PreBuild.OnFailure != OnFailureContinue || bs.Phases.Build.OnFailure != OnFailureAbort {
		t.Errorf("phase settings: install %+v, pre_build %+v", bs.Phases.Install, bs.Phases.PreBuild)
	}
	wantBuild := []Command{
		{Text: "go build -o dist/orders-service ./cmd/orders-service", Pos: Pos{"buildspec.yml", 27, 9}},
		{Text: "printf '[{\"name\":\"api\",\"imageUri\":\"%s\"}]' \"orders:$IMAGE_TAG\" > imagedefinitions.json\n", Pos: Pos{"buildspec.yml", 28, 9}},
	}
	if !reflect.DeepEqual(bs.Phases.Build.Commands, wantBuild) {
		t.Errorf("build commands = %#v", bs.Phases.Build.Commands)
	}
	if f := bs.Phases.Build.Finally; len(f) != 1 || f[0].Text != "echo done" {
		t.Errorf("finally = %+v", f)
	}
	if got := bs.Phases.PostBuild.Commands[0].Text; got != `echo "Build completed: $IMAGE_TAG"` {
		t.Errorf("post_build command = %q", got)
	}

	if len(bs.Reports) != 2 || bs.Reports[0].Name != "unit" || bs.Reports[0].FileFormat != ReportGoTestJSON {
		t.Fatalf("reports = %+v", bs.Reports)
	}
	if r := bs.Reports[1]; r.Name != "coverage" || !r.DiscardPaths || r.BaseDirectory != "build" || r.Files[0] != "coverage/clover.xml" {
		t.Errorf("coverage report = %+v", r)
	}
	a := bs.Artifacts
	if len(a.Files) != 2 || a.DiscardPaths || a.ExcludePaths[0] != "**/*.tmp" || len(a.SecondaryArtifacts) != 1 {
		t.Fatalf("artifacts = %+v", a)
	}
	if s := a.SecondaryArtifacts[0]; s.Identifier != "reports" || s.BaseDirectory != "coverage" {
		t.Errorf("secondary artifact = %+v", s)
	}
	if bs.Cache.Paths[0] != "/root/.cache/**/*" {
		t.Errorf("cache = %+v", bs.Cache)
	}
}

func TestParseBuildspecDefaults(t *testing.T) {
	bs, err := ParseBuildspec("buildspec.yml", []byte("version: 0.2\nphases:\n  build:\n    commands: [make]\n  post_build:\nreports:\n  r: {files: [a.xml]}\n"))
	mustNotFail(t, err)
	if bs.Env.Shell != "bash" || bs.Reports[0].FileFormat != ReportJUnitXML || bs.Phases.PostBuild == nil || bs.Phases.Install != nil {
		t.Errorf("defaults: shell %q, report %q, phases %+v", bs.Env.Shell, bs.Reports[0].FileFormat, bs.Phases)
	}
}

func TestParseBuildspecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", "# nothing\n", []string{"buildspec.yml:1:1: the file is empty; expected a buildspec (version: 0.2, phases: ...)"}},
		{"version 0.1", "version: 0.1\nphases:\n  build:\n    commands: [make]\n", []string{
			"buildspec.yml:1:10: version: 0.1 is not supported: greenlight runs buildspec version 0.2, where commands of a build share one shell (write version: 0.2)",
		}},
		{"version", "version: 2\nphases: {}\n", []string{`buildspec.yml:1:10: version: unsupported "2" (allowed: 0.2)`}},
		{"missing", "env: {}\n", []string{
			`buildspec.yml:1:1: buildspec: missing required key "version"`,
			`buildspec.yml:1:1: buildspec: missing required key "phases"`,
		}},
		{"env", `version: 0.2
env:
  shell: zsh
  variables:
    1X: y
    OK: [a]
  exported-variables: [A-B]
  git-credential-helper: maybe
  secrets: {}
phases: {}
`, []string{
			`buildspec.yml:3:10: shell: unknown "zsh" (allowed: bash, sh)`,
			`buildspec.yml:5:5: variables: "1X" is not a variable name (letters, digits and _, not starting with a digit)`,
			"buildspec.yml:6:9: OK: expected a string, got a list",
			`buildspec.yml:7:24: exported-variables: "A-B" is not a variable name`,
			`buildspec.yml:8:26: git-credential-helper: expected yes or no, got the string "maybe"`,
			`buildspec.yml:9:3: env: unknown key "secrets" (allowed: shell, variables, parameter-store, secrets-manager, exported-variables, git-credential-helper)`,
		}},
		{"phases", `version: 0.2
phases:
  test:
    commands: [x]
  build:
    on-failure: RETRY
    commands:
      - echo: hi
      - [x]
      - true
    finally: echo
  pre_build:
    runtime-versions: {go: 1}
`, []string{
			`buildspec.yml:3:3: phases: unknown phase "test" (allowed: install, pre_build, build, post_build)`,
			`buildspec.yml:6:17: on-failure: unknown "RETRY" (allowed: ABORT, CONTINUE)`,
			`buildspec.yml:8:9: commands: expected a command string, got a mapping (quote a command that holds ": ")`,
			"buildspec.yml:9:9: commands: expected a string, got a list",
			`buildspec.yml:11:14: finally: expected a list, got the string "echo"`,
			`buildspec.yml:13:5: phase pre_build: unknown key "runtime-versions" (allowed: run-as, on-failure, commands, finally)`,
		}},
		{"reports artifacts cache", `version: 0.2
phases: {build: {commands: [make]}}
reports:
  r: {files: [], file-format: XML}
  s: {base-directory: out}
artifacts:
  discard-paths: maybe
  secondary-artifacts:
    bad id:
      files: [a]
      secondary-artifacts: {}
cache: {key: k}
batch: {}
`, []string{
			"buildspec.yml:4:14: files: needs at least one path or pattern",
			`buildspec.yml:4:31: file-format: unknown "XML" (allowed: JUNITXML, CUCUMBERJSON, NUNITXML, NUNIT3XML, TESTNGXML, VISUALSTUDIOTRX, CLOVERXML, COBERTURAXML, JACOCOXML, SIMPLECOV, GOTESTJSON, GOCOVER)`,
			`buildspec.yml:5:6: report "s": missing required key "files"`,
			`buildspec.yml:7:3: artifacts: missing required key "files"`,
			`buildspec.yml:7:18: discard-paths: expected yes or no, got the string "maybe"`,
			`buildspec.yml:9:5: secondary-artifacts: identifier "bad id" may hold only letters, digits, - and _`,
			`buildspec.yml:11:7: artifacts: unknown key "secondary-artifacts" (allowed: files, name, discard-paths, base-directory, exclude-paths, enable-symlinks, s3-prefix)`,
			`buildspec.yml:12:8: cache: missing required key "paths"`,
			`buildspec.yml:13:1: buildspec: unknown key "batch" (allowed: version, run-as, env, proxy, phases, reports, artifacts, cache)`,
		}},
		{"syntax", "version: 0.2\nphases:\n  build:\n    commands:\n      - \"unterminated\n", []string{
			"buildspec.yml:5:9: invalid YAML: could not find end character of double-quoted text",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs, err := ParseBuildspec("buildspec.yml", []byte(tc.yaml))
			assertErrors(t, tc.yaml, err, tc.want...)
			if bs != nil {
				t.Error("a buildspec with errors was returned")
			}
		})
	}
}

func TestRuntimeVersionsForms(t *testing.T) {
	src := "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: 1.22\n      nodejs: 20.x\n      java: corretto17.x\n      python: latest\n      dotnet: 8.0\n"
	bs, err := ParseBuildspec("buildspec.yml", []byte(src))
	mustNotFail(t, err)
	rv := bs.Phases.Install.RuntimeVersions
	if rv["golang"] != "1.22" || rv["nodejs"] != "20.x" || rv["java"] != "corretto17.x" || rv["python"] != "latest" || rv["dotnet"] != "8.0" {
		t.Errorf("runtime-versions = %v", rv)
	}
	if p := bs.Phases.Install.RuntimeVersionPos["nodejs"]; p.Line != 6 || p.Column != 15 {
		t.Errorf("nodejs position %v", p)
	}
	bad := "version: 0.2\nphases:\n  install:\n    runtime-versions:\n      golang: go1.22\n      java: 17\n      golan: 1.22\n      nodejs: 20.x.1\n"
	_, err = ParseBuildspec("buildspec.yml", []byte(bad))
	assertErrors(t, bad, err,
		`buildspec.yml:5:15: runtime-versions: golang: "go1.22" is not a version (write latest, a version like 1.22, or a major version like 1.x)`,
		`buildspec.yml:6:13: runtime-versions: java: "17" is not a version (write latest, a version like corretto17, or a major version like corretto17.x)`,
		`buildspec.yml:7:7: runtime-versions: unknown runtime "golan" (allowed: android, dotnet, golang, java, nodejs, php, python, ruby)`,
		`buildspec.yml:8:15: runtime-versions: nodejs: "20.x.1" is not a version (write latest, a version like 20, or a major version like 20.x)`,
	)
}
