package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// The seed's build buildspec, adapted to run here, parsed by the manifest package.
const seedBuildspec = `version: 0.2
env:
  variables:
    ECR_REPO: "orders-service"
  exported-variables:
    - IMAGE_TAG
phases:
  pre_build:
    commands:
      - echo Logging in...
      - COMMIT_HASH=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7)
      - IMAGE_TAG=${COMMIT_HASH:=latest}
  build:
    commands:
      - echo Building image $ECR_REPO:$IMAGE_TAG
      - test -f Dockerfile
    finally:
      - echo build phase done
  post_build:
    commands:
      - printf '[{"name":"api","imageUri":"%s"}]' $ECR_REPO:$IMAGE_TAG > imagedefinitions.json
      - sed "s/IMAGE/$IMAGE_TAG/" taskdef-template.json > taskdef.json
artifacts:
  files:
    - imagedefinitions.json
    - taskdef.json
    - appspec.yaml
cache:
  paths:
    - '/root/.cache/**/*'
`

func parseBuildspec(t *testing.T, text string) *manifest.Buildspec {
	t.Helper()
	spec, err := manifest.ParseBuildspec("buildspec.yml", []byte(text))
	if err != nil {
		t.Fatalf("parse buildspec: %v", err)
	}
	return spec
}

func TestSeedBuildspec(t *testing.T) {
	f := newFixture(t, parseBuildspec(t, seedBuildspec))
	f.req.CacheDir = t.TempDir()
	f.writeSource(t, "Dockerfile", "FROM scratch\n", 0o644)
	f.writeSource(t, "appspec.yaml", "version: 0.0\n", 0o644)
	f.writeSource(t, "taskdef-template.json", `{"image":"IMAGE"}`+"\n", 0o644)
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	if res.ExportedVariables["IMAGE_TAG"] != "0123456" {
		t.Errorf("exported = %v", res.ExportedVariables)
	}
	got, err := os.ReadFile(filepath.Join(f.req.ArtifactsDir, "imagedefinitions.json"))
	if err != nil || string(got) != `[{"name":"api","imageUri":"orders-service:0123456"}]` {
		t.Errorf("imagedefinitions.json = %q (%v)", got, err)
	}
	got, err = os.ReadFile(filepath.Join(f.req.ArtifactsDir, "taskdef.json"))
	if err != nil || string(got) != `{"image":"0123456"}`+"\n" {
		t.Errorf("taskdef.json = %q (%v)", got, err)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].Files != 3 {
		t.Errorf("artifacts = %+v", res.Artifacts)
	}
	if got := phaseNames(res); got != "pre_build=SUCCEEDED build=SUCCEEDED post_build=SUCCEEDED upload_artifacts=SUCCEEDED" {
		t.Errorf("phases: %s", got)
	}
}

func TestSeedBuildspecFailureNamesTheLine(t *testing.T) {
	f := newFixture(t, parseBuildspec(t, seedBuildspec))
	res := f.run(t) // no Dockerfile in the source
	wantStatus(t, res, build.StatusFailed, f.log)
	want := "phase build: command `test -f Dockerfile` (buildspec.yml:16:9) exited with status 1"
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if !strings.Contains(f.log.String(), "\nbuild phase done\n") {
		t.Errorf("finally did not run:\n%s", f.log)
	}
}
