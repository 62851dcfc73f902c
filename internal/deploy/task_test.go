package deploy_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// withSidecar makes the release's task definition two containers, as ECS runs
// them: the app (the load balancer's target, reading a secret) starts once its
// non-essential sidecar is HEALTHY; the app's own health check must pass too.
func withSidecar() func(*manifest.TaskDefinition) {
	return func(td *manifest.TaskDefinition) {
		app := td.ContainerDefinitions[0]
		app.Secrets = []manifest.ContainerSecret{{Name: "DB_PASSWORD", ValueFrom: "arn:aws:ssm:eu-west-1:123456789012:parameter/orders/db"}}
		app.HealthCheck = &manifest.ContainerHealthCheck{Command: []string{"CMD", "/bin/true"}, Interval: 1, Retries: 2}
		app.DependsOn = []manifest.ContainerDependency{{ContainerName: "sidecar", Condition: manifest.DependencyHealthy}}
		notEssential := false
		td.ContainerDefinitions = append(td.ContainerDefinitions, &manifest.ContainerDefinition{
			Name: "sidecar", Image: "testapp:sidecar", Essential: &notEssential, EntryPoint: []string{testApp},
			PortMappings: []manifest.PortMapping{{ContainerPort: 8081}}, Environment: []manifest.NameValue{{Name: "VERSION", Value: "sidecar"}},
			HealthCheck: &manifest.ContainerHealthCheck{Command: []string{"CMD-SHELL", "exit 0"}, Interval: 1, Retries: 2},
		})
	}
}

// secretSources maps the parameter the sidecar release reads to a file.
func secretSources(t *testing.T, value string) *manifest.Secrets {
	path := filepath.Join(t.TempDir(), "db-password")
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &manifest.Secrets{ParameterStore: map[string]*manifest.SecretSource{"/orders/db": {File: path}}}
}

// TestEveryContainerOfTheTaskDefinitionRuns deploys a task definition of two
// containers with a dependsOn HEALTHY, container health checks and a secret
// from a local source: the release takes production once its tasks are HEALTHY,
// and the secret reaches the app.
func TestEveryContainerOfTheTaskDefinitionRuns(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	sources := secretSources(t, "s3cret-value")
	d := h.deployAndRelease(release{version: "v2", taskdef: withSidecar(), config: func(c *deploy.Config) { c.Secrets = sources }})
	waitFor(t, h.prod, "v2")
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + h.prod + "/env?name=DB_PASSWORD")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = io.Copy(&body, resp.Body)
	if body.String() != "s3cret-value" {
		t.Errorf("the app reads DB_PASSWORD=%q, want the secret from its local source", body.String())
	}
	for _, task := range d.ReplacementTasks {
		got, err := h.sup.Inspect(context.Background(), task.ID)
		if err != nil || got.Health != runtime.HealthHealthy || len(got.Containers) != 2 {
			t.Errorf("task %s: %+v, %v; want HEALTHY with both containers", task.ID, got, err)
		}
	}
	if strings.Contains(deploymentLog(t, h, d.ID), "s3cret-value") {
		t.Error("the deployment log shows the secret")
	}
}

// TestSecretsAreMaskedInWhatADeploymentReports: a release that prints its
// secret and crashes fails with its last output, the secret masked.
func TestSecretsAreMaskedInWhatADeploymentReports(t *testing.T) {
	h := newHarness(t)
	h.deployAndRelease(release{version: "v1", config: noWait})
	sources := secretSources(t, "s3cret-value")
	d := h.wait(h.create(release{version: "leaky", env: map[string]string{"PRINT_ENV": "DB_PASSWORD", "CRASH_AFTER_MS": "300", "UNHEALTHY": "1"},
		taskdef: withSidecar(), config: func(c *deploy.Config) { c.Secrets = sources }}).ID, "done", done)
	if d.Status != deploy.StatusFailed || !strings.Contains(d.ErrorMessage, "DB_PASSWORD=***") || strings.Contains(d.ErrorMessage, "s3cret-value") {
		t.Fatalf("got %s %q; want a failure showing the output with the secret masked", d.Status, d.ErrorMessage)
	}
	h.assertOnlyVersionServes("v1")
}

func deploymentLog(t *testing.T, h *harness, id string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.dir, "logs", id+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
