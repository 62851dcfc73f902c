package cli

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/control/localtest"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/server"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// binary is the greenlight executable the server's backend starts the agent
// from (this test binary is not greenlight).
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// twin is one state directory seen two ways: the CLI on the directory, and
// the CLI through a server whose backend is the directory's.
type twin struct {
	def, stateDir string
	url, token    string
	backend       *local.Backend  // the server's: it drives what the test starts
	site          *daemon.Site    // its agent and controller
	access        *access.Service // the directory's tokens and audit log
	deliveries    store.Notifications
}

func newTwin(t *testing.T) *twin {
	t.Helper()
	return newTwinOf(t, localtest.Contract)
}

// newTwinOf is a twin of a repository holding files (name -> content).
func newTwinOf(t *testing.T, files map[string]string) *twin {
	t.Helper()
	e := localtest.New(t, binary, files)
	tw := &twin{def: e.Def, stateDir: e.StateDir, backend: e.Backend, site: e.Site}
	db := e.DB
	tw.access, tw.deliveries = &access.Service{Store: store.Access{DB: db}}, store.Notifications{DB: db}
	srv, err := server.New(server.Options{Backend: tw.backend, Access: tw.access, Deliveries: tw.deliveries})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		_ = srv.Close()
		ts.Close()
	})
	tw.url = ts.URL
	if tw.token, _, err = tw.access.Create(context.Background(), "operator-bot", access.RoleOperator, 0); err != nil {
		t.Fatal(err)
	}
	return tw
}

// both runs a command on the state directory and through the server and
// returns the two outputs (error included).
func (tw *twin) both(t *testing.T, args ...string) (string, string) {
	t.Helper()
	return tw.bothAs(t, tw.token, args...)
}

// bothAs is both with token for the server.
func (tw *twin) bothAs(t *testing.T, token string, args ...string) (string, string) {
	t.Helper()
	onDir, err := greenlight(t, tw.stateDir, append([]string{"-f", tw.def}, args...)...)
	if err != nil {
		onDir += "error: " + err.Error()
	}
	onServer, err := greenlight(t, tw.stateDir, append([]string{"-f", tw.def, "--server", tw.url, "--token", token}, args...)...)
	if err != nil {
		onServer += "error: " + err.Error()
	}
	return onDir, onServer
}

// waitFor follows an execution's events until match holds.
func (tw *twin) waitFor(t *testing.T, id string, match func(event.Event) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	found := false
	err := control.Tail(ctx, tw.backend, event.Query{ExecutionID: id}, 20*time.Millisecond, func(e event.Event) { found = found || match(e) },
		func() bool { return found })
	if err != nil {
		v, _ := tw.backend.GetExecution(context.Background(), id)
		evs, _ := tw.backend.Events(context.Background(), event.Query{ExecutionID: id})
		t.Fatalf("follow %s: %v; execution %+v; events %+v", id, err, v, evs)
	}
}

func (tw *twin) waitApproval(t *testing.T, id string) {
	tw.waitFor(t, id, func(e event.Event) bool {
		return e.Kind == event.KindApproval && e.Status == string(control.ApprovalNeeded)
	})
}

func (tw *twin) waitEnd(t *testing.T, id string) {
	tw.waitFor(t, id, func(e event.Event) bool {
		return e.Kind == event.KindExecution && e.ExecutionID == id && control.ExecutionStatus(e.Status).Final()
	})
}

