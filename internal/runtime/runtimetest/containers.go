package runtimetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// testSeveralContainers is a task as ECS runs one: a sidecar that the load
// balancer targets and that reaches the app on the task's own network; the app,
// whose health check the sidecar waits for (HEALTHY); and a non-essential init
// container that exits (SUCCESS) while the task runs on.
func testSeveralContainers(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("multi")
	spec := h.Task(id, map[string]string{runtime.LabelService: id},
		runtime.ContainerSpec{Name: "sidecar", Essential: true, Ports: []int{8081}, Env: []string{"PORT=8081", "UPSTREAM_PORT=8080"},
			DependsOn: []runtime.Dependency{{Container: "app", Condition: runtime.ConditionHealthy}, {Container: "init", Condition: runtime.ConditionSuccess}}},
		runtime.ContainerSpec{Name: "app", Essential: true, Ports: []int{8080}, Env: []string{"PORT=8080", "GREETING=from app"},
			HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", h.Binary, "probe", "8080"}, Interval: 500 * time.Millisecond, Timeout: 2 * time.Second, Retries: 3}},
		runtime.ContainerSpec{Name: "init", Command: []string{"oneshot"}},
	)
	spec.TargetContainer, spec.ContainerPort = "sidecar", 8081
	task := Start(t, d, spec)
	states := map[string]runtime.ContainerState{}
	for _, c := range task.Containers {
		states[c.Name] = c
	}
	if app, init := states["app"], states["init"]; app.Health != runtime.HealthHealthy || init.State != runtime.TaskExited || init.ExitCode != 0 {
		t.Errorf("containers when the sidecar started: %+v; want app HEALTHY and init exited 0 before it", task.Containers)
	}
	if task.State != runtime.TaskRunning || task.Health != runtime.HealthHealthy {
		t.Errorf("task %s %s, want running and HEALTHY (a non-essential container exited)", task.State, task.Health)
	}
	WaitHealthy(t, task.Address)
	if _, body, err := Get(ctx, task.Address, "/upstream"); err != nil || body != "from app" {
		t.Errorf("the sidecar (the task's address) got %q, %v from the app on the task's network; want \"from app\"", body, err)
	}
	for _, want := range []string{"app | testserver listening", "sidecar | testserver listening", "init | oneshot done"} {
		waitLogsContain(t, d, id, want)
	}
	stopAndCheckGone(t, d, task)
}

// testEssentialExit: the essential app crashes; the task exits saying so and
// its other container is stopped.
func testEssentialExit(t *testing.T, h Harness) {
	d := h.Driver
	id := NewID("essential")
	spec := h.Task(id, map[string]string{runtime.LabelService: id},
		runtime.ContainerSpec{Name: "app", Essential: true, Ports: []int{8080}, Env: []string{"PORT=8080", "CRASH_AFTER_MS=4000"}},
		runtime.ContainerSpec{Name: "helper", Ports: []int{8081}, Env: []string{"PORT=8081"}},
	)
	spec.TargetContainer, spec.ContainerPort = "helper", 8081
	task := Start(t, d, spec)
	WaitHealthy(t, task.Address)
	got := WaitExited(t, d, id)
	if got.ExitCode != 3 || !strings.Contains(got.Error, "essential container app exited with status 3") {
		t.Errorf("task after its essential container crashed = %+v, want exit code 3 and a reason naming it", got)
	}
	WaitUnreachable(t, task.Address) // the helper was stopped with it
	var last runtime.Task
	if !Poll(t, func(ctx context.Context) bool {
		last, _ = d.Inspect(ctx, id)
		return len(last.Containers) == 2 && last.Containers[0].State == runtime.TaskExited && last.Containers[1].State == runtime.TaskExited
	}) {
		t.Errorf("containers after the essential one exited: %+v, want both exited", last.Containers)
	}
}

// testUnmetDependency: a container waits for another's SUCCESS, which exits 1;
// Start fails saying why and leaves nothing behind.
func testUnmetDependency(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("unmet")
	spec := h.Task(id, nil,
		runtime.ContainerSpec{Name: "app", Essential: true, Ports: []int{8080}, Env: []string{"PORT=8080"},
			DependsOn: []runtime.Dependency{{Container: "migrate", Condition: runtime.ConditionSuccess}}},
		runtime.ContainerSpec{Name: "migrate", Command: []string{"oneshot"}, Env: []string{"EXIT_CODE=1"}},
	)
	t.Cleanup(func() { _ = d.Stop(ctx, id, time.Second) })
	_, err := d.Start(ctx, spec)
	if err == nil || !strings.Contains(err.Error(), "migrate to be SUCCESS") || !strings.Contains(err.Error(), "exited with status 1") {
		t.Fatalf("Start = %v, want an error naming the dependency that exited 1", err)
	}
	if _, err := d.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after a failed start: %v, want ErrNotFound", err)
	}
}

// testContainerStopTimeout: a container's own stop timeout, not Stop's grace,
// bounds how long it may ignore SIGTERM.
func testContainerStopTimeout(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("stoptimeout")
	spec := h.Task(id, nil,
		runtime.ContainerSpec{Name: "app", Essential: true, Ports: []int{8080}, Env: []string{"PORT=8080", "IGNORE_SIGTERM=1"}, StopTimeout: time.Second},
		runtime.ContainerSpec{Name: "other", Essential: true, Ports: []int{8081}, Env: []string{"PORT=8081"}},
	)
	task := Start(t, d, spec)
	WaitHealthy(t, task.Address)
	started := time.Now()
	if err := d.Stop(ctx, id, time.Minute); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(started); took > 30*time.Second {
		t.Errorf("Stop took %s: the container's 1s stop timeout should have bounded it, not the minute of grace", took)
	}
	WaitUnreachable(t, task.Address)
}
