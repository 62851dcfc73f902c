package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/store"
)

const deployDefinition = `version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: S, category: Source, provider: Git, output_artifacts: [build], configuration: {Repository: .}}
        - {name: I1, category: Source, provider: Git, output_artifacts: [img1], configuration: {Repository: ./i1}}
        - {name: I2, category: Source, provider: Git, output_artifacts: [img2], configuration: {Repository: ./i2}}
        - {name: I3, category: Source, provider: Git, output_artifacts: [img3], configuration: {Repository: ./i3}}
        - {name: I4, category: Source, provider: Git, output_artifacts: [img4], configuration: {Repository: ./i4}}
    - name: Deploy
      actions:
        - {name: Staging, category: Deploy, provider: ECS, input_artifacts: [build], configuration: {ServiceName: web}}
        - name: Production
          category: Deploy
          provider: CodeDeployToECS
          input_artifacts: [build, img1, img2, img3, img4]
          run_order: 2
          configuration:
            ApplicationName: web
            DeploymentGroupName: production
            TaskDefinitionTemplateArtifact: build
            AppSpecTemplateArtifact: build
            Image1ArtifactName: img1
            Image1ContainerName: IMAGE1_NAME
            Image2ArtifactName: img2
            Image2ContainerName: IMAGE2_NAME
            Image3ArtifactName: img3
            Image3ContainerName: IMAGE3_NAME
            Image4ArtifactName: img4
            Image4ContainerName: PROXY_IMAGE
services:
  web: {driver: process, listeners: {production: "127.0.0.1:9000"}, process: {command: [./app]}}
applications:
  web: {deployment_groups: {production: {service: web}}}
`

const fourContainerTaskDef = `{"family": "web", "containerDefinitions": [
  {"name": "app", "image": "<IMAGE1_NAME>", "portMappings": [{"containerPort": 8080}]},
  {"name": "worker", "image": "<IMAGE2_NAME>", "essential": false},
  {"name": "metrics", "image": "<IMAGE3_NAME>", "essential": false},
  {"name": "proxy", "image": "<PROXY_IMAGE>", "essential": false}
]}`

const appSpec = `version: 0.0
Resources:
  - TargetService:
      Type: AWS::ECS::Service
      Properties:
        TaskDefinition: <TASK_DEFINITION>
        LoadBalancerInfo: {ContainerName: app, ContainerPort: 8080}
`

// deployEnv is a state file and the deploy providers on it, with no controller:
// the tests read what the actions record.
type deployEnv struct {
	t   *testing.T
	db  *store.DB
	dir string
	dep provider.Deployments
}

func newDeployEnv(t *testing.T) *deployEnv {
	t.Helper()
	dir := t.TempDir()
	def, err := manifest.ParseDefinition(filepath.Join(dir, "greenlight.yaml"), []byte(deployDefinition))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &deployEnv{t: t, db: db, dir: dir}
	e.dep = provider.Deployments{Def: def, Store: db.Deployments(), Follow: storeSource{db},
		Driver: func(context.Context, string) (string, error) { return manifest.DriverProcess, nil }, Poll: 20 * time.Millisecond}
	return e
}

// storeSource follows deployments straight from the state file.
type storeSource struct{ db *store.DB }

func (s storeSource) GetDeployment(ctx context.Context, id string) (*deploy.Deployment, error) {
	return s.db.Deployments().Deployment(ctx, id)
}

func (s storeSource) Events(ctx context.Context, q event.Query) ([]event.Event, error) {
	return s.db.Events(ctx, q)
}

