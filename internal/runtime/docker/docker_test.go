package docker

import (
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
)

func newDriver(t *testing.T) *Driver {
	t.Helper()
	needEngine(t)
	d, err := Connect(t.Context(), Options{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// serverSpec runs the test server image; it listens on 8080 in the container.
func serverSpec(id string, labels map[string]string, env ...string) runtime.TaskSpec {
	l := maps.Clone(labels)
	if l == nil {
		l = map[string]string{}
	}
	l[testLabel] = testRun
	return runtime.TaskSpec{
		ID:            id,
		Labels:        l,
		Image:         imageTag,
		Env:           env,
		ContainerPort: 8080,
		StopTimeout:   5 * time.Second,
	}
}

// serverTask runs the test server image in every container of a task, each
// with its Command as the server's arguments.
func serverTask(id string, labels map[string]string, cs ...runtime.ContainerSpec) runtime.TaskSpec {
	spec := serverSpec(id, labels)
	for i := range cs {
		cs[i].Image = imageTag
	}
	return runtime.TaskSpec{ID: id, Labels: spec.Labels, Containers: cs}
}

func TestDockerDriverContract(t *testing.T) {
	runtimetest.Run(t, runtimetest.Harness{Driver: newDriver(t), Spec: serverSpec, Task: serverTask, Binary: "/testserver"})
}

func TestAddressIsLoopbackOnly(t *testing.T) {
	d := newDriver(t)
	task := runtimetest.Start(t, d, serverSpec(runtimetest.NewID("loop"), nil))
	if !strings.HasPrefix(task.Address, "127.0.0.1:") || strings.HasSuffix(task.Address, ":8080") {
		t.Errorf("address %q, want 127.0.0.1 and a random host port", task.Address)
	}
	c, err := d.cli.ContainerInspect(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range c.HostConfig.PortBindings[nat.Port("8080/tcp")] {
		if b.HostIP != "127.0.0.1" {
			t.Errorf("port binding %+v, want loopback only", b)
		}
	}
	if c.HostConfig.RestartPolicy.Name != container.RestartPolicyDisabled {
		t.Errorf("restart policy %q, want none: the controller decides", c.HostConfig.RestartPolicy.Name)
	}
}

func TestSpecOverridesReachTheContainer(t *testing.T) {
	d := newDriver(t)
	spec := serverSpec(runtimetest.NewID("over"), nil, "GREETING=overridden", "PORT=9090")
	spec.ContainerPort = 9090
	spec.User = "65534:65534"
	spec.WorkingDir = "/work"
	spec.EntryPoint = []string{"/testserver"}
	spec.Command = []string{}
	task := runtimetest.Start(t, d, spec)
	runtimetest.WaitHealthy(t, task.Address)
	for path, want := range map[string]string{"/": "overridden", "/uid": "65534", "/cwd": "/work", "/env?name=PORT": "9090"} {
		if _, got, err := runtimetest.Get(t.Context(), task.Address, path); err != nil || got != want {
			t.Errorf("GET %s = %q, %v; want %q", path, got, err, want)
		}
	}
	c, err := d.cli.ContainerInspect(t.Context(), task.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Config.StopTimeout == nil || *c.Config.StopTimeout != 5 {
		t.Errorf("stop timeout %v, want 5 s", c.Config.StopTimeout)
	}
	if c.Config.Labels[runtime.LabelStateDir] != d.stateDir {
		t.Errorf("labels %v lack %s=%s", c.Config.Labels, runtime.LabelStateDir, d.stateDir)
	}
}

func TestBadEntryPointFailsStart(t *testing.T) {
	d := newDriver(t)
	spec := serverSpec(runtimetest.NewID("badentry"), nil)
	spec.EntryPoint = []string{"/no-such-program"}
	t.Cleanup(func() { _ = d.Stop(t.Context(), spec.ID, 0) })
	if _, err := d.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "no-such-program") {
		t.Errorf("Start = %v, want the engine's error naming the entrypoint", err)
	}
	if _, err := d.Inspect(t.Context(), spec.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after a failed start: %v, want ErrNotFound (container removed)", err)
	}
}

func TestImageNotFound(t *testing.T) {
	d := newDriver(t)
	spec := serverSpec(runtimetest.NewID("noimage"), nil)
	spec.Image = "greenlight-no-such-image:" + testRun
	_, err := d.Start(t.Context(), spec)
	var notFound *ImageNotFoundError
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), spec.Image+" not found locally: build it first") {
		t.Errorf("Start = %v, want ImageNotFoundError naming %s", err, spec.Image)
	}
}

func TestStartReplacesExitedContainer(t *testing.T) {
	d := newDriver(t)
	id := runtimetest.NewID("again")
	labels := map[string]string{runtime.LabelService: id}
	first := runtimetest.Start(t, d, serverSpec(id, labels, "CRASH_AFTER_MS=4000"))
	runtimetest.WaitExited(t, d, id)
	second, err := d.Start(t.Context(), serverSpec(id, labels, "GREETING=second"))
	if err != nil {
		t.Fatal(err)
	}
	if second.State != runtime.TaskRunning || !second.Started.After(first.Started) {
		t.Errorf("second start = %+v, want a new running container (first %+v)", second, first)
	}
	runtimetest.WaitHealthy(t, second.Address)
	if _, body, err := runtimetest.Get(t.Context(), second.Address, "/"); err != nil || body != "second" {
		t.Errorf("GET / = %q, %v; want the new container", body, err)
	}
	if tasks, err := d.List(t.Context(), labels); err != nil || len(tasks) != 1 {
		t.Errorf("List = %+v, %v; want one container", tasks, err)
	}
}

// TestOtherStateDirsAreInvisible: two state dirs share one engine; neither
// sees, stops nor reuses the other's containers.
func TestOtherStateDirsAreInvisible(t *testing.T) {
	mine, other := newDriver(t), newDriver(t)
	id := runtimetest.NewID("shared")
	task := runtimetest.Start(t, mine, serverSpec(id, nil))

	if _, err := other.Inspect(t.Context(), id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("other Inspect: %v, want ErrNotFound", err)
	}
	if tasks, err := other.List(t.Context(), map[string]string{testLabel: testRun}); err != nil || len(tasks) != 0 {
		t.Errorf("other List = %+v, %v; want none", tasks, err)
	}
	if err := other.Stop(t.Context(), id, 0); err != nil {
		t.Errorf("other Stop = %v, want nil (not its task)", err)
	}
	if _, err := other.Start(t.Context(), serverSpec(id, nil)); err == nil || !strings.Contains(err.Error(), "does not own") {
		t.Errorf("other Start = %v, want an error about the name being taken", err)
	}
	if got, err := mine.Inspect(t.Context(), id); err != nil || got.State != runtime.TaskRunning {
		t.Errorf("after the other driver's calls: %+v, %v; want still running", got, err)
	}
	runtimetest.WaitHealthy(t, task.Address)
}

func TestTaskOf(t *testing.T) {
	cases := map[string]struct {
		state *container.State
		want  runtime.Task
	}{
		"oom": {
			&container.State{OOMKilled: true, ExitCode: 137, StartedAt: "2026-01-02T03:04:05.5Z"},
			runtime.Task{ID: "t", State: runtime.TaskExited, ExitCode: 137, Started: time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC),
				Error: "out of memory: killed by the kernel's OOM killer"},
		},
		"engine error": {
			&container.State{ExitCode: 127, Error: "exec: not found"},
			runtime.Task{ID: "t", State: runtime.TaskExited, ExitCode: 127, Error: "exec: not found"},
		},
		"running": {
			&container.State{Running: true},
			runtime.Task{ID: "t", State: runtime.TaskRunning, Address: "127.0.0.1:4000"},
		},
		"no state": {nil, runtime.Task{ID: "t", State: runtime.TaskExited}},
	}
	for name, c := range cases {
		network := &container.NetworkSettings{}
		network.Ports = nat.PortMap{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: "4000"}}, "9000/tcp": nil}
		got := taskOf("t", []container.InspectResponse{{
			ContainerJSONBase: &container.ContainerJSONBase{Name: "/t", State: c.state},
			NetworkSettings:   network,
		}})
		if !got.Started.Equal(c.want.Started) {
			t.Errorf("%s: started %v, want %v", name, got.Started, c.want.Started)
		}
		got.Started, c.want.Started = time.Time{}, time.Time{}
		if !equalTasks(got, c.want) {
			t.Errorf("%s: taskOf = %+v, want %+v", name, got, c.want)
		}
	}
}

func equalTasks(a, b runtime.Task) bool {
	return a.ID == b.ID && a.Address == b.Address && a.State == b.State && a.ExitCode == b.ExitCode &&
		a.Error == b.Error && maps.Equal(a.Labels, b.Labels)
}

func TestCheckSpecRejectsBadSpecs(t *testing.T) {
	cases := map[string]struct {
		spec runtime.TaskSpec
		want string
	}{
		"bad id":   {runtime.TaskSpec{ID: "a/b", Image: "x"}, "invalid task ID"},
		"no image": {runtime.TaskSpec{ID: "ab"}, "no image"},
		"port":     {runtime.TaskSpec{ID: "ab", Image: "x", ContainerPort: 70000}, "container port 70000"},
	}
	for name, c := range cases {
		if err := checkSpec(c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: checkSpec = %v, want an error containing %q", name, err, c.want)
		}
	}
}
