// Command agent measures what restarting, upgrading and crashing greenlight's
// agent costs the traffic it serves, with the real binary on loopback and 16
// clients (half of them on a new connection per request) on one route:
//
//   - restarts: `greenlight agent restart`, N times under load: failed requests
//     (the target is zero) and how long each restart command took;
//   - crashes: a SIGKILL of the agent under load, in rounds, each round once
//     with the socket keeper (`greenlight agent`, as greenlight starts it) and
//     once without it (`greenlight agent serve` alone, as every agent ran
//     before the keeper, restarted the moment it died: the best a watchdog
//     could do): failed requests, of which connections refused, the time from
//     the first to the last failure, and the time until a new agent answered.
//
// Run from the repository root: go run ./bench/agent [-restarts 20] [-crashes 5] [-workers 16]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/agent"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

func main() {
	restarts := flag.Int("restarts", 20, "`greenlight agent restart` under load")
	crashes := flag.Int("crashes", 5, "rounds of one SIGKILL with the keeper and one without")
	workers := flag.Int("workers", 16, "concurrent clients (half keep-alive, half a new connection per request)")
	flag.Parse()
	if err := run(*restarts, *crashes, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "agent bench:", err)
		os.Exit(1)
	}
}

func run(restarts, crashes, workers int) error {
	b, err := setup()
	if err != nil {
		return err
	}
	defer b.close()
	fmt.Printf("greenlight agent bench: %d restarts, %d crash rounds, %d clients (half a new connection per request); load average %s\n",
		restarts, crashes, workers, loadAverage())
	load := loadgen.Start(b.url, loadgen.Options{Workers: workers, NewConnections: true})
	defer load.Stop()
	if err := b.restarts(load, restarts); err != nil {
		return err
	}
	var kept, bare []crash
	for round := 1; round <= crashes; round++ {
		k, err := b.crashKept(load)
		if err != nil {
			return err
		}
		n, err := b.crashBare(load)
		if err != nil {
			return err
		}
		kept, bare = append(kept, k), append(bare, n)
		fmt.Printf("crash round %d: with the keeper %s | without %s\n", round, k, n)
	}
	summarize("with the keeper", kept)
	summarize("without the keeper", bare)
	fmt.Printf("load average at the end %s\n", loadAverage())
	return nil
}

// bench is a state directory, the greenlight binary and one route to a
// backend in this process.
type bench struct {
	dir, exe, url string
	backend       *http.Server
	bare          *exec.Cmd // the agent running without a keeper, if any
}

func setup() (*bench, error) {
	tmp, err := os.MkdirTemp("", "agent-bench-")
	if err != nil {
		return nil, err
	}
	built := filepath.Join(tmp, "greenlight")
	if err := gobuild.Build(context.Background(), "./cmd/greenlight", built, gobuild.Options{}); err != nil {
		return nil, err
	}
	b := &bench{dir: filepath.Join(tmp, "state")}
	if b.exe, _, err = agent.InstallBinaryFrom(b.dir, built); err != nil {
		return nil, err
	}
	backend, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.backend = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })}
	go func() { _ = b.backend.Serve(backend) }()
	listener, err := freeAddr()
	if err != nil {
		return nil, err
	}
	b.url = "http://" + listener + "/"
	return b, b.route(listener, backend.Addr().String())
}

// route starts the agent under its keeper and routes the listener to the
// backend.
func (b *bench) route(listener, target string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := agent.EnsureAgent(ctx, b.dir, b.exe)
	if err != nil {
		return err
	}
	spec := routing.ServiceSpec{
		Name: "web", ProductionListener: listener,
		HealthCheck: routing.HealthCheck{Path: "/", Interval: jsontime.Duration(time.Second), Timeout: jsontime.Duration(500 * time.Millisecond),
			HealthyThreshold: 2, UnhealthyThreshold: 2, Matcher: "200"},
		DeregistrationDelay: jsontime.Duration(time.Second),
		TargetGroups:        []routing.TargetGroupSpec{{Name: "web-1", Targets: []routing.TargetSpec{{ID: "t0", Address: target}}}, {Name: "web-2"}},
		ProductionWeights:   map[string]int{"web-1": 100},
	}
	if _, err := c.Apply(ctx, spec, 0); err != nil {
		return err
	}
	return waitOK(ctx, b.url)
}

