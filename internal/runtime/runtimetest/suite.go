package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Harness tells the suite how to run the test server under one driver.
type Harness struct {
	Driver runtime.Driver
	// Spec returns a spec that runs the test server as task id, with the labels
	// and the extra environment variables (KEY=VALUE) given.
	Spec func(id string, labels map[string]string, env ...string) runtime.TaskSpec
	// Task returns a task of several containers, each running the test server
	// with its Command as the server's arguments.
	Task func(id string, labels map[string]string, containers ...runtime.ContainerSpec) runtime.TaskSpec
	// Binary is the test server's path where a task's containers run it (for
	// health check commands).
	Binary string
}

// Run checks the runtime.Driver contract: start, idempotent start, inspect, list
// by labels, logs, crash detection, graceful and forced stop, unknown IDs, and
// tasks of several containers (shared network, dependsOn, health checks,
// essential containers, stop timeouts).
func Run(t *testing.T, h Harness) {
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, h) })
	t.Run("StartIsIdempotent", func(t *testing.T) { testStartIsIdempotent(t, h) })
	t.Run("ListByLabels", func(t *testing.T) { testListByLabels(t, h) })
	t.Run("CrashIsReported", func(t *testing.T) { testCrashIsReported(t, h) })
	t.Run("StopKillsAfterGrace", func(t *testing.T) { testStopKillsAfterGrace(t, h) })
	t.Run("FollowLogsEndsWhenTaskExits", func(t *testing.T) { testFollowEndsAtExit(t, h) })
	t.Run("FollowLogsStreams", func(t *testing.T) { testFollowStreams(t, h) })
	t.Run("UnknownID", func(t *testing.T) { testUnknownID(t, h) })
	t.Run("TaskOfSeveralContainers", func(t *testing.T) { testSeveralContainers(t, h) })
	t.Run("EssentialContainerStopsTheTask", func(t *testing.T) { testEssentialExit(t, h) })
	t.Run("UnmetDependencyFailsStart", func(t *testing.T) { testUnmetDependency(t, h) })
	t.Run("ContainerStopTimeout", func(t *testing.T) { testContainerStopTimeout(t, h) })
}

// Start starts spec and stops the task when the test ends.
func Start(t testing.TB, d runtime.Driver, spec runtime.TaskSpec) runtime.Task {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), Eventually)
		defer cancel()
		if err := d.Stop(ctx, spec.ID, time.Second); err != nil {
			t.Errorf("cleanup: stop %s: %v", spec.ID, err)
		}
	})
	task, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.ID, err)
	}
	return task
}

// WaitExited polls Inspect until the task has exited and returns it.
func WaitExited(t testing.TB, d runtime.Driver, id string) runtime.Task {
	t.Helper()
	var task runtime.Task
	var err error
	if !Poll(t, func(ctx context.Context) bool {
		task, err = d.Inspect(ctx, id)
		return err == nil && task.State == runtime.TaskExited
	}) {
		t.Fatalf("task %s never exited: last inspect %+v, err %v", id, task, err)
	}
	return task
}

// WaitUnreachable polls addr until nothing answers there any more.
func WaitUnreachable(t testing.TB, addr string) {
	t.Helper()
	if !Poll(t, func(ctx context.Context) bool {
		_, _, err := Get(ctx, addr, "/health")
		return err != nil
	}) {
		t.Fatalf("%s still answers after stop", addr)
	}
}

func testLifecycle(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("life")
	labels := map[string]string{runtime.LabelService: id}
	task := Start(t, d, h.Spec(id, labels, "GREETING=hello from "+id))
	if task.ID != id || task.State != runtime.TaskRunning || task.Address == "" || task.Started.IsZero() {
		t.Fatalf("Start returned %+v, want running task %s with an address and a start time", task, id)
	}
	if task.Labels[runtime.LabelService] != id {
		t.Errorf("task labels %v lack %s=%s", task.Labels, runtime.LabelService, id)
	}
	WaitHealthy(t, task.Address)
	if _, body, err := Get(ctx, task.Address, "/"); err != nil || body != "hello from "+id {
		t.Errorf("GET / = %q, %v; want the task's GREETING", body, err)
	}

	got, err := d.Inspect(ctx, id)
	if err != nil || got.State != runtime.TaskRunning || got.Address != task.Address {
		t.Errorf("Inspect = %+v, %v; want running at %s", got, err, task.Address)
	}
	waitLogsContain(t, d, id, "testserver listening")

	stopAndCheckGone(t, d, task)
	if err := d.Stop(ctx, id, 10*time.Second); err != nil {
		t.Errorf("second stop: %v, want nil (idempotent)", err)
	}
}

