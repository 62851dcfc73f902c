package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"syscall"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/runtimetest"
)

// serverBin is the test server, built once by TestMain.
var serverBin string

// agentEnv makes the test binary act as a short-lived agent (see runAgent).
const agentEnv = "SUPERVISOR_TEST_AGENT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(agentEnv); dir != "" {
		runAgent(dir)
		return
	}
	os.Exit(gobuild.Main(m, runtimetest.Server(&serverBin)))
}

// runAgent is an agent that crashes: it starts the task spec read from stdin
// under a supervisor on dir, prints the task as JSON, and kills itself without
// closing anything, as an agent killed by the OOM killer would.
func runAgent(dir string) {
	var spec runtime.TaskSpec
	if err := json.NewDecoder(os.Stdin).Decode(&spec); err != nil {
		fmt.Fprintln(os.Stderr, "agent: decode spec:", err)
		os.Exit(1)
	}
	s, err := New(dir, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
	task, err := s.Start(context.Background(), spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(task); err != nil {
		os.Exit(1)
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}