func (b *bench) restarts(load *loadgen.Load, n int) error {
	load.Reset()
	var took []time.Duration
	for range n {
		start := time.Now()
		if out, err := b.cli("agent", "restart"); err != nil {
			return fmt.Errorf("greenlight agent restart: %w\n%s", err, out)
		}
		took = append(took, time.Since(start))
		time.Sleep(200 * time.Millisecond)
	}
	slices.Sort(took)
	fmt.Printf("restarts: %d, requests %d, failed %d; each restart command %s median, %s worst\n",
		n, load.Total(), load.Failed(), took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if load.Failed() > 0 {
		fmt.Println("  ", load)
	}
	return nil
}

func (b *bench) cli(args ...string) (string, error) {
	out, err := exec.Command(b.exe, append([]string{"--state-dir", b.dir}, args...)...).CombinedOutput()
	return string(out), err
}

// crash is what one SIGKILL cost.
type crash struct {
	requests, failed, refused int64
	window                    time.Duration // first to last failure
	recovered                 time.Duration // kill to a new agent answering its admin API
}

func (c crash) String() string {
	return fmt.Sprintf("failed %d of %d (refused %d) over %s, new agent in %s",
		c.failed, c.requests, c.refused, c.window.Round(time.Millisecond), c.recovered.Round(time.Millisecond))
}

// crashKept kills the agent its keeper runs; the keeper starts the next one.
func (b *bench) crashKept(load *loadgen.Load) (crash, error) {
	return b.measureCrash(load, func(int) error { return nil })
}

// crashBare runs an agent without a keeper, kills it and starts another at
// once; then it gives the directory back to an agent with a keeper.
func (b *bench) crashBare(load *loadgen.Load) (crash, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := agent.Down(ctx, b.dir); err != nil {
		return crash{}, err
	}
	if err := b.startBare(ctx); err != nil {
		return crash{}, err
	}
	c, err := b.measureCrash(load, func(int) error { return b.startBare(ctx) })
	if err != nil {
		return c, err
	}
	if err := b.stopBare(); err != nil {
		return c, err
	}
	if _, err := agent.EnsureAgent(ctx, b.dir, b.exe); err != nil {
		return c, err
	}
	return c, waitOK(ctx, b.url)
}

func (b *bench) startBare(ctx context.Context) error {
	if b.bare != nil {
		_ = b.bare.Wait() // reap the killed one
	}
	b.bare = exec.Command(b.exe, "--state-dir", b.dir, "agent", "serve")
	b.bare.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := b.bare.Start(); err != nil {
		return err
	}
	c, err := agent.Dial(b.dir)
	if err != nil {
		return err
	}
	// Routes are served before the admin API: wait for both.
	if _, err := awaitNewAgent(c, 0, time.Now()); err != nil {
		return err
	}
	return waitOK(ctx, b.url)
}

func (b *bench) stopBare() error {
	if b.bare == nil {
		return nil
	}
	_ = b.bare.Process.Signal(syscall.SIGTERM)
	err := b.bare.Wait()
	b.bare = nil
	return err
}

// measureCrash kills the agent under load, calls afterKill, and waits for a
// new agent.
func (b *bench) measureCrash(load *loadgen.Load, afterKill func(pid int) error) (crash, error) {
	c, err := agent.Dial(b.dir)
	if err != nil {
		return crash{}, err
	}
	old, err := c.Health(context.Background())
	if err != nil {
		return crash{}, err
	}
	load.Reset()
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	if err := syscall.Kill(old.PID, syscall.SIGKILL); err != nil {
		return crash{}, err
	}
	if err := afterKill(old.PID); err != nil {
		return crash{}, err
	}
	recovered, err := awaitNewAgent(c, old.PID, killed)
	if err != nil {
		return crash{}, err
	}
	time.Sleep(700 * time.Millisecond)
	out := crash{requests: load.Total(), failed: load.Failed(), recovered: recovered}
	if out.failed > 0 {
		out.window = load.LastFailure().Sub(load.FirstFailure())
	}
	for _, e := range load.Errors() {
		if strings.Contains(e, "refused") {
			out.refused++
		}
	}
	return out, nil
}

func awaitNewAgent(c *agent.Client, oldPID int, since time.Time) (time.Duration, error) {
	for time.Since(since) < time.Minute {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		h, err := c.Health(ctx)
		cancel()
		if err == nil && h.PID != oldPID {
			return time.Since(since), nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, errors.New("no new agent within a minute")
}

func summarize(name string, rounds []crash) {
	if len(rounds) == 0 {
		return
	}
	failed := make([]int64, len(rounds))
	windows := make([]time.Duration, len(rounds))
	for i, r := range rounds {
		failed[i], windows[i] = r.failed, r.window
	}
	slices.Sort(failed)
	slices.Sort(windows)
	fmt.Printf("%s: failed requests median %d, best %d, worst %d; failure window median %s\n",
		name, failed[len(failed)/2], failed[0], failed[len(failed)-1], windows[len(windows)/2].Round(time.Millisecond))
}

func (b *bench) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = b.stopBare()
	if err := agent.Down(ctx, b.dir); err != nil {
		fmt.Fprintln(os.Stderr, "down:", err)
	}
	_ = b.backend.Close()
	_ = os.RemoveAll(filepath.Dir(b.dir))
}

func waitOK(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s never answered 200: %w", url, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