// artifact writes files into a new artifact directory.
func (e *deployEnv) artifact(name string, files map[string]string) pipeline.Artifact {
	e.t.Helper()
	dir := filepath.Join(e.dir, "artifacts", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for file, body := range files {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
	return pipeline.Artifact{Name: name, Dir: dir}
}

// created runs an action until it has recorded its deployment, and returns the
// deployment as recorded (nothing drives it: the action is cancelled then).
func (e *deployEnv) created(p pipeline.Provider, config map[string]string, inputs ...pipeline.Artifact) *deploy.Deployment {
	e.t.Helper()
	ids := make(chan string, 1)
	a := &pipeline.ActionRun{Pipeline: "p", ExecutionID: "exec-1", Stage: "Deploy", Action: "A", Attempt: 1, Config: config, Inputs: inputs,
		StateDir: filepath.Join(e.dir, ".greenlight"), Log: &lockedBuffer{}, SetExternalID: func(id string) error { ids <- id; return nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan pipeline.Outcome, 1)
	go func() {
		out, _ := p.Run(ctx, a)
		done <- out
	}()
	defer func() { cancel(); <-done }()
	select {
	case id := <-ids:
		for range 500 {
			if d, err := e.db.Deployments().Deployment(context.Background(), id); err == nil {
				return d
			}
			time.Sleep(10 * time.Millisecond)
		}
		e.t.Fatalf("deployment %s was never recorded", id)
	case out := <-done:
		e.t.Fatalf("the action ended before creating a deployment: %s %s", out.Status, out.ErrorMessage)
	}
	return nil
}

// TestCodeDeployToECSFillsEveryImagePlaceholder: CodePipeline's Image1 to Image4
// artifacts each put their imageDetail.json URI into the task definition's
// <ImageNContainerName> placeholder; the deployment runs that task definition.
func TestCodeDeployToECSFillsEveryImagePlaceholder(t *testing.T) {
	e := newDeployEnv(t)
	inputs := []pipeline.Artifact{e.artifact("build", map[string]string{"taskdef.json": fourContainerTaskDef, "appspec.yaml": appSpec})}
	config := map[string]string{"ApplicationName": "web", "DeploymentGroupName": "production", "TaskDefinitionTemplateArtifact": "build", "AppSpecTemplateArtifact": "build"}
	for n, placeholder := range []string{"IMAGE1_NAME", "IMAGE2_NAME", "IMAGE3_NAME", "PROXY_IMAGE"} {
		name := fmt.Sprintf("img%d", n+1)
		inputs = append(inputs, e.artifact(name, map[string]string{"imageDetail.json": fmt.Sprintf(`{"ImageURI": "registry.local/%s:v%d"}`, name, n+1)}))
		config[fmt.Sprintf("Image%dArtifactName", n+1)], config[fmt.Sprintf("Image%dContainerName", n+1)] = name, placeholder
	}
	d := e.created(provider.CodeDeployToECS{Deployments: e.dep}, config, inputs...)
	var images []string
	for _, c := range d.Revision.TaskDefinition.ContainerDefinitions {
		images = append(images, c.Name+"="+c.Image)
	}
	want := "app=registry.local/img1:v1 worker=registry.local/img2:v2 metrics=registry.local/img3:v3 proxy=registry.local/img4:v4"
	if got := strings.Join(images, " "); got != want || d.Revision.Image != "registry.local/img1:v1" {
		t.Errorf("images deployed: %s (revision image %s)\nwant %s", got, d.Revision.Image, want)
	}
}

// TestECSDeploymentTimeoutReachesTheDeployment: the ECS action's
// DeploymentTimeout (minutes) bounds the staging deployment it creates.
func TestECSDeploymentTimeoutReachesTheDeployment(t *testing.T) {
	e := newDeployEnv(t)
	build := e.artifact("build", map[string]string{
		"imagedefinitions.json": `[{"name": "app", "imageUri": "registry.local/app:v1"}]`,
		"taskdef.json":          `{"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "portMappings": [{"containerPort": 8080}]}]}`,
	})
	d := e.created(provider.ECS{Deployments: e.dep}, map[string]string{"ServiceName": "web", "DeploymentTimeout": "2"}, build)
	if d.Config.InstallTimeout.D() != 2*time.Minute || d.Config.DeploymentTimeout.D() != 2*time.Minute {
		t.Errorf("install timeout %s, deployment timeout %s; want the action's 2 minutes", d.Config.InstallTimeout, d.Config.DeploymentTimeout)
	}
}

// TestDeploymentsHideEveryServedDefinitionsSecretsFromHooks: a deployment
// records the variables its hooks must not inherit: the secret sources of its
// own definition (its Slack URL here, which no task definition names) and those
// the creating process names (serve: every other served definition's), whose
// names say nothing of a secret.
func TestDeploymentsHideEveryServedDefinitionsSecretsFromHooks(t *testing.T) {
	created := func(p func(provider.Deployments) pipeline.Provider, config map[string]string) *deploy.Deployment {
		e := newDeployEnv(t)
		def, err := manifest.ParseDefinition(filepath.Join(e.dir, "greenlight.yaml"), []byte(deployDefinition+`notifications:
  - {name: n, detail_type: FULL, event_type_ids: [codepipeline-pipeline-pipeline-execution-failed], targets: [{slack: {url: {env: OWN_CHAT_URL}}}]}
`))
		if err != nil {
			t.Fatal(err)
		}
		e.dep.Def, e.dep.HiddenEnv = def, []string{"BETA_DB"}
		build := e.artifact("build", map[string]string{
			"imagedefinitions.json": `[{"name": "app", "imageUri": "registry.local/app:v1"}]`,
			"taskdef.json":          `{"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "portMappings": [{"containerPort": 8080}]}]}`,
			"appspec.yaml":          appSpec,
		})
		return e.created(p(e.dep), config, build)
	}
	staging := created(func(d provider.Deployments) pipeline.Provider { return provider.ECS{Deployments: d} }, map[string]string{"ServiceName": "web"})
	production := created(func(d provider.Deployments) pipeline.Provider { return provider.CodeDeployToECS{Deployments: d} },
		map[string]string{"ApplicationName": "web", "DeploymentGroupName": "production", "TaskDefinitionTemplateArtifact": "build", "AppSpecTemplateArtifact": "build"})
	for _, d := range []*deploy.Deployment{staging, production} {
		if got := strings.Join(d.Config.HiddenEnv, " "); got != "OWN_CHAT_URL BETA_DB" {
			t.Errorf("%s deployment hides %q from its hooks, want OWN_CHAT_URL BETA_DB", d.Kind, got)
		}
	}
}
