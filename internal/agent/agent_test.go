package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsonapi"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// runAgent runs an agent on dir in the background until the returned stop is
// called (a SIGTERM: supervised processes keep running).
func runAgent(t *testing.T, dir string) (client *Client, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Config{StateDir: dir, Logger: slog.New(slog.DiscardHandler)}) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := Dial(dir)
		if err == nil {
			if _, err = c.Health(ctx); err == nil {
				stopped := false
				return c, func() {
					if stopped {
						return
					}
					stopped = true
					cancel()
					if err := <-done; err != nil {
						t.Errorf("agent stopped with %v", err)
					}
				}
			}
		}
		select {
		case err := <-done:
			t.Fatalf("agent exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func backend(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, body) }))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func spec(name, listener string, targets ...string) routing.ServiceSpec {
	s := routing.ServiceSpec{
		Name: name, ProductionListener: listener,
		HealthCheck:         routing.HealthCheck{Path: "/", Interval: jsontime.Duration(100 * time.Millisecond), Timeout: jsontime.Duration(50 * time.Millisecond), HealthyThreshold: 1, UnhealthyThreshold: 2, Matcher: "200"},
		DeregistrationDelay: jsontime.Duration(time.Second),
		TargetGroups:        []routing.TargetGroupSpec{{Name: name + "-1"}, {Name: name + "-2"}},
		ProductionWeights:   map[string]int{name + "-1": 100},
	}
	for i, addr := range targets {
		s.TargetGroups[0].Targets = append(s.TargetGroups[0].Targets, routing.TargetSpec{ID: fmt.Sprintf("t%d", i), Address: addr})
	}
	return s
}

// routeWeb routes service web on a new listener to a backend answering body,
// and returns the listener once it answers so.
func routeWeb(t *testing.T, c *Client, body string) string {
	t.Helper()
	listener := testnet.FreeAddr(t)
	if _, err := c.Apply(t.Context(), spec("web", listener, backend(t, body)), 0); err != nil {
		t.Fatal(err)
	}
	waitBody(t, listener, body)
	return listener
}

func waitBody(t *testing.T, addr, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == want {
				return
			}
			last = fmt.Sprintf("%d %q", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never answered %q: last %s", addr, want, last)
}

func TestAgentServesAppliedRoutesAndRestoresThemAfterRestart(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	listener := routeWeb(t, c, "hello")

	// The state file holds exactly what is served, and only the owner may read it.
	info, err := os.Stat(filepath.Join(dir, StateFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v, mode %v", err, info.Mode())
	}
	var p persisted
	data, _ := os.ReadFile(filepath.Join(dir, StateFile))
	if err := json.Unmarshal(data, &p); err != nil || len(p.Services) != 1 || p.Services[0].ProductionListener != listener {
		t.Fatalf("state file %s: %v", data, err)
	}

	stop()
	if _, err := http.Get("http://" + listener + "/"); err == nil {
		t.Fatal("listener still open after the agent stopped")
	}
	c, stop = runAgent(t, dir)
	defer stop()
	waitBody(t, listener, "hello")
	st, err := c.Service(t.Context(), "web")
	if err != nil || st == nil || st.TargetGroups[0].Targets[0].State != routing.TargetHealthy {
		t.Fatalf("restored service: %+v, %v", st, err)
	}
}

func TestAgentRestoresUnhealthyTargetsWithoutTraffic(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	listener := testnet.FreeAddr(t)
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "old") }))
	if _, err := c.Apply(t.Context(), spec("web", listener, strings.TrimPrefix(gone.URL, "http://")), 0); err != nil {
		t.Fatal(err)
	}
	waitBody(t, listener, "old")
	stop()
	gone.Close() // the target dies while the agent is down
	c, stop = runAgent(t, dir)
	defer stop()
	st, err := c.Service(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if state := st.TargetGroups[0].Targets[0].State; state == routing.TargetHealthy {
		t.Fatalf("a dead target came back %s", state)
	}
}

func TestAgentRejectsRequestsWithoutTheToken(t *testing.T) {
	dir := t.TempDir()
	_, stop := runAgent(t, dir)
	defer stop()
	sock, _ := SocketPath(dir)
	bad := Client{api: jsonapi.New(jsonapi.UnixClient(sock), base, strings.Repeat("0", 64)), dir: dir}
	if _, err := bad.Services(t.Context()); err == nil || !strings.Contains(err.Error(), "token") {
		t.Fatalf("wrong token: %v", err)
	}
	info, err := os.Stat(sock)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v, %v", info.Mode().Perm(), err)
	}
}

