// Package e2e runs the greenlight binary the way a user does: on a git repository
// holding the example service, with real builds, a real agent, real processes or
// containers and real HTTP load on loopback.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/testnet"
	"github.com/greenlight-ci/greenlight/internal/treecopy"
)

// binary is the greenlight executable under test, built once.
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// project is a git repository holding the example service, with its own state
// directory and free ports, so tests run side by side.
type project struct {
	t          *testing.T
	repo       string
	production string // production listener address
	test       string
	staging    string
}

// newProject copies examples/orders-service into a fresh repository. driver
// replaces the services' driver ("" keeps auto: Docker when an engine answers).
func newProject(t *testing.T, driver string) *project {
	t.Helper()
	p := &project{t: t, repo: filepath.Join(t.TempDir(), "orders-service"), production: testnet.FreeAddr(t), test: testnet.FreeAddr(t), staging: testnet.FreeAddr(t)}
	if err := treecopy.Copy("../examples/orders-service", p.repo, treecopy.BuildOutputs...); err != nil {
		t.Fatal(err)
	}
	p.edit("greenlight.yaml", func(s string) string {
		s = strings.ReplaceAll(s, "127.0.0.1:7180", p.staging)
		s = strings.ReplaceAll(s, "127.0.0.1:7080", p.production)
		s = strings.ReplaceAll(s, "127.0.0.1:7081", p.test)
		if driver != "" {
			s = strings.ReplaceAll(s, "driver: auto", "driver: "+driver)
		}
		return s
	})
	p.git("init", "-q", "-b", "main")
	p.commit("orders-service")
	p.downAtCleanup()
	return p
}

// downAtCleanup runs greenlight down when the test ends, and checks that it
// left no process of the project behind (one would go on writing in the
// state directory the test's clean-up removes).
func (p *project) downAtCleanup() {
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if out, code := p.run(ctx, "down"); code != 0 {
			p.t.Errorf("greenlight down: exit %d\n%s", code, out)
		}
		// A hook a killed controller left behind ends by itself within seconds.
		var left []string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if left = processesUnder(p.repo); len(left) == 0 {
				return
			}
		}
		p.t.Errorf("greenlight down left processes of the project running:\n%s", strings.Join(left, "\n"))
	})
}

// processesUnder lists the processes whose command line names dir or whose
// working directory is in it.
func processesUnder(dir string) []string {
	entries, _ := os.ReadDir("/proc")
	var found []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
		cwd, _ := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if strings.Contains(args, dir) || cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			found = append(found, fmt.Sprintf("pid %d: %s (in %s)", pid, args, cwd))
		}
	}
	return found
}

func (p *project) edit(name string, change func(string) string) {
	p.t.Helper()
	path := filepath.Join(p.repo, name)
	data, err := os.ReadFile(path)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(change(string(data))), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *project) git(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=e2e", "-c", "user.email=e2e@greenlight.local"}, args...)...)
	cmd.Dir = p.repo
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits everything and returns the short commit id (the version the
// service reports).
func (p *project) commit(message string) string {
	p.t.Helper()
	p.git("add", "-A")
	p.git("commit", "-q", "--allow-empty", "-m", message)
	return p.git("rev-parse", "--short=7", "HEAD")
}

// run runs greenlight with args on the project and returns its combined output
// and exit status.
func (p *project) run(ctx context.Context, args ...string) (string, int) {
	p.t.Helper()
	cmd := exec.CommandContext(ctx, binary, append([]string{"-f", filepath.Join(p.repo, "greenlight.yaml")}, args...)...)
	cmd.Env = os.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return out.String(), code
}

func (p *project) stateDir() string { return filepath.Join(p.repo, ".greenlight") }

// summary is the last line of `greenlight run --json`.
type summary struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	StatusSummary string `json:"status_summary"`
	Revision      string `json:"revision"`
	DurationMS    int64  `json:"duration_ms"`
	Stages        []struct {
		Name       string `json:"name"`
		Status     string `json:"status"`
		DurationMS int64  `json:"duration_ms"`
	} `json:"stages"`
	StagingURL    string   `json:"staging_url"`
	ProductionURL string   `json:"production_url"`
	Deployments   []string `json:"deployments"`
}

// pipeline runs `greenlight run --auto-approve --json` and returns the summary and
// every event line.
func (p *project) pipeline(extra ...string) (summary, []map[string]any, int) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, code := p.run(ctx, append([]string{"run", "--auto-approve", "--json"}, extra...)...)
	var sum summary
	var events []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var obj map[string]any
		if json.Unmarshal(line, &obj) != nil {
			continue
		}
		if obj["kind"] == "summary" {
			_ = json.Unmarshal(line, &sum) // it parsed as a map above
			continue
		}
		events = append(events, obj)
	}
	if sum.Kind != "summary" {
		p.t.Fatalf("greenlight run printed no summary (exit %d):\n%s", code, out)
	}
	return sum, events, code
}

// version asks the service behind addr which commit it runs.
func version(addr string) (string, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get("http://" + addr + "/version")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", err
	}
	return v.Version, nil
}

// startLoad keeps requests going to path on addr, half of them on new connections.
func startLoad(addr, path string, workers int) *loadgen.Load {
	return loadgen.Start("http://"+addr+path, loadgen.Options{Workers: workers, NewConnections: true, Pause: 2 * time.Millisecond})
}

// eventually polls cond until it holds or the time is up.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
