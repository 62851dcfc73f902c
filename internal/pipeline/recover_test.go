package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// The crash tests re-execute the test binary as a child greenlight process that
// runs an execution until it is SIGKILLed. These variables tell the child where the
// state is and what to do.
const (
	childEnv      = "GREENLIGHT_PIPELINE_TEST_CHILD" // "1" in the child
	childStateEnv = "GREENLIGHT_PIPELINE_TEST_STATE"
	childHoldEnv  = "GREENLIGHT_PIPELINE_TEST_HOLD_DEPLOY" // "1": Deploy blocks forever
	deployMarker  = "deploy-started"
	deploymentID  = "deployment-42"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain is the child process: start one execution and run it.
func childMain() int {
	ctx := context.Background()
	dir := os.Getenv(childStateEnv)
	db, err := store.Open(ctx, filepath.Join(dir, "state.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open state:", err)
		return 1
	}
	f := newFake()
	f.on("Deploy", func(ctx context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if os.Getenv(childHoldEnv) != "1" {
			return pipeline.Outcome{Status: pipeline.Succeeded}, nil
		}
		if err := a.SetExternalID(deploymentID); err != nil {
			return pipeline.Outcome{}, err
		}
		if err := startProcessGroup(a, dir); err != nil {
			return pipeline.Outcome{}, err
		}
		if err := os.WriteFile(filepath.Join(dir, deployMarker), nil, 0o644); err != nil {
			return pipeline.Outcome{}, err
		}
		<-ctx.Done() // until SIGKILL
		return pipeline.Outcome{}, ctx.Err()
	})
	e := pipeline.New(crashDefinition(), db.Pipelines(), pipeline.Options{StateDir: dir, Processes: procfs.Table{}, Providers: map[string]pipeline.Provider{"Fake": f},
		PollInterval: 20 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond})
	id, err := e.Start(ctx, pipeline.StartRequest{Trigger: pipeline.TriggerCLI})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: start:", err)
		return 1
	}
	st, err := e.Run(ctx, id)
	fmt.Fprintln(os.Stderr, "child: run ended:", st, err)
	return 2 // the child is meant to be killed
}

// startProcessGroup starts a long sleep leading its own group, as a build's
// shell does, records the group on the attempt, and writes "pid start" to
// deployProcess in dir.
func startProcessGroup(a *pipeline.ActionRun, dir string) error {
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), "GREENLIGHT_TEST_GROUP="+a.ExecutionID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	g, err := procfs.GroupOf(cmd.Process.Pid, "GREENLIGHT_TEST_GROUP="+a.ExecutionID)
	if err != nil {
		return err
	}
	if err := a.RecordProcessGroup(pipeline.ProcessGroup{PGID: g.PGID, Start: g.Start, Env: g.Env}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, deployProcess), fmt.Appendf(nil, "%d %d", g.PGID, g.Start), 0o644)
}

// deployProcess is the sleep the child's held deploy started: it must be gone
// once another process resumes or abandons the deploy.
const deployProcess = "deploy-process"

func (h *harness) deploySleep() (pid int, start uint64) {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join(h.stateDir, deployProcess))
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := fmt.Sscan(string(data), &pid, &start); err != nil {
		h.t.Fatalf("%s: %q: %v", deployProcess, data, err)
	}
	if !procfs.Alive(pid, start) {
		h.t.Fatalf("the child's sleep %d ended with the child: nothing to test", pid)
	}
	h.t.Cleanup(func() {
		if procfs.Alive(pid, start) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return pid, start
}

// crashDefinition: Source, Deploy (held in the child when asked), Approval, Notify.
func crashDefinition() *manifest.Definition {
	return definition("",
		stage("Source", action("Source", "Fake", 1, outputs("source_output"))),
		stage("Deploy", action("Deploy", "Fake", 1, inputs("source_output"))),
		stage("Approval", approval("Approve")),
		stage("Notify", action("Notify", "Fake", 1)))
}

// startChild runs the child on h's state directory; it is killed at cleanup.
func startChild(t *testing.T, h *harness, holdDeploy bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	hold := "0"
	if holdDeploy {
		hold = "1"
	}
	cmd.Env = append(os.Environ(), childEnv+"=1", childStateEnv+"="+h.stateDir, childHoldEnv+"="+hold)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("child stderr:\n%s", stderr.String())
		}
	})
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill child: %v", err)
	}
	_ = cmd.Wait() // reap it: a zombie still has a /proc entry
}

func (h *harness) onlyExecution() string {
	h.t.Helper()
	list, err := h.engine.Executions(context.Background(), 0, 10)
	if err != nil || len(list) != 1 {
		h.t.Fatalf("executions %+v, %v", list, err)
	}
	return list[0].ID
}