// stopAndCheckGone stops the task and checks that nothing of it is left: not in
// Inspect, not answering at its address.
func stopAndCheckGone(t *testing.T, d runtime.Driver, task runtime.Task) {
	t.Helper()
	if err := d.Stop(t.Context(), task.ID, 10*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := d.Inspect(t.Context(), task.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after stop: err %v, want ErrNotFound", err)
	}
	WaitUnreachable(t, task.Address)
}

func testStartIsIdempotent(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("idem")
	labels := map[string]string{runtime.LabelService: id}
	first := Start(t, d, h.Spec(id, labels))
	second, err := d.Start(ctx, h.Spec(id, labels))
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	if second.Address != first.Address || !second.Started.Equal(first.Started) {
		t.Errorf("second Start = %+v, want the running task %+v", second, first)
	}
	tasks, err := d.List(ctx, labels)
	if err != nil || len(tasks) != 1 {
		t.Errorf("List after two starts = %+v, %v; want one task", tasks, err)
	}
}

func testListByLabels(t *testing.T, h Harness) {
	d := h.Driver
	service := NewID("svc")
	a, b := NewID("list-a"), NewID("list-b")
	Start(t, d, h.Spec(a, map[string]string{runtime.LabelService: service, runtime.LabelDeployment: "d-a"}))
	Start(t, d, h.Spec(b, map[string]string{runtime.LabelService: service, runtime.LabelDeployment: "d-b"}))

	cases := []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{runtime.LabelService: service}, []string{a, b}},
		{map[string]string{runtime.LabelService: service, runtime.LabelDeployment: "d-b"}, []string{b}},
		{map[string]string{runtime.LabelService: service, runtime.LabelDeployment: "d-none"}, nil},
	}
	for _, c := range cases {
		if got := listIDs(t, d, c.labels); !slices.Equal(got, c.want) {
			t.Errorf("List(%v) = %v, want %v", c.labels, got, c.want)
		}
	}
	all := listIDs(t, d, nil)
	if !slices.Contains(all, a) || !slices.Contains(all, b) {
		t.Errorf("List(nil) = %v, want it to include %s and %s", all, a, b)
	}
}

func listIDs(t *testing.T, d runtime.Driver, labels map[string]string) []string {
	t.Helper()
	tasks, err := d.List(t.Context(), labels)
	if err != nil {
		t.Fatalf("List(%v): %v", labels, err)
	}
	var ids []string
	for _, task := range tasks {
		for k, v := range labels {
			if task.Labels[k] != v {
				t.Errorf("List(%v) returned %s with labels %v", labels, task.ID, task.Labels)
			}
		}
		ids = append(ids, task.ID)
	}
	slices.Sort(ids)
	return ids
}

func testCrashIsReported(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("crash")
	labels := map[string]string{runtime.LabelService: id}
	// Long enough that Start sees it running even on a loaded machine.
	Start(t, d, h.Spec(id, labels, "CRASH_AFTER_MS=4000"))
	task := WaitExited(t, d, id)
	if task.ExitCode != 3 {
		t.Errorf("exited task = %+v, want exit code 3", task)
	}
	tasks, err := d.List(ctx, labels)
	if err != nil || len(tasks) != 1 || tasks[0].State != runtime.TaskExited {
		t.Errorf("List = %+v, %v; want the exited task", tasks, err)
	}
	waitLogsContain(t, d, id, "crashing with exit code 3")
	if err := d.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("stop exited task: %v", err)
	}
	if _, err := d.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after stop: err %v, want ErrNotFound", err)
	}
}

func testStopKillsAfterGrace(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("stubborn")
	task := Start(t, d, h.Spec(id, map[string]string{runtime.LabelService: id}, "IGNORE_SIGTERM=1"))
	WaitHealthy(t, task.Address)
	if err := d.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := d.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after stop: err %v, want ErrNotFound", err)
	}
	WaitUnreachable(t, task.Address)
}

func testFollowEndsAtExit(t *testing.T, h Harness) {
	d := h.Driver
	id := NewID("follow")
	Start(t, d, h.Spec(id, map[string]string{runtime.LabelService: id}, "CRASH_AFTER_MS=4000"))
	ctx, cancel := context.WithTimeout(t.Context(), Eventually)
	defer cancel()
	var out bytes.Buffer
	if err := d.Logs(ctx, id, &out, true); err != nil {
		t.Fatalf("follow logs: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("follow logs returned only when its context ended, want it to end with the task")
	}
	for _, want := range []string{"testserver listening", "crashing with exit code 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("followed logs %q lack %q", out.String(), want)
		}
	}
}

// testFollowStreams checks that follow delivers output while the task runs,
// rather than at its end, and stops when the caller's context ends.
func testFollowStreams(t *testing.T, h Harness) {
	d := h.Driver
	id := NewID("stream")
	Start(t, d, h.Spec(id, map[string]string{runtime.LabelService: id}))
	ctx, cancel := context.WithTimeout(t.Context(), Eventually)
	defer cancel()
	w := &cancelOnMatch{want: "testserver listening", cancel: cancel}
	if err := d.Logs(ctx, id, w, true); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("follow logs: %v", err)
	}
	if !w.matched {
		t.Fatalf("follow ended without delivering %q; got %q", w.want, w.buf.String())
	}
}

type cancelOnMatch struct {
	want    string
	cancel  context.CancelFunc
	buf     bytes.Buffer
	matched bool
}

func (w *cancelOnMatch) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.matched && strings.Contains(w.buf.String(), w.want) {
		w.matched = true
		w.cancel()
	}
	return len(p), nil
}

func testUnknownID(t *testing.T, h Harness) {
	d, ctx := h.Driver, t.Context()
	id := NewID("never-started")
	if _, err := d.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect(unknown): err %v, want ErrNotFound", err)
	}
	if err := d.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop(unknown) = %v, want nil", err)
	}
	if err := d.Logs(ctx, id, &bytes.Buffer{}, false); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Logs(unknown): err %v, want ErrNotFound", err)
	}
}

func waitLogsContain(t *testing.T, d runtime.Driver, id, want string) {
	t.Helper()
	var out bytes.Buffer
	var err error
	if !Poll(t, func(ctx context.Context) bool {
		out.Reset()
		err = d.Logs(ctx, id, &out, false)
		return err == nil && strings.Contains(out.String(), want)
	}) {
		t.Fatalf("logs of %s never contained %q: got %q, err %v", id, want, out.String(), err)
	}
}
