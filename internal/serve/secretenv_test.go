package serve_test

import (
	"context"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// A server of several definitions: a build of one repository does not inherit
// the variables another definition reads its secrets from (their names say
// nothing of a secret, and the build's own definition does not name them).
func TestABuildDoesNotInheritAnotherDefinitionsSecretSources(t *testing.T) {
	t.Setenv("BETA_DB", "beta's database password")
	t.Setenv("BETA_HOOK_URL", "https://hooks.slack.com/services/T/B/beta")
	t.Setenv("PLAIN_SETTING", "inherited")
	parent := t.TempDir()
	alpha := newRepo(t, parent, "alpha", `version: 1
pipeline:
  name: alpha
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: env}}
build_projects:
  env: {buildspec: buildspec.yml}
`)
	alpha.commit("buildspec.yml", `version: 0.2
phases:
  build:
    commands:
      - echo "beta db=[$BETA_DB] beta slack=[$BETA_HOOK_URL] plain=[$PLAIN_SETTING]"
`, "a build that prints its environment")
	beta := newRepo(t, parent, "beta", definition("beta", `secrets:
  secrets_manager:
    beta/db: {env: BETA_DB}
notifications:
  - {name: n, detail_type: FULL, event_type_ids: [codepipeline-pipeline-pipeline-execution-failed], targets: [{slack: {url: {env: BETA_HOOK_URL}}}]}
`))
	s := startServer(t, alpha.path(), beta.path())

	id, err := s.srv.Backend().StartExecution(context.Background(), control.StartRequest{Pipeline: "alpha", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var status string
	waitFor(t, "alpha's build to end", func() bool {
		v, err := s.srv.Backend().GetExecution(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if a := v.Action("Build", "Build"); a != nil {
			status = string(a.Status)
		}
		return status == "Succeeded" || status == "Failed"
	})
	log, err := s.srv.Backend().ReadLog(context.Background(), control.LogRequest{ActionRef: control.ActionRef{ExecutionID: id, Stage: "Build", Action: "Build"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "beta db=[] beta slack=[] plain=[inherited]"; status != "Succeeded" || !strings.Contains(log.Text, want) {
		t.Errorf("alpha's build %s, its log:\n%s\nwant a line %q", status, log.Text, want)
	}
}
