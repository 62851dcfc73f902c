package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
)

func newSupervisor(t *testing.T, dir string) *Supervisor {
	t.Helper()
	s, err := New(dir, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatalf("New(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testWriter sends the supervisor's logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// serverSpec runs the test server as a process; APP_PORT stands for the
// container's own port variable, which must reach the process unchanged.
// serverTask runs the test server in every container of a task, each with its
// Command as the server's arguments.
func serverTask(id string, labels map[string]string, cs ...runtime.ContainerSpec) runtime.TaskSpec {
	for i := range cs {
		cs[i].ProcessCommand = append([]string{serverBin}, cs[i].Command...)
	}
	return runtime.TaskSpec{ID: id, Labels: labels, Containers: cs, ProcessDir: filepath.Dir(serverBin)}
}

func serverSpec(id string, labels map[string]string, env ...string) runtime.TaskSpec {
	return runtime.TaskSpec{
		ID:             id,
		Labels:         labels,
		Env:            append([]string{"HOST=127.0.0.1", "APP_PORT=8080"}, env...),
		ContainerPort:  8080,
		ProcessCommand: []string{serverBin},
		ProcessDir:     filepath.Dir(serverBin),
	}
}

func TestSupervisorDriverContract(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	runtimetest.Run(t, runtimetest.Harness{Driver: s, Spec: serverSpec, Task: serverTask, Binary: serverBin})
}

// A task's process sees a minimal base of the agent's environment, and its own
// environment and secrets: not the agent's other variables, which on a server
// carry the webhook secret and Slack URLs (ECS and Docker give a task none of
// the host's environment either).
func TestATaskInheritsOnlyABaseOfTheAgentsEnvironment(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", "webhook secret")
	t.Setenv("SLACK_URL", "https://hooks.slack.com/services/T/B/x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws key")
	t.Setenv("ANYTHING_ELSE", "of the host")
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_TIME", "C")
	t.Setenv("TZ", "UTC")
	s := newSupervisor(t, t.TempDir())
	task := runtimetest.Start(t, s, serverTask(runtimetest.NewID("base-env"), nil, runtime.ContainerSpec{Name: "app", Essential: true,
		Ports: []int{8080}, Env: []string{"GREETING=hi"}, Secrets: []string{"DB_PASSWORD=from the task definition"}}))
	runtimetest.WaitHealthy(t, task.Address)
	for name, want := range map[string]string{
		"GREENLIGHT_WEBHOOK_SECRET": "", "SLACK_URL": "", "AWS_SECRET_ACCESS_KEY": "", "ANYTHING_ELSE": "",
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "LANG": "C.UTF-8", "LC_TIME": "C", "TZ": "UTC",
		"GREETING": "hi", "DB_PASSWORD": "from the task definition", "PORT": "8080",
	} {
		if _, got, err := runtimetest.Get(t.Context(), task.Address, "/env?name="+name); err != nil || got != want {
			t.Errorf("process sees %s=%q (err %v), want %q", name, got, err, want)
		}
	}
}

func TestStartGivesEachTaskItsOwnAddressAndKeepsEnv(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	// PORT and HOST in the task's own Env must not win: blue and green would collide.
	a := runtimetest.Start(t, s, serverSpec(runtimetest.NewID("env"), nil, "PORT=1", "GREETING=hi"))
	b := runtimetest.Start(t, s, serverSpec(runtimetest.NewID("env"), nil))
	runtimetest.WaitHealthy(t, a.Address)
	runtimetest.WaitHealthy(t, b.Address)
	host, port, err := net.SplitHostPort(a.Address)
	if err != nil || !strings.HasPrefix(host, "127.") || host == "127.0.0.1" || port != "8080" || a.Address == b.Address {
		t.Fatalf("addresses %q and %q, want each task its own 127.x.y.z with the container port 8080", a.Address, b.Address)
	}
	for name, want := range map[string]string{"PORT": "8080", "HOST": host, "APP_PORT": "8080", "GREETING": "hi"} {
		if _, got, err := runtimetest.Get(t.Context(), a.Address, "/env?name="+name); err != nil || got != want {
			t.Errorf("process sees %s=%q (err %v), want %q", name, got, err, want)
		}
	}
}

func TestDefaultLogPathAndAppend(t *testing.T) {
	dir := t.TempDir()
	s := newSupervisor(t, dir)
	id := runtimetest.NewID("logs")
	spec := serverSpec(id, nil, "CRASH_AFTER_MS=1")
	runtimetest.Start(t, s, spec)
	runtimetest.WaitExited(t, s, id)

	// A second run of the same ID appends to the file, and Logs shows only it.
	runtimetest.Start(t, s, serverSpec(id, nil, "GREETING=second"))
	path := filepath.Join(dir, "tasks", id+".log")
	if !runtimetest.Poll(t, func(context.Context) bool {
		data, _ := os.ReadFile(path)
		return strings.Count(string(data), "testserver listening") == 2
	}) {
		data, _ := os.ReadFile(path)
		t.Fatalf("%s = %q, want the output of both runs", path, data)
	}
	// What a service prints (its errors, its requests) is for its user only.
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", path, info.Mode(), err)
	}
	var out bytes.Buffer
	if err := s.Logs(t.Context(), id, &out, false); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "testserver listening"); n != 1 || strings.Contains(out.String(), "crashing") {
		t.Errorf("Logs = %q, want the current run only", out.String())
	}
}

func TestExitBySignalIsReported(t *testing.T) {
	dir := t.TempDir()
	s := newSupervisor(t, dir)
	id := runtimetest.NewID("killed")
	task := runtimetest.Start(t, s, serverSpec(id, nil))
	runtimetest.WaitHealthy(t, task.Address)
	if err := syscall.Kill(recordOf(t, dir, id).Containers[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	got := runtimetest.WaitExited(t, s, id)
	if got.ExitCode != 137 || !strings.Contains(got.Error, "killed") {
		t.Errorf("task after SIGKILL = %+v, want exit code 137 and a reason naming the signal", got)
	}
	if rec := recordOf(t, dir, id); rec.State != runtime.TaskExited || rec.ExitCode != 137 {
		t.Errorf("processes.json has %+v, want the exit recorded", rec)
	}
}

// recordOf reads the task's record from the state file, as a restarted agent would.
func recordOf(t *testing.T, dir, id string) record {
	t.Helper()
	records, err := loadState(filepath.Join(dir, stateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("%s not in %s: %+v", id, stateFile, records)
	return record{}
}

func TestStopAll(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	var addrs []string
	for range 3 {
		task := runtimetest.Start(t, s, serverSpec(runtimetest.NewID("all"), nil))
		addrs = append(addrs, task.Address)
	}
	if err := s.StopAll(t.Context(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if tasks, _ := s.List(t.Context(), nil); len(tasks) != 0 {
		t.Errorf("List after StopAll = %+v, want none", tasks)
	}
	for _, a := range addrs {
		runtimetest.WaitUnreachable(t, a)
	}
}

func TestStartRejectsBadSpecs(t *testing.T) {
	s := newSupervisor(t, t.TempDir())
	good := serverSpec("ok", nil)
	cases := map[string]struct {
		edit func(*runtime.TaskSpec)
		want string
	}{
		"empty ID":      {func(sp *runtime.TaskSpec) { sp.ID = "" }, "invalid task ID"},
		"slash in ID":   {func(sp *runtime.TaskSpec) { sp.ID = "../x" }, "invalid task ID"},
		"no command":    {func(sp *runtime.TaskSpec) { sp.ProcessCommand = nil }, "ProcessCommand is empty"},
		"relative dir":  {func(sp *runtime.TaskSpec) { sp.ProcessDir = "app" }, "ProcessDir \"app\" is relative"},
		"relative log":  {func(sp *runtime.TaskSpec) { sp.LogPath = "x.log" }, "LogPath \"x.log\" is relative"},
		"env not k=v":   {func(sp *runtime.TaskSpec) { sp.Env = []string{"A=1", "B"} }, "Env[1] = \"B\": want KEY=VALUE"},
		"env empty key": {func(sp *runtime.TaskSpec) { sp.Env = []string{"=1"} }, "want KEY=VALUE"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			spec := good
			c.edit(&spec)
			_, err := s.Start(t.Context(), spec)
			var specErr *SpecError
			if !errors.As(err, &specErr) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Start = %v, want a SpecError containing %q", err, c.want)
			}
		})
	}
}

func TestStartMissingCommandRecordsNothing(t *testing.T) {
	dir := t.TempDir()
	s := newSupervisor(t, dir)
	spec := serverSpec("missing", nil)
	spec.ProcessCommand = []string{filepath.Join(dir, "no-such-binary")}
	if _, err := s.Start(t.Context(), spec); err == nil || !strings.Contains(err.Error(), "no-such-binary") {
		t.Fatalf("Start = %v, want an error naming the command", err)
	}
	if _, err := s.Inspect(t.Context(), "missing"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after failed start: %v, want ErrNotFound", err)
	}
}

func TestCorruptStateFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{\n  \"version\": 1,\n  \"processes\": [}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := New(dir, nil)
	if err == nil || !strings.Contains(err.Error(), stateFile+":3:17") {
		t.Fatalf("New = %v, want an error at %s:3:17", err, stateFile)
	}
}

func TestStateFileSurvivesEveryChange(t *testing.T) {
	dir := t.TempDir()
	s := newSupervisor(t, dir)
	id := runtimetest.NewID("persist")
	task := runtimetest.Start(t, s, serverSpec(id, map[string]string{runtime.LabelService: "orders"}))
	rec := recordOf(t, dir, id)
	if len(rec.Containers) != 1 || rec.Containers[0].PID == 0 || rec.Containers[0].StartTime == 0 || rec.Address != task.Address || rec.Labels[runtime.LabelService] != "orders" ||
		rec.State != runtime.TaskRunning || rec.Spec.ProcessCommand[0] != serverBin {
		t.Errorf("record = %+v, want pid, start time, address, labels, spec", rec)
	}
	if err := s.Stop(t.Context(), id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	records, err := loadState(filepath.Join(dir, stateFile))
	if err != nil || len(records) != 0 {
		t.Errorf("state after stop = %+v, %v; want empty", records, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(leftovers) != 0 {
		t.Errorf("temp files left behind: %v", leftovers)
	}
}

// TestReadoptAfterClose is an agent restart in one process: the first
// supervisor closes, a second one on the same dir takes over its processes.
func TestReadoptAfterClose(t *testing.T) {
	dir := t.TempDir()
	stopAllAtEnd(t, dir)
	first := newSupervisor(t, dir)
	labels := map[string]string{runtime.LabelService: runtimetest.NewID("svc")}
	kept := mustStart(t, first, serverSpec(runtimetest.NewID("kept"), labels, "GREETING=still here"))
	died := mustStart(t, first, serverSpec(runtimetest.NewID("died"), labels))
	later := mustStart(t, first, serverSpec(runtimetest.NewID("later"), labels, "CRASH_AFTER_MS=4000"))
	runtimetest.WaitHealthy(t, kept.Address)
	runtimetest.WaitHealthy(t, died.Address)
	diedPID := recordOf(t, dir, died.ID).Containers[0].PID
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// While no supervisor watches, one process dies.
	if err := syscall.Kill(diedPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	runtimetest.WaitUnreachable(t, died.Address)
	if _, body, err := runtimetest.Get(t.Context(), kept.Address, "/"); err != nil || body != "still here" {
		t.Fatalf("after Close, GET / = %q, %v; want the process still serving", body, err)
	}

	second := newSupervisor(t, dir)
	got, err := second.Inspect(t.Context(), kept.ID)
	if err != nil || got.State != runtime.TaskRunning || got.Address != kept.Address || !got.Started.Equal(kept.Started) {
		t.Errorf("re-adopted task = %+v, %v; want %+v", got, err, kept)
	}
	gone, err := second.Inspect(t.Context(), died.ID)
	if err != nil || gone.State != runtime.TaskExited || gone.Error == "" {
		t.Errorf("task that died meanwhile = %+v, %v; want exited with a reason", gone, err)
	}
	if tasks, err := second.List(t.Context(), labels); err != nil || len(tasks) != 3 {
		t.Errorf("List = %+v, %v; want all three tasks", tasks, err)
	}
	var out bytes.Buffer
	if err := second.Logs(t.Context(), kept.ID, &out, false); err != nil || !strings.Contains(out.String(), "testserver listening") {
		t.Errorf("Logs of re-adopted task = %q, %v", out.String(), err)
	}

	// An adopted process that exits later is noticed without being our child.
	if ended := runtimetest.WaitExited(t, second, later.ID); ended.ExitCode != -1 || ended.Error == "" {
		t.Errorf("adopted task that crashed = %+v, want exit code -1 (unknown) and a reason", ended)
	}

	if err := second.Stop(t.Context(), kept.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	runtimetest.WaitUnreachable(t, kept.Address)
	if _, err := second.Inspect(t.Context(), kept.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after stop: %v, want ErrNotFound", err)
	}
}

// TestProcessOutlivesCrashedAgent runs the supervisor in a separate agent
// process that starts a task and dies by SIGKILL; the task keeps serving, and a
// new supervisor on the same dir adopts and stops it.
func TestProcessOutlivesCrashedAgent(t *testing.T) {
	dir := t.TempDir()
	stopAllAtEnd(t, dir)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec := serverSpec(runtimetest.NewID("orphan"), nil, "GREETING=orphaned")
	input, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.CommandContext(t.Context(), self, "-test.run=^$")
	agent.Env = append(os.Environ(), agentEnv+"="+dir)
	agent.Stdin = bytes.NewReader(input)
	var stdout, stderr bytes.Buffer
	agent.Stdout, agent.Stderr = &stdout, &stderr
	err = agent.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("agent ended with %v, want death by SIGKILL; stderr:\n%s", err, stderr.String())
	}
	var task runtime.Task
	if err := json.Unmarshal(stdout.Bytes(), &task); err != nil {
		t.Fatalf("agent output %q: %v", stdout.String(), err)
	}

	runtimetest.WaitHealthy(t, task.Address)
	s := newSupervisor(t, dir)
	got, err := s.Inspect(t.Context(), task.ID)
	if err != nil || got.State != runtime.TaskRunning || got.Address != task.Address {
		t.Fatalf("adopted task = %+v, %v; want running at %s", got, err, task.Address)
	}
	if _, body, err := runtimetest.Get(t.Context(), task.Address, "/"); err != nil || body != "orphaned" {
		t.Errorf("GET / = %q, %v", body, err)
	}
	if err := s.Stop(t.Context(), task.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	runtimetest.WaitUnreachable(t, task.Address)
}

// mustStart starts a task whose cleanup is left to stopAllAtEnd, for tests that
// hand tasks from one supervisor to the next.
func mustStart(t *testing.T, s *Supervisor, spec runtime.TaskSpec) runtime.Task {
	t.Helper()
	task, err := s.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start %s: %v", spec.ID, err)
	}
	return task
}

// stopAllAtEnd stops, once the test's supervisors are closed, whatever the
// test left running in dir: a last supervisor adopts and stops it.
func stopAllAtEnd(t *testing.T, dir string) {
	t.Cleanup(func() {
		s, err := New(dir, nil)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), runtimetest.Eventually)
		defer cancel()
		if err := s.StopAll(ctx, time.Second); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

func TestOneSupervisorPerDir(t *testing.T) {
	dir := t.TempDir()
	first := newSupervisor(t, dir)
	if _, err := New(dir, nil); err == nil || !strings.Contains(err.Error(), "another supervisor is running on") {
		t.Fatalf("second New on a busy dir = %v, want an error", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	newSupervisor(t, dir) // free again
}

// TestTaskWhoseStartWasInterruptedIsExited: an agent that stops while a task's
// containers start leaves a partial task; the next supervisor reports it exited
// (a later Start replaces it) and stops what of it runs.
func TestTaskWhoseStartWasInterruptedIsExited(t *testing.T) {
	dir := t.TempDir()
	stopAllAtEnd(t, dir)
	first := newSupervisor(t, dir)
	id := runtimetest.NewID("partial")
	spec := serverTask(id, nil,
		runtime.ContainerSpec{Name: "app", Essential: true, Ports: []int{8080}, Env: []string{"PORT=8080"},
			DependsOn: []runtime.Dependency{{Container: "never", Condition: runtime.ConditionHealthy}}},
		runtime.ContainerSpec{Name: "never", Ports: []int{8081}, Env: []string{"PORT=8081"},
			HealthCheck: &runtime.HealthCheck{Command: []string{"CMD", "/bin/false"}, Interval: time.Hour}},
	)
	ctx, cancel := context.WithCancel(t.Context())
	started := make(chan error, 1)
	go func() { _, err := first.Start(ctx, spec); started <- err }()
	var partial runtime.Task
	if !runtimetest.Poll(t, func(ctx context.Context) bool {
		partial, _ = first.Inspect(ctx, id)
		return len(partial.Containers) == 1
	}) {
		t.Fatalf("the first container never started: %+v", partial)
	}
	_ = first.Close() // the agent goes away mid-start; its processes stay
	cancel()
	if err := <-started; err == nil {
		t.Error("the start cut short by Close succeeded")
	}
	second := newSupervisor(t, dir)
	got, err := second.Inspect(t.Context(), id)
	if err != nil || got.State != runtime.TaskExited || !strings.Contains(got.Error, "start was interrupted") {
		t.Fatalf("partial task after a restart = %+v, %v; want exited, saying its start was interrupted", got, err)
	}
	runtimetest.WaitUnreachable(t, partial.Address[:strings.LastIndex(partial.Address, ":")]+":8081")
	if task, err := second.Start(t.Context(), serverSpec(id, nil)); err != nil || task.State != runtime.TaskRunning {
		t.Errorf("Start over the interrupted task = %+v, %v; want a new running task", task, err)
	}
}
