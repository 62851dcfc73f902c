package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateFilesExample(t *testing.T) {
	def, err := Load("testdata/greenlight.yaml")
	mustNotFail(t, err)
	mustNotFail(t, ValidateFiles(def, "testdata"))
}

// writeTree writes files (path -> content) under a new temporary directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		mustNotFail(t, os.MkdirAll(filepath.Dir(path), 0o755))
		mustNotFail(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

func TestValidateFilesFindsEveryProblem(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"greenlight.yaml": `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], output_artifacts: [out], namespace: BuildVariables, configuration: {ProjectName: build}}
        - {name: Test, category: Test, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: test}}
    - name: Release
      actions:
        - {name: Staging, category: Deploy, provider: ECS, input_artifacts: [out], configuration: {ServiceName: s}}
        - {name: Approve, category: Approval, provider: Manual, run_order: 2, configuration: {CustomData: "#{BuildVariables.IMAGE_TAG} #{BuildVariables.NOPE}"}}
        - name: Production
          category: Deploy
          provider: CodeDeployToECS
          run_order: 3
          input_artifacts: [out]
          configuration: {ApplicationName: orders, DeploymentGroupName: prod, Image1ArtifactName: out, Image1ContainerName: IMAGE1_NAME}
build_projects:
  build: {buildspec: buildspec.yml}
  test: {buildspec: buildspec-test.yml}
  unused: {buildspec: nowhere.yml}
services:
  s: {listeners: {production: "127.0.0.1:9000"}}
applications:
  orders:
    deployment_groups:
      prod: {service: s, task_definition_template: taskdef-template.json, hooks: {Smoke: {command: [true]}}}
secrets:
  parameter_store: {/known: {env: KNOWN}}
`,
		"buildspec.yml": `version: 0.2
env:
  secrets-manager:
    DB: prod/db:password
  parameter-store:
    KEY: /known
  exported-variables: [IMAGE_TAG]
phases:
  build:
    commands: [make]
`,
		"appspec.yaml": `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: web, ContainerPort: 8080}
Hooks:
  - BeforeInstall: Smoke
  - AfterAllowTraffic: Unmapped
`,
		"taskdef-template.json": `{
  "family": "orders",
  "containerDefinitions": [{"name": "api", "image": "orders:latest", "portMappings": [{"containerPort": 8080}]}]
}`,
		"imagedefinitions.json": `[{"name": "api"}]`,
	})
	def, err := Load(filepath.Join(dir, "greenlight.yaml"))
	mustNotFail(t, err)
	err = ValidateFiles(def, dir)
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	want := strings.Join([]string{
		`appspec.yaml:7:43: ContainerName: "web" is not a container of taskdef-template.json (containers: api)`,
		`appspec.yaml:10:5: Hooks: AfterAllowTraffic runs "Unmapped", which greenlight.yaml does not map under applications.orders.deployment_groups.prod.hooks (mapped: Smoke)`,
		`buildspec.yml:4:5: secrets-manager: secrets_manager "prod/db" has no local source; map it under secrets.secrets_manager (known: none)`,
		`greenlight.yaml:15:107: CustomData: #{BuildVariables.NOPE}: buildspec.yml does not export NOPE (exported-variables: IMAGE_TAG)`,
		`greenlight.yaml:24:3: build project "test": buildspec buildspec-test.yml does not exist in the source tree`,
		`imagedefinitions.json:1:2: image definition: missing required key "imageUri"`,
		`taskdef-template.json:1:1: no container image is "<IMAGE1_NAME>", the placeholder action "Production" fills from Image1ContainerName`,
	}, "\n")
	if got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidateFilesSkipsBuildOutputs(t *testing.T) {
	// taskdef.json, imagedefinitions.json and the appspec come out of the build:
	// absent from the source tree, they are not errors. A named
	// task_definition_template must exist.
	dir := writeTree(t, map[string]string{"buildspec.yml": "version: 0.2\nphases: {build: {commands: [make]}}\n"})
	def, err := ParseDefinition(filepath.Join(dir, "greenlight.yaml"), []byte(`version: 1
pipeline:
  name: p
  stages:
    - {name: Source, actions: [{name: S, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}]}
    - name: Deploy
      actions:
        - {name: B, category: Build, provider: CodeBuild, input_artifacts: [src], output_artifacts: [out], configuration: {ProjectName: b}}
        - {name: E, category: Deploy, provider: ECS, run_order: 2, input_artifacts: [out], configuration: {ServiceName: s}}
        - {name: C, category: Deploy, provider: CodeDeployToECS, run_order: 3, input_artifacts: [out], configuration: {ApplicationName: a, DeploymentGroupName: g}}
build_projects: {b: {}}
services: {s: {listeners: {production: "127.0.0.1:9000"}}}
applications: {a: {deployment_groups: {g: {service: s, task_definition_template: missing.json}}}}
`))
	mustNotFail(t, err)
	err = ValidateFiles(def, dir)
	got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	if want := `greenlight.yaml:13:40: deployment group "g": task_definition_template missing.json does not exist`; got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}
