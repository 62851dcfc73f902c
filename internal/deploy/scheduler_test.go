package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

var jsontimeMinute = jsontime.Duration(time.Minute)

// fastScheduler: tight polls and a small backoff, so that tests stay short.
func fastScheduler() deploy.SchedulerOptions {
	return deploy.SchedulerOptions{Poll: 100 * time.Millisecond, BackoffBase: 300 * time.Millisecond, BackoffMax: 2400 * time.Millisecond, HealthTimeout: 5 * time.Second}
}

// enableScheduler restarts the controller with the service scheduler beside it.
func (h *harness) enableScheduler(so deploy.SchedulerOptions) {
	h.stop()
	h.sched = &so
	h.start()
}

// kill SIGKILLs the processes of a task, as the OOM killer would.
func (h *harness) kill(taskID string) {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, "tasks", "processes.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var state struct {
		Processes []struct {
			ID         string `json:"id"`
			Containers []struct {
				PID int `json:"pid"`
			} `json:"containers"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		h.t.Fatal(err)
	}
	for _, p := range state.Processes {
		if p.ID != taskID {
			continue
		}
		for _, c := range p.Containers {
			if c.PID <= 1 { // kill(0) and kill(-1) would reach the test itself
				h.t.Fatalf("task %s has no process id in the supervisor's state (%d)", taskID, c.PID)
			}
			if err := syscall.Kill(c.PID, syscall.SIGKILL); err != nil {
				h.t.Fatalf("kill %s (pid %d): %v", taskID, c.PID, err)
			}
		}
		return
	}
	h.t.Fatalf("task %s not in the supervisor's state", taskID)
}

// servingTasks returns the task list production runs on per the record.
func servingTasks(d *deploy.Deployment) []deploy.Task {
	if d.Kind == deploy.KindRollback {
		return d.OriginalTasks
	}
	return d.ReplacementTasks
}

// waitRecovered polls until the record names n tasks, none of them in gone,
// each running and healthy in the router's production group, which holds
// exactly them.
func (h *harness) waitRecovered(recordID string, n int, gone ...string) *deploy.Deployment {
	h.t.Helper()
	var last string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		d, err := h.st.Deployment(context.Background(), recordID)
		if err != nil {
			h.t.Fatal(err)
		}
		if last = h.recovered(d, n, gone); last == "" {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("production of %s never recovered: %s", recordID, last)
	return nil
}

// recovered says what is still missing ("" when nothing).
func (h *harness) recovered(d *deploy.Deployment, n int, gone []string) string {
	tasks := servingTasks(d)
	running := h.running()
	var ids []string
	for _, t := range tasks {
		if slices.Contains(gone, t.ID) || !running[t.ID] {
			return "task " + t.ID + " recorded but dead"
		}
		ids = append(ids, t.ID)
	}
	if len(ids) != n {
		return "recorded " + strings.Join(ids, ",")
	}
	st, _ := h.rt.Status(h.service)
	group := d.ReplacementTargetGroup
	if d.Kind == deploy.KindRollback {
		group = d.OriginalTargetGroup
	}
	var healthy []string
	for _, g := range st.TargetGroups {
		for _, t := range g.Targets {
			if g.Name == group && t.State == routing.TargetHealthy {
				healthy = append(healthy, t.ID)
			} else if g.Name == group {
				return "target " + t.ID + " " + string(t.State)
			}
		}
	}
	slices.Sort(ids)
	slices.Sort(healthy)
	if !slices.Equal(ids, healthy) {
		return "healthy targets " + strings.Join(healthy, ",") + ", recorded " + strings.Join(ids, ",")
	}
	return ""
}

// taskEvents returns the scheduler's events with a status.
func (h *harness) taskEvents(status string) []event.Event {
	var out []event.Event
	for _, e := range h.events.Events() {
		if e.Kind == event.KindTask && e.Status == status {
			out = append(out, e)
		}
	}
	return out
}

func (h *harness) releaseWithScheduler(r release) *deploy.Deployment {
	h.t.Helper()
	h.enableScheduler(fastScheduler())
	d := h.wait(h.create(r).ID, "succeeded", done)
	if d.Status != deploy.StatusSucceeded {
		h.t.Fatalf("%s: %s %s", r.version, d.Status, d.ErrorMessage)
	}
	waitFor(h.t, h.prod, r.version)
	return d
}

func TestSchedulerReplacesKilledTaskUnderLoad(t *testing.T) {
	h := newHarness(t)
	d := h.releaseWithScheduler(release{version: "v1", config: noWait})
	l := startLoad(h.prod, 4)
	victim := d.ReplacementTasks[0].ID
	killed := time.Now()
	h.kill(victim)
	rec := h.waitRecovered(d.ID, 2, victim)
	recovered := time.Since(killed)
	if recovered > 15*time.Second {
		t.Errorf("production back to 2 healthy tasks after %s", recovered)
	}
	if len(rec.Replacements) != 1 || rec.Replacements[0].Old != victim || rec.Replacements[0].New != victim+"-r1" || rec.Replacements[0].ExitCode == 0 {
		t.Fatalf("replacements recorded: %+v", rec.Replacements)
	}
	serving := h.taskEvents("Serving")
	if len(serving) != 1 || !strings.Contains(h.taskEvents("Replacing")[0].Message, "task "+victim+" exited") {
		t.Fatalf("events: serving %+v", serving)
	}
	for total := l.Total(); l.Total() < total+200; {
		time.Sleep(20 * time.Millisecond) // keep the load going on the recovered set
	}
	l.Stop()
	// A target that refuses connections is passed over by the router (the
	// request goes to the healthy task): only requests already sent to the
	// killed task as it died fail (502), about one per client (the bound allows
	// a second for a connection its dying listener still took); none fails after it was
	// taken out, and none on the healthy task (no 503: production never went
	// empty).
	out := h.taskEvents("Replacing")[0].Time // the dead target goes out right after
	t.Logf("events: %s / %s / %s", h.taskEvents("Replacing")[0].Message, h.taskEvents("Registered")[0].Message, serving[0].Message)
	if got := h.taskEvents("Replacing")[0].Message; !strings.HasPrefix(got, "task "+victim+" exited (exit code 137") {
		t.Errorf("event: %s", got)
	}
	t.Logf("killed %s; out of the group after %s; recovered in %s; load %s", victim, out.Sub(killed), recovered, l)
	if l.Failed() > 8 {
		t.Errorf("%d requests failed, far more than the 4 clients had in flight on the killed task: %s", l.Failed(), l)
	}
	if l.Failed() > 0 && l.LastFailure().After(out.Add(100*time.Millisecond)) {
		t.Errorf("a request failed at %s, after the dead target was out at %s: %s", l.LastFailure(), out, l)
	}
	if statuses := l.Statuses(); statuses[200]+statuses[502] != int(l.Total()) {
		t.Errorf("statuses other than 200 and 502 (the killed task): %s", l)
	}
	after := startLoad(h.prod, 4)
	for after.Total() < 300 {
		time.Sleep(20 * time.Millisecond)
	}
	after.Stop()
	if after.Failed() != 0 {
		t.Fatalf("after the replacement: %s", after)
	}
}

func TestSchedulerRestoresProductionWhenEveryTaskDies(t *testing.T) {
	h := newHarness(t)
	d := h.releaseWithScheduler(release{version: "v1", config: noWait})
	for _, task := range d.ReplacementTasks {
		h.kill(task.ID)
	}
	h.waitRecovered(d.ID, 2, d.ReplacementTasks[0].ID, d.ReplacementTasks[1].ID)
	waitFor(t, h.prod, "v1")
	if len(h.running()) != 2 {
		t.Fatalf("running %v, want the two replacements", h.running())
	}
}

func TestSchedulerBacksOffATaskThatCrashesAtOnce(t *testing.T) {
	h := newHarness(t)
	flag := filepath.Join(h.dir, "crash")
	d := h.releaseWithScheduler(release{version: "v1", config: noWait, env: map[string]string{"CRASH_IF_EXISTS": flag}})
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	victim := d.ReplacementTasks[0].ID
	h.kill(victim)
	// Failed starts come at growing intervals: 300ms, 600ms, 1.2s, 2.4s (cap).
	deadline := time.Now().Add(30 * time.Second)
	for len(h.taskEvents("Throttled")) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	attempts := h.taskEvents("Replacing")
	if len(attempts) < 4 {
		t.Fatalf("%d attempts, want at least 4", len(attempts))
	}
	var gaps []time.Duration
	for i := 1; i < len(attempts); i++ {
		gaps = append(gaps, attempts[i].Time.Sub(attempts[i-1].Time))
	}
	t.Logf("gaps between attempts: %v", gaps)
	for i := 1; i < min(len(gaps), 4); i++ {
		if gaps[i] < gaps[i-1]+gaps[i-1]/2 {
			t.Errorf("gap %d (%s) did not grow from %s: %v", i, gaps[i], gaps[i-1], gaps)
		}
	}
	if last := h.taskEvents("Throttled")[3]; !strings.Contains(last.Message, "4 failed start(s) in a row, next attempt in 2.4s") {
		t.Errorf("throttle event: %s", last.Message)
	}
	// Once the cause is gone, the next attempt succeeds.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	rec := h.waitRecovered(d.ID, 2, victim)
	if got := servingTasks(rec); !slices.ContainsFunc(got, func(t deploy.Task) bool { return t.ID == victim+"-r1" }) {
		t.Fatalf("serving %+v, want %s-r1 (the same ID every attempt)", got, victim)
	}
}

func TestDeploymentAndRollbackAfterAReplacement(t *testing.T) {
	h := newHarness(t)
	v1 := h.releaseWithScheduler(release{version: "v1", config: noWait})
	victim := v1.ReplacementTasks[1].ID
	h.kill(victim)
	rec := h.waitRecovered(v1.ID, 2, victim)
	// A deployment after it takes the real tasks as its original set, and a
	// rollback goes back to them.
	v2 := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) { c.TerminationWait = 0 }}).ID, "done", done)
	if v2.Status != deploy.StatusSucceeded {
		t.Fatalf("v2: %s %s", v2.Status, v2.ErrorMessage)
	}
	ids := func(ts []deploy.Task) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		slices.Sort(out)
		return out
	}
	if got, want := ids(v2.OriginalTasks), ids(servingTasks(rec)); !slices.Equal(got, want) {
		t.Fatalf("v2's original tasks %v, want the serving ones %v", got, want)
	}
	waitFor(t, h.prod, "v2")
	for id := range h.running() {
		if !strings.Contains(id, strings.ToLower(v2.ID)) {
			t.Errorf("task %s of v1 still runs after v2 terminated its original set", id)
		}
	}
	// One of v2's tasks is replaced, then v3 is rolled back during its
	// termination wait: production goes back to v2's set as it really is.
	victim2 := v2.ReplacementTasks[0].ID
	h.kill(victim2)
	h.waitRecovered(v2.ID, 2, victim2)
	v3 := h.wait(h.create(release{version: "v3", config: func(c *deploy.Config) { c.TerminationWait = jsontimeMinute }}).ID, "baking", func(d *deploy.Deployment) bool {
		return d.Status == deploy.StatusBaking || d.Status.Done()
	})
	if err := h.st.AddCommand(t.Context(), v3.ID, deploy.Command{Name: deploy.CommandRollback, Reason: "test", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	v3 = h.wait(v3.ID, "rolled back", func(d *deploy.Deployment) bool { return d.RolledBackBy != "" })
	rb := h.wait(v3.RolledBackBy, "done", done)
	if rb.Status != deploy.StatusSucceeded {
		t.Fatalf("rollback: %s %s", rb.Status, rb.ErrorMessage)
	}
	waitFor(t, h.prod, "v2")
	h.assertOnlyVersionServes("v2")
	// And the scheduler keeps the rolled-back-to set at its count.
	victim3 := servingTasks(rb)[0].ID
	h.kill(victim3)
	h.waitRecovered(rb.ID, 2, victim3)
	waitFor(t, h.prod, "v2")
}

func TestSchedulerCrashMidReplacementStartsNoDuplicate(t *testing.T) {
	h := newHarness(t)
	d := h.releaseWithScheduler(release{version: "v1", config: noWait})
	victim := d.ReplacementTasks[0].ID
	// The controller dies right after the replacement started, before the
	// router hears of it.
	crashed := make(chan struct{})
	h.faultMu.Lock()
	h.applyFault = func(spec routing.ServiceSpec) error {
		for _, g := range spec.TargetGroups {
			for _, tg := range g.Targets {
				if tg.ID == victim+"-r1" {
					h.faultMu.Lock()
					h.applyFault = nil
					h.faultMu.Unlock()
					go func() { h.stop(); close(crashed) }()
					return context.Canceled
				}
			}
		}
		return nil
	}
	h.faultMu.Unlock()
	h.kill(victim)
	<-crashed
	if !h.running()[victim+"-r1"] {
		t.Fatalf("the replacement should run after the crash: %v", h.running())
	}
	h.start()
	rec := h.waitRecovered(d.ID, 2, victim)
	running := h.running()
	if len(running) != 2 || !running[victim+"-r1"] {
		t.Fatalf("running %v: want the survivor and %s-r1, no duplicate, no orphan", running, victim)
	}
	for _, task := range servingTasks(rec) {
		if !running[task.ID] {
			t.Errorf("recorded %s does not run", task.ID)
		}
	}
	// Killed again right after a replacement was recorded, before the dead
	// task was stopped: the next scheduler stops (forgets) it.
	other := d.ReplacementTasks[1].ID
	h.crashWhen(func(d *deploy.Deployment) bool { return len(d.Replacements) == 2 })
	h.kill(other)
	<-h.finished
	h.start()
	h.waitRecovered(d.ID, 2, victim, other)
	deadline := time.Now().Add(30 * time.Second)
	for h.known(other) {
		if time.Now().After(deadline) {
			t.Fatalf("the dead task %s was never stopped after the crash", other)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// known reports whether the supervisor still has a task, running or exited.
func (h *harness) known(id string) bool {
	tasks, err := h.sup.List(context.Background(), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return slices.ContainsFunc(tasks, func(t runtime.Task) bool { return t.ID == id })
}

func TestSchedulerLeavesAnActiveDeploymentAlone(t *testing.T) {
	h := newHarness(t)
	d := h.releaseWithScheduler(release{version: "v1", config: noWait})
	v2 := h.wait(h.create(release{version: "v2", config: func(c *deploy.Config) { c.TerminationWait = jsontimeMinute }}).ID, "baking", func(d *deploy.Deployment) bool {
		return d.Status == deploy.StatusBaking || d.Status.Done()
	})
	victim := d.ReplacementTasks[0].ID // v1's, kept warm by v2
	h.kill(victim)
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if len(h.taskEvents("Replacing")) > 0 {
			t.Fatalf("the scheduler replaced a task of a service with active deployment %s", v2.ID)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