func (tw *twin) start(t *testing.T) string {
	t.Helper()
	id, err := tw.backend.StartExecution(context.Background(), control.StartRequest{Who: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSameOutputOnBothBackends: every verb prints the same on the state
// directory and through a server over it. Reads and refusals run twice on the
// same state; a successful approve, reject or stop runs once per backend, each
// on its own execution, whose id is the only difference allowed.
func TestSameOutputOnBothBackends(t *testing.T) {
	tw := newTwin(t)
	first := tw.start(t)
	tw.waitApproval(t, first)
	for _, args := range [][]string{
		{"status"}, {"status", first}, {"status", first[:8]}, {"--json", "status", first},
		{"history"}, {"--json", "history"}, {"logs", first}, {"logs", first, "Build/Build"},
		{"deployments"}, {"--json", "deployments"}, {"deployments", "d-NOSUCHONE"}, {"alarms"},
		{"rollback"}, {"rollback", "d-NOSUCHONE"}, {"approve", first, "--stage", "Build", "--action", "Build"},
		{"stop", "no-such-execution"},
	} {
		same(t, args, tw.both)
	}
	second := approveOnEach(t, tw, first, "approve")
	for _, args := range [][]string{{"approve", first}, {"reject", second}, {"stop", first}, {"retry", first, "Build"}, {"history"}, {"status", first}} {
		same(t, args, tw.both)
	}
	approveOnEach(t, tw, tw.start(t), "reject")
	stopOnEach(t, tw)
}

// same fails when args print differently on the two backends.
func same(t *testing.T, args []string, both func(*testing.T, ...string) (string, string)) {
	t.Helper()
	onDir, onServer := both(t, args...)
	if onDir != onServer {
		t.Errorf("greenlight %s differs:\n--- on the state directory:\n%s\n--- through the server:\n%s", strings.Join(args, " "), onDir, onServer)
	}
}

var ids = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// approveOnEach decides one waiting execution on the state directory and the
// next through the server, and returns the last one.
func approveOnEach(t *testing.T, tw *twin, id, verb string) string {
	t.Helper()
	tw.waitApproval(t, id)
	onDir, err := greenlight(t, tw.stateDir, "-f", tw.def, verb, id, "--comment", "ok")
	if err != nil {
		t.Fatalf("%s on the directory: %v\n%s", verb, err, onDir)
	}
	tw.waitEnd(t, id)
	next := tw.start(t)
	tw.waitApproval(t, next)
	onServer, err := greenlight(t, tw.stateDir, "-f", tw.def, "--server", tw.url, "--token", tw.token, verb, next, "--comment", "ok")
	if err != nil {
		t.Fatalf("%s through the server: %v\n%s", verb, err, onServer)
	}
	tw.waitEnd(t, next)
	if ids.ReplaceAllString(onDir, "ID") != ids.ReplaceAllString(onServer, "ID") {
		t.Errorf("%s differs:\n%s\n%s", verb, onDir, onServer)
	}
	if want := map[string]string{"approve": "approved ", "reject": "rejected "}[verb] + next + "\n"; onServer != want {
		t.Errorf("%s printed %q, want %q", verb, onServer, want)
	}
	return next
}

// stopOnEach stops a waiting execution on each backend.
func stopOnEach(t *testing.T, tw *twin) {
	t.Helper()
	var outs []string
	for _, remote := range []bool{false, true} {
		id := tw.start(t)
		tw.waitApproval(t, id)
		args := []string{"-f", tw.def, "stop", id, "--abandon", "--reason", "enough"}
		if remote {
			args = append([]string{"--server", tw.url, "--token", tw.token}, args...)
		}
		out, err := greenlight(t, tw.stateDir, args...)
		if err != nil {
			t.Fatalf("stop (server %v): %v\n%s", remote, err, out)
		}
		tw.waitEnd(t, id)
		outs = append(outs, ids.ReplaceAllString(out, "ID"))
	}
	if outs[0] != outs[1] {
		t.Errorf("stop differs:\n%s\n%s", outs[0], outs[1])
	}
}

// TestRunPrintsTheSameOnBothBackends: `run --auto-approve`, the real binary
// in a process of its own, follows an execution to its end the same way on
// both backends; ids, times and durations differ naturally and are normalised.
func TestRunPrintsTheSameOnBothBackends(t *testing.T) {
	tw := newTwin(t)
	var outs []string
	for _, remote := range []bool{false, true} {
		args := []string{"--state-dir", tw.stateDir, "-f", tw.def, "run", "--auto-approve"}
		if remote {
			args = append([]string{"--server", tw.url, "--token", tw.token}, args...)
		}
		out, err := exec.Command(binary, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("run (server %v): %v\n%s", remote, err, out)
		}
		// Who acts differs by design: the server records its token's name,
		// never what the client says (the user running the command).
		who := regexp.QuoteMeta(whoami() + " (--auto-approve)")
		if remote {
			who = "operator-bot"
		}
		outs = append(outs, regexp.MustCompile("approved by "+who).ReplaceAllString(normalise(string(out)), "approved by WHO"))
	}
	if outs[0] != outs[1] {
		t.Errorf("run differs:\n--- on the state directory:\n%s\n--- through the server:\n%s", outs[0], outs[1])
	}
}

var (
	clockTimes = regexp.MustCompile(`\d{2}:\d{2}:\d{2}(\.\d+)?`)
	durations  = regexp.MustCompile(`\b\d+(\.\d+)?(ms|µs|s|m)\b`)
	buildIDs   = regexp.MustCompile(`unit:[a-z0-9]+`)
	shortIDs   = regexp.MustCompile(`execution [0-9a-f]{8}\b`)
)

func normalise(s string) string {
	s = ids.ReplaceAllString(s, "ID")
	s = shortIDs.ReplaceAllString(s, "execution ID")
	s = clockTimes.ReplaceAllString(s, "TIME")
	s = buildIDs.ReplaceAllString(s, "unit:BUILD")
	return durations.ReplaceAllString(s, "DURATION")
}