func TestAgentRefusesABadSpecAndKeepsServing(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	defer stop()
	listener := testnet.FreeAddr(t)
	if _, err := c.Apply(t.Context(), spec("web", listener, backend(t, "v1")), 0); err != nil {
		t.Fatal(err)
	}
	bad := spec("web", listener, backend(t, "v2"))
	bad.ProductionWeights = map[string]int{"web-1": 60, "web-2": 60}
	if _, err := c.Apply(t.Context(), bad, 0); !errors.Is(err, routing.ErrInvalidSpec) {
		t.Fatalf("weights summing to 120: %v, want routing.ErrInvalidSpec", err)
	}
	waitBody(t, listener, "v1")
}

func TestOnlyOneAgentPerStateDirectory(t *testing.T) {
	dir := t.TempDir()
	_, stop := runAgent(t, dir)
	defer stop()
	err := Run(t.Context(), Config{StateDir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), ErrLocked.Error()) {
		t.Fatalf("second agent: %v", err)
	}
}

func TestShutdownWithProcessesStopsSupervisedTasks(t *testing.T) {
	dir := t.TempDir()
	c, _ := runAgent(t, dir)
	drv := c.ProcessDriver()
	task, err := drv.Start(t.Context(), runtime.TaskSpec{ID: "sleeper", ProcessCommand: []string{"sleep", "60"}, ProcessDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for locked(filepath.Join(dir, LockFile)) {
		if time.Now().After(deadline) {
			t.Fatal("agent did not stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "processes.json"))
	if strings.Contains(string(data), task.ID) {
		t.Fatalf("task %s still recorded after shutdown: %s", task.ID, data)
	}
}

func TestAgentWithAStateDirectoryTooLongForASocketPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-long-directory-name/", 5), ".greenlight")
	c, stop := runAgent(t, dir)
	defer stop()
	if _, err := c.Services(t.Context()); err != nil {
		t.Fatal(err)
	}
	sock, _ := SocketPath(dir)
	if strings.HasPrefix(sock, dir) || len(sock) >= 100 {
		t.Errorf("socket %s", sock)
	}
}

// Two controllers read the same version and write: exactly one wins, the other
// learns its read is stale (If-Match), and a fresh read lets it write.
func TestConcurrentWritersOneGetsTheTypedStaleError(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	defer stop()
	listener := testnet.FreeAddr(t)
	first, err := c.Apply(t.Context(), spec("web", listener, backend(t, "v1")), 0)
	if err != nil {
		t.Fatal(err)
	}
	writes := make(chan error, 2)
	for _, body := range []string{"a", "b"} {
		go func() {
			_, err := c.Apply(context.Background(), spec("web", listener, backend(t, body)), first.Version)
			writes <- err
		}()
	}
	var won, stale int
	for range 2 {
		switch err := <-writes; {
		case err == nil:
			won++
		case errors.Is(err, routing.ErrStale):
			stale++
		default:
			t.Fatalf("write: %v", err)
		}
	}
	if won != 1 || stale != 1 {
		t.Fatalf("%d writes won, %d were stale; want one of each", won, stale)
	}
	now, err := c.Service(t.Context(), "web")
	if err != nil || now.Version != first.Version+1 {
		t.Fatalf("version after the race: %+v, %v", now, err)
	}
	if _, err := c.Apply(t.Context(), spec("web", listener, backend(t, "c")), now.Version); err != nil {
		t.Fatalf("a write on a fresh read: %v", err)
	}
	waitBody(t, listener, "c")
}

// A change the agent cannot record is undone and reported as not persisted; the
// routing served stays the recorded one.
func TestAFailedWriteIsUndoneAndTyped(t *testing.T) {
	dir := t.TempDir()
	c, stop := runAgent(t, dir)
	defer stop()
	listener := testnet.FreeAddr(t)
	if _, err := c.Apply(t.Context(), spec("web", listener, backend(t, "v1")), 0); err != nil {
		t.Fatal(err)
	}
	// A directory where the state file goes makes the atomic rename fail.
	state := filepath.Join(dir, StateFile)
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := c.Apply(t.Context(), spec("web", listener, backend(t, "v2")), 0)
	if !errors.Is(err, routing.ErrNotPersisted) {
		t.Fatalf("apply with an unwritable state file: %v, want routing.ErrNotPersisted", err)
	}
	waitBody(t, listener, "v1")
}