// A process killed while an action runs: Recover in another process kills the
// process group the attempt recorded (its start time checked), then resumes the
// same attempt with the external id it recorded, and the execution finishes.
func TestRecoverResumesAnActionAfterACrash(t *testing.T) {
	h := newHarness(t, crashDefinition())
	child := startChild(t, h, true)
	h.waitFor("the child's deploy", func() bool {
		_, err := os.Stat(filepath.Join(h.stateDir, deployMarker))
		return err == nil
	})
	id := h.onlyExecution()
	if ids, err := h.engine.Recover(context.Background()); err != nil || len(ids) != 0 {
		t.Fatalf("recover while the owner lives: %v, %v", ids, err)
	}
	pid, start := h.deploySleep()
	kill(t, child)

	h.fake.on("Deploy", func(_ context.Context, a *pipeline.ActionRun) (pipeline.Outcome, error) {
		if a.ExternalID != deploymentID {
			return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "cannot resume: no deployment id"}, nil
		}
		if procfs.Alive(pid, start) {
			return pipeline.Outcome{Status: pipeline.Failed, ErrorMessage: "the crashed attempt's process still runs"}, nil
		}
		return pipeline.Outcome{Status: pipeline.Succeeded, Summary: "resumed " + a.ExternalID}, nil
	})
	ids, err := h.engine.Recover(context.Background())
	if err != nil || !slices.Equal(ids, []string{id}) {
		t.Fatalf("recover: %v, %v; want [%s]", ids, err, id)
	}
	run := h.runAsync(id) // joins the resumed run
	h.waitApprovalNeeded(id, "Approval", "Approve")
	if err := h.engine.Approve(context.Background(), id, "", "", "alice", ""); err != nil {
		t.Fatalf("approve: %v", err)
	}
	h.await(run, pipeline.StatusSucceeded)

	deploys := h.fake.callsOf(id, "Deploy")
	if len(deploys) != 1 || deploys[0].Attempt != 1 || deploys[0].ExternalID != deploymentID {
		t.Fatalf("deploy calls after the crash %+v, want attempt 1 with %s", deploys, deploymentID)
	}
	if n := len(h.fake.callsOf(id, "Source")); n != 0 {
		t.Fatalf("Source ran again %d times after the crash", n)
	}
	if deploys[0].Inputs[0].Dir != filepath.Join(h.stateDir, "artifacts", id, "source_output") {
		t.Fatalf("resumed deploy inputs %+v", deploys[0].Inputs)
	}
	path, err := h.engine.LogPath(context.Background(), id, "Deploy", "Deploy")
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(log), "attempt 1 started") || !strings.Contains(string(log), "attempt 1 resumed") {
		t.Fatalf("deploy log %q, %v", log, err)
	}
	if got := statusesOf(h.events, id, event.KindExecution); !slices.Equal(got, []string{"Resumed", "Succeeded"}) {
		t.Fatalf("execution events in the recovering process %v", got)
	}
}

// An approval given while the process waiting for it is dead counts once the
// execution is recovered.
func TestApprovalGivenWhileTheOwnerIsDeadIsHonoured(t *testing.T) {
	h := newHarness(t, crashDefinition())
	child := startChild(t, h, false)
	h.waitFor("an execution", func() bool {
		list, err := h.engine.Executions(context.Background(), 0, 1)
		return err == nil && len(list) == 1
	})
	id := h.onlyExecution()
	h.waitApprovalNeeded(id, "Approval", "Approve")
	kill(t, child)

	if err := h.engine.Approve(context.Background(), id, "Approval", "Approve", "alice", "while nobody listened"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if _, err := h.engine.Recover(context.Background()); err != nil {
		t.Fatalf("recover: %v", err)
	}
	h.await(h.runAsync(id), pipeline.StatusSucceeded)
	if len(h.fake.callsOf(id, "Notify")) != 1 {
		t.Fatal("the stage after the approval did not run")
	}
	if got := statusesOf(h.events, id, event.KindApproval); !slices.Equal(got, []string{"Approved"}) {
		t.Fatalf("approval events in the recovering process %v", got)
	}
}

// Stopping an execution whose process died, with nothing in progress to wait for,
// stops it at once instead of leaving it Stopping, and kills what the abandoned
// attempt left running.
func TestStopOfAnOrphanFinishesAtOnce(t *testing.T) {
	h := newHarness(t, crashDefinition())
	child := startChild(t, h, true)
	h.waitFor("the child's deploy", func() bool {
		_, err := os.Stat(filepath.Join(h.stateDir, deployMarker))
		return err == nil
	})
	id := h.onlyExecution()
	pid, start := h.deploySleep()
	kill(t, child)
	if err := h.engine.Stop(context.Background(), id, true, "owner died"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if procfs.Alive(pid, start) {
		t.Errorf("the abandoned attempt's process %d still runs after the stop", pid)
	}
	v := h.view(id)
	if v.Status != pipeline.StatusStopped || findAction(v, "Deploy", "Deploy").Status != pipeline.StatusAbandoned || findStage(v, "Deploy").Status != pipeline.StatusStopped {
		t.Fatalf("after stop and abandon of an orphan: %s / %+v", v.Status, v.Stages)
	}
	if ids, err := h.engine.Recover(context.Background()); err != nil || len(ids) != 0 {
		t.Fatalf("recover after the stop: %v, %v", ids, err)
	}
}
