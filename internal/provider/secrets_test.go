package provider_test

import (
	"context"
	"encoding/json"
	"github.com/greenlight-ci/greenlight/internal/event"
	"os"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
)

// Secret values of every kind of source a build reads.
const (
	buildspecSecret = "bs-Secret-7f3a9"   // buildspec env.secrets-manager
	projectSecret   = "proj-Secret-c41e2" // build project variable, SECRETS_MANAGER
	projectParam    = "proj-Param-88d0b"  // build project variable, PARAMETER_STORE
	actionSecret    = "act-Secret-5b7c1"  // the action's EnvironmentVariables, SECRETS_MANAGER
	actionParam     = "act-Param-0e9f4"   // the action's EnvironmentVariables, PARAMETER_STORE
	keyLine1        = "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"
	keyLine2        = "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm"
)

var multiLineKey = "-----BEGIN RSA PRIVATE KEY-----\n" + keyLine1 + "\n" + keyLine2 + "\n-----END RSA PRIVATE KEY-----"

const secretsPipeline = `version: 1
pipeline:
  name: secrets
  stages:
    - name: Source
      actions:
        - name: Source
          category: Source
          provider: Git
          output_artifacts: [src]
          configuration: {Repository: ., BranchName: main}
    - name: Build
      actions:
        - name: Build
          category: Build
          provider: CodeBuild
          input_artifacts: [src]
          configuration:
            ProjectName: app
            EnvironmentVariables: '[{"name":"ACTION_SECRET","value":"action/secret","type":"SECRETS_MANAGER"},{"name":"ACTION_PARAM","value":"/action/param","type":"PARAMETER_STORE"}]'
build_projects:
  app:
    environment_variables:
      - {name: PROJECT_SECRET, value: "project/secret:password", type: SECRETS_MANAGER}
      - {name: PROJECT_PARAM, value: /project/param, type: PARAMETER_STORE}
      - {name: TLS_KEY, value: tls/key, type: SECRETS_MANAGER}
secrets:
  secrets_manager:
    buildspec/secret: {env: GL_TEST_BUILDSPEC_VALUE}
    project/secret: {file: secrets/project.json}
    tls/key: {file: secrets/tls.key}
    action/secret: {env: GL_TEST_ACTION_VALUE}
  parameter_store:
    /project/param: {file: secrets/param.txt}
    /action/param: {env: GL_TEST_ACTION_PARAM}
`

// The build echoes every secret, writes them into a test report (names and
// failure messages), exports one and fails: none may show in the action's log
// (what `greenlight logs` prints), the live output, the events, the action's
// error, summary, output variables or data.
const secretsBuildspec = `version: 0.2
env:
  secrets-manager:
    BUILDSPEC_SECRET: buildspec/secret
  exported-variables: [COPIED]
phases:
  build:
    commands:
      - echo "buildspec=$BUILDSPEC_SECRET project=$PROJECT_SECRET param=$PROJECT_PARAM"
      - echo "action=$ACTION_SECRET action-param=$ACTION_PARAM"
      - echo "$TLS_KEY"
      - printf '%s' "$TLS_KEY" | tail -n 2 >&2
      - COPIED="$PROJECT_PARAM"
      - printf '<testsuite><testcase name="login_%s"><failure message="rejected %s %s">%s</failure></testcase></testsuite>' "$ACTION_SECRET" "$PROJECT_SECRET" "$ACTION_PARAM" "$TLS_KEY" > junit.xml
reports:
  unit:
    files: [junit.xml]
`

func TestSecretsFromEverySourceAreMaskedEverywhere(t *testing.T) {
	t.Setenv("GL_TEST_BUILDSPEC_VALUE", buildspecSecret)
	t.Setenv("GL_TEST_ACTION_VALUE", actionSecret)
	t.Setenv("GL_TEST_ACTION_PARAM", actionParam)
	r := newRepo(t, map[string]string{
		"greenlight.yaml":      secretsPipeline,
		"buildspec.yml":        secretsBuildspec,
		"secrets/project.json": `{"password": "` + projectSecret + `"}`,
		"secrets/param.txt":    projectParam + "\n",
		"secrets/tls.key":      multiLineKey + "\n",
	})
	v := r.run()
	build := action(t, v, "Build", "Build")
	if build.Status != pipeline.StatusFailed {
		t.Fatalf("build %s (%s), want Failed: the failed test in the report fails it", build.Status, build.ErrorMessage)
	}
	logText := r.actionLog(t, v, "Build", "Build")
	events, err := r.db.Events(context.Background(), event.Query{ExecutionID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	eventText, _ := json.Marshal(events)
	actionText, _ := json.Marshal(build)
	places := map[string]string{"log": string(logText), "live output": r.live.String(), "events": string(eventText), "action": string(actionText)}
	for _, secret := range []string{buildspecSecret, projectSecret, projectParam, actionSecret, actionParam, keyLine1, keyLine2} {
		for where, text := range places {
			if strings.Contains(text, secret) {
				t.Errorf("secret %q leaked into the %s:\n%s", secret, where, text)
			}
		}
	}
	// The secrets were there to mask: the build saw every one of them.
	for _, want := range []string{"buildspec=*** project=*** param=***", "action=*** action-param=***", "\n***\n***\n"} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("log lacks %q:\n%s", want, logText)
		}
	}
	if !strings.Contains(build.ErrorMessage, "login_***: rejected *** ***") {
		t.Errorf("error message %q does not name the failed test, masked", build.ErrorMessage)
	}
	if build.OutputVariables["COPIED"] != "***" {
		t.Errorf("exported COPIED = %q, want it masked", build.OutputVariables["COPIED"])
	}
}

