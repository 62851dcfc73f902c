package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/deploy"
)

// TestKilledProductionTaskIsReplacedAndDownStopsTheReplacement: the
// controller process's service scheduler replaces a production task that was
// SIGKILLed after its deployment ended, records the replacement, and
// `greenlight down` stops the replacement with everything else.
func TestKilledProductionTaskIsReplacedAndDownStopsTheReplacement(t *testing.T) {
	p := newDeployProject(t, "0s", "a")
	p.deploy("a")
	var d *deploy.Deployment
	eventually(t, 60*time.Second, "the deployment succeeded", func() bool {
		d = p.latest()
		return d != nil && d.Status == deploy.StatusSucceeded
	})
	victim := d.ReplacementTasks[0].ID
	pid := taskPID(t, p.stateDir(), victim)
	if pid <= 1 { // kill(0) or kill(-1) would reach the test itself
		b, _ := os.ReadFile(filepath.Join(p.stateDir(), "processes.json"))
		t.Fatalf("no process for task %s in the supervisor's state:\n%s", victim, b)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the killed task replaced and recorded", func() bool {
		d = p.latest()
		return len(d.Replacements) == 1 && d.Replacements[0].Old == victim && taskPID(t, p.stateDir(), d.Replacements[0].New) > 0
	})
	if v, err := version(p.production); err != nil || v != "a" {
		t.Fatalf("production after the replacement: %q %v", v, err)
	}
	replacement := taskPID(t, p.stateDir(), d.Replacements[0].New)
	if replacement <= 0 {
		t.Fatalf("no process for the replacement %s", d.Replacements[0].New)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, code := p.run(ctx, "down"); code != 0 {
		t.Fatalf("greenlight down: exit %d\n%s", code, out)
	}
	eventually(t, 10*time.Second, "the replacement stopped by down", func() bool {
		return syscall.Kill(replacement, 0) != nil
	})
}

// taskPID reads a task's first process id from the supervisor's state file
// (0 when the task is not there).
func taskPID(t *testing.T, stateDir, id string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "processes.json"))
	if err != nil {
		return 0
	}
	var state struct {
		Processes []struct {
			ID         string `json:"id"`
			State      string `json:"state"`
			Containers []struct {
				PID int `json:"pid"`
			} `json:"containers"`
		} `json:"processes"`
	}
	if err := json.Unmarshal(b, &state); err != nil {
		t.Fatal(err)
	}
	for _, p := range state.Processes {
		if p.ID == id && p.State == "running" && len(p.Containers) > 0 {
			return p.Containers[0].PID
		}
	}
	return 0
}
