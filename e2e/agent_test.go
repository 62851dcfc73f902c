package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
)

// TestAgentRestartsUpgradesAndCrashesUnderLoad drives the data plane's
// process the way an operator does, with 16 clients (half on a new connection
// per request) on production: `greenlight agent restart` three times and a
// newer greenlight binary deploying (it replaces the agent of the older
// version) fail no request; a SIGKILL of the agent fails at most the requests
// in flight on it, and refuses no connection.
func TestAgentRestartsUpgradesAndCrashesUnderLoad(t *testing.T) {
	p := newDeployProject(t, "1h", "a", "b")
	p.deploy("a")
	newer := filepath.Join(t.TempDir(), "greenlight-newer")
	if err := gobuild.Build(context.Background(), "../cmd/greenlight", newer, gobuild.Options{Trimpath: true}); err != nil {
		t.Fatal(err)
	}
	before := agentHealth(t, p.stateDir())
	l := startLoad(p.production, "/orders", 16)
	for range 3 {
		out, code := p.run(context.Background(), "agent", "restart")
		if code != 0 || !strings.Contains(out, "took over from pid") {
			t.Fatalf("greenlight agent restart: exit %d\n%s", code, out)
		}
	}
	p.deployWith(newer, "b")
	after := agentHealth(t, p.stateDir())
	l.Stop()
	if after.Version == before.Version || after.PID == before.PID {
		t.Fatalf("agent after a newer binary deployed: %+v, before %+v: want another version", after, before)
	}
	if v, _ := version(p.production); v != "b" {
		t.Fatalf("production serves %q, want b", v)
	}
	if l.Failed() != 0 {
		t.Fatalf("3 restarts and an upgrade under load: %s", l)
	}
	t.Logf("3 restarts and an upgrade: %s", l)

	crash := startLoad(p.production, "/orders", 16)
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(after.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a new agent after the crash", func() bool {
		b, _ := os.ReadFile(filepath.Join(p.stateDir(), agent.PIDFile))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return pid != after.PID && pid != 0
	})
	time.Sleep(300 * time.Millisecond)
	crash.Stop()
	if crash.Failed() > 16 || strings.Contains(crash.String(), "refused") {
		t.Fatalf("a SIGKILL of the agent under load: %s; want at most the 16 requests in flight failed, none refused", crash)
	}
	t.Logf("crash: %s", crash)
}

func agentHealth(t *testing.T, stateDir string) agent.Health {
	t.Helper()
	c, err := agent.Dial(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// deployWith runs `greenlight deploy` of a version with another greenlight
// binary.
func (p *deployProject) deployWith(exe, version string) {
	p.t.Helper()
	dir := p.revisions[version]
	cmd := exec.Command(exe, "-f", filepath.Join(p.repo, "greenlight.yaml"), "deploy",
		"--taskdef", filepath.Join(dir, "taskdef.json"), "--appspec", filepath.Join(dir, "appspec.yaml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s deploy %s: %v\n%s", filepath.Base(exe), version, err, out)
	}
}