func TestSecretsManagerReadsARNsAndJSONKeys(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/db.json", []byte(`{"password":"pw-1","port":5432}`), 0o600); err != nil {
		t.Fatal(err)
	}
	arn := "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
	def := &manifest.Definition{Dir: dir, Secrets: &manifest.Secrets{SecretsManager: map[string]*manifest.SecretSource{arn: {File: "db.json"}}}}
	s := provider.Secrets{Def: def}
	for ref, want := range map[string]string{arn + ":password": "pw-1", arn + ":port:AWSCURRENT": "5432", arn: `{"password":"pw-1","port":5432}`} {
		got, err := s.SecretsManager(context.Background(), ref)
		if err != nil || got != want {
			t.Errorf("SecretsManager(%q) = %q, %v; want %q", ref, got, err, want)
		}
	}
}

// TestBuildsDoNotInheritTheServersSecrets: a build inherits greenlight's
// environment, but not a variable greenlight.yaml reads a secret from: a
// secret source the build does not reference, the GitHub webhook secret, a
// Slack URL, a webhook target's signing secret. Their names say nothing of a
// secret (no SECRET, TOKEN, ... in them), and the build does not read them, so
// no mask hides their values: a commit whose buildspec runs `env` would print
// them in the log every viewer reads. An ordinary variable is still inherited.
func TestBuildsDoNotInheritTheServersSecrets(t *testing.T) {
	held := map[string]string{
		"GL_TEST_UNUSED_DB_JSON": `{"password": "db-Hidden-91c2"}`,
		"GL_TEST_GH_HOOK":        "gh-Hidden-3e7d",
		"GL_TEST_SLACK_HOOK":     "https://hooks.slack.example/services/T1/B2/slack-Hidden-5a0f",
		"GL_TEST_SIGNING":        "sign-Hidden-77b1",
	}
	for name, value := range held {
		t.Setenv(name, value)
	}
	t.Setenv("GL_TEST_PLAIN_SETTING", "plain-Visible-1d4e")
	r := newRepo(t, map[string]string{
		"greenlight.yaml": `version: 1
pipeline:
  name: inherit
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: app}}
build_projects:
  app: {}
secrets:
  secrets_manager:
    prod/db: {env: GL_TEST_UNUSED_DB_JSON}
webhook:
  secret: {env: GL_TEST_GH_HOOK}
notifications:
  - name: all
    detail_type: BASIC
    event_type_ids: [codepipeline-pipeline-pipeline-execution-failed]
    targets:
      - {slack: {url: {env: GL_TEST_SLACK_HOOK}}}
      - {webhook: {url: "http://127.0.0.1:9/hook", secret: {env: GL_TEST_SIGNING}}}
`,
		"buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - env | sort
`,
	})
	v := r.run()
	if build := action(t, v, "Build", "Build"); build.Status != pipeline.StatusSucceeded {
		t.Fatalf("build %s (%s), want Succeeded", build.Status, build.ErrorMessage)
	}
	logText := r.actionLog(t, v, "Build", "Build")
	for name, value := range held {
		for _, line := range strings.Split(string(logText), "\n") {
			if strings.Contains(line, value) || strings.HasPrefix(line, name+"=") {
				t.Errorf("the build saw %s, a variable greenlight.yaml reads a secret from: %q", name, line)
			}
		}
	}
	if !strings.Contains(string(logText), "GL_TEST_PLAIN_SETTING=plain-Visible-1d4e") {
		t.Errorf("the build did not inherit an ordinary variable of greenlight's environment:\n%s", logText)
	}
}
