package agent

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// TestMain lets the test binary act as greenlight's agent commands, so that
// the tests run the keeper and its agent processes for real: `agent
// --state-dir D [--take-over]` is the keeper, `agent serve --state-dir D` one
// agent process under it.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == "agent" {
		os.Exit(actAsAgentCommand(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func actAsAgentCommand(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	serve := args[0] == "serve"
	if serve {
		args = args[1:]
	}
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	dir := fs.String("state-dir", "", "")
	takeOver := fs.Bool("take-over", false, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if serve {
		var keeper *net.UnixConn
		if keeper, err = KeeperFromEnvironment(); err == nil {
			err = Run(ctx, Config{StateDir: *dir, Logger: log, Keeper: keeper, TakeOver: *takeOver})
		}
	} else {
		err = Keep(ctx, KeeperConfig{StateDir: *dir, Exe: os.Args[0], Args: []string{"agent", "serve", "--state-dir", *dir}, TakeOver: *takeOver, Logger: log})
	}
	if err != nil {
		log.Error("agent command", "err", err)
		return 1
	}
	return 0
}

// startKeptAgent starts an agent under its keeper, as greenlight does, and
// stops everything when the test ends.
func startKeptAgent(t *testing.T) (dir, exe string, c *Client) {
	t.Helper()
	dir = t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c, err = EnsureAgent(t.Context(), dir, exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Down(ctx, dir); err != nil {
			t.Errorf("down: %v", err)
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, LogFile))
			t.Logf("agent.log:\n%s", log)
		}
	})
	return dir, exe, c
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// alive tells a running process from an ended one, zombies included (the
// keeper EnsureAgent started is this test's child, never reaped).
func alive(pid int) bool {
	st, err := procfs.ReadStat(pid)
	return err == nil && !st.Gone()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restartLoad is the load of the restart and crash tests: 16 clients, half of
// them on a new connection per request.
func restartLoad(listener string) *loadgen.Load {
	return loadgen.Start("http://"+listener+"/", loadgen.Options{Workers: 16, NewConnections: true})
}

// Restarts under load: no request fails, every routing change made meanwhile
// lands, healthy targets stay healthy, and the supervised process is adopted.
func TestRestartsUnderLoadFailNoRequest(t *testing.T) {
	dir, exe, c := startKeptAgent(t)
	listener := testnet.FreeAddr(t)
	sp := spec("web", listener, backend(t, "hello"))
	if _, err := c.Apply(t.Context(), sp, 0); err != nil {
		t.Fatal(err)
	}
	waitBody(t, listener, "hello")
	task, err := c.ProcessDriver().Start(t.Context(), runtime.TaskSpec{ID: "sleeper", ProcessCommand: []string{"sleep", "120"}, ProcessDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	load := restartLoad(listener)
	changes := keepApplying(c, sp)
	for range 5 {
		time.Sleep(150 * time.Millisecond)
		from, to, err := Restart(t.Context(), dir, exe)
		if err != nil || to.PID == from.PID || from.PID == 0 {
			t.Fatalf("restart: %+v -> %+v, %v", from, to, err)
		}
		st, err := c.Service(t.Context(), "web")
		if err != nil || st.TargetGroups[0].Targets[0].State != routing.TargetHealthy {
			t.Fatalf("service right after the restart: %+v, %v", st, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	load.Stop()
	applied, failed := changes.stop()
	if load.Failed() != 0 || load.Total() < 500 {
		t.Fatalf("5 restarts under load: %s", load)
	}
	if failed != nil || applied == 0 {
		t.Fatalf("routing changes during the restarts: %d applied, failure %v", applied, failed)
	}
	got, err := c.ProcessDriver().Inspect(t.Context(), task.ID)
	if err != nil || got.State != runtime.TaskRunning || !got.Started.Equal(task.Started) {
		t.Fatalf("supervised task after the restarts: %+v, %v (was %+v)", got, err, task)
	}
	t.Logf("5 restarts: %s; %d routing changes", load, applied)
}

// applier keeps applying a spec, as a controller shifting traffic would.
type applier struct {
	stop func() (int, error)
}

func keepApplying(c *Client, sp routing.ServiceSpec) applier {
	done := make(chan struct{})
	result := make(chan error, 1)
	var applied atomic.Int64
	go func() {
		for {
			select {
			case <-done:
				result <- nil
				return
			case <-time.After(20 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := c.Apply(ctx, sp, 0)
			cancel()
			if err != nil {
				result <- err
				return
			}
			applied.Add(1)
		}
	}()
	return applier{stop: func() (int, error) {
		close(done)
		err := <-result
		return int(applied.Load()), err
	}}
}

// A target the old agent had healthy stays in rotation through a restart,
// even if the new agent's first check would fail: the health is handed over.
func TestAHandOverKeepsTheHealthTheOldAgentSaw(t *testing.T) {
	dir, exe, c := startKeptAgent(t)
	var healthStatus atomic.Int64
	healthStatus.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(int(healthStatus.Load()))
			return
		}
		fmt.Fprint(w, "served")
	}))
	t.Cleanup(srv.Close)
	listener := testnet.FreeAddr(t)
	sp := spec("web", listener, strings.TrimPrefix(srv.URL, "http://"))
	sp.HealthCheck.Path = "/health"
	sp.HealthCheck.Interval = jsontime.Duration(time.Hour) // checked once, healthy
	if _, err := c.Apply(t.Context(), sp, 0); err != nil {
		t.Fatal(err)
	}
	waitBody(t, listener, "served")
	healthStatus.Store(http.StatusServiceUnavailable) // a new first check would fail
	if _, _, err := Restart(t.Context(), dir, exe); err != nil {
		t.Fatal(err)
	}
	st, err := c.Service(t.Context(), "web")
	if err != nil || st.TargetGroups[0].Targets[0].State != routing.TargetHealthy {
		t.Fatalf("after the restart: %+v, %v; want the target still healthy", st, err)
	}
	resp, err := http.Get("http://" + listener + "/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("request after the restart: %v %v", resp, err)
	}
	resp.Body.Close()
}

// A SIGKILL of the agent: its keeper holds the sockets, so new connections
// wait for the next agent instead of being refused; at most the requests in
// flight on the dead agent fail.
func TestACrashLosesAtMostTheRequestsInFlight(t *testing.T) {
	dir, _, c := startKeptAgent(t)
	listener := routeWeb(t, c, "hello")
	load := restartLoad(listener)
	time.Sleep(200 * time.Millisecond)
	old := readPID(t, filepath.Join(dir, PIDFile))
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new agent", func() bool {
		h, err := c.Health(t.Context())
		return err == nil && h.PID != old
	})
	time.Sleep(200 * time.Millisecond)
	load.Stop()
	if load.Failed() > 16 || strings.Contains(load.String(), "refused") {
		t.Fatalf("a crash under load (16 clients): %s; want at most 16 failures, none refused", load)
	}
	t.Logf("crash: %s", load)
}

// `greenlight down`: the keeper exits with its agent and lets the sockets go.
func TestAStoppedAgentsKeeperLetsTheSocketsGo(t *testing.T) {
	dir, _, c := startKeptAgent(t)
	listener := routeWeb(t, c, "hello")
	keeper := readPID(t, filepath.Join(dir, KeeperPIDFile))
	if err := Down(t.Context(), dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the keeper to exit", func() bool { return !alive(keeper) })
	if _, err := net.Dial("tcp", listener); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial after down: %v, want connection refused", err)
	}
	if Running(dir) {
		t.Fatal("lock still held after down")
	}
}

// A keeper that dies is replaced: its agent hands over to a new agent under a
// new keeper, so that a later crash is recovered too.
func TestAnAgentWhoseKeeperDiesHandsOverToANewOne(t *testing.T) {
	dir, _, c := startKeptAgent(t)
	listener := routeWeb(t, c, "hello")
	keeper, agentPID := readPID(t, filepath.Join(dir, KeeperPIDFile)), readPID(t, filepath.Join(dir, PIDFile))
	load := restartLoad(listener)
	if err := syscall.Kill(keeper, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a new agent under a new keeper", func() bool {
		h, err := c.Health(t.Context())
		b, _ := os.ReadFile(filepath.Join(dir, KeeperPIDFile))
		return err == nil && h.PID != agentPID && strings.TrimSpace(string(b)) != strconv.Itoa(keeper)
	})
	waitFor(t, "the old agent to exit", func() bool { return !alive(agentPID) })
	load.Stop()
	if load.Failed() != 0 {
		t.Fatalf("replacing a dead keeper under load: %s", load)
	}
	// The new keeper recovers a crash.
	if err := syscall.Kill(readPID(t, filepath.Join(dir, PIDFile)), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitBody(t, listener, "hello")
}

// A successor that takes the sockets and goes away before serving leaves the
// old agent serving and taking routing changes.
func TestAHandOverThatFailsLeavesTheOldAgentServing(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	defer stop()
	listener := routeWeb(t, c, "v1")
	from, names, files, err := requestHandover(t.Context(), dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	closeFiles(files)
	if from.state.PID != os.Getpid() || !strings.Contains(strings.Join(names, ","), listenerName("tcp", listener)) {
		t.Fatalf("hand-over offer: pid %d, sockets %v", from.state.PID, names)
	}
	from.abort()
	if _, err := c.Apply(t.Context(), spec("web", listener, backend(t, "v2")), 0); err != nil {
		t.Fatalf("a change after a failed hand-over: %v", err)
	}
	waitBody(t, listener, "v2")
}
