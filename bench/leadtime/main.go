// Command leadtime measures commit-to-production lead time for the example
// service: the whole pipeline (source, build, unit and integration tests, staging,
// approval given at once, blue-green production), with bake times set to zero. The
// first run warms Go's build cache and is not counted; each measured run commits a
// change first.
//
// Run from the repository root: go run ./bench/leadtime [-runs 3]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/treecopy"
)

func main() {
	runs := flag.Int("runs", 3, "measured executions (after one warm-up)")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "leadtime bench:", err)
		os.Exit(1)
	}
}

type summary struct {
	Kind       string `json:"kind"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Stages     []struct {
		Name       string `json:"name"`
		DurationMS int64  `json:"duration_ms"`
	} `json:"stages"`
}

func run(runs int) error {
	dir, err := os.MkdirTemp("", "greenlight-leadtime-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	binary := filepath.Join(dir, "greenlight")
	if err := gobuild.Build(context.Background(), "./cmd/greenlight", binary, gobuild.Options{}); err != nil {
		return err
	}
	repo := filepath.Join(dir, "orders-service")
	if err := prepare(repo); err != nil {
		return err
	}
	gl := func(args ...string) ([]byte, error) {
		return exec.Command(binary, append([]string{"-f", filepath.Join(repo, "greenlight.yaml")}, args...)...).Output()
	}
	defer func() { _, _ = gl("down") }()
	var totals []time.Duration
	stageTotals := map[string]time.Duration{}
	var stageOrder []string
	for i := 0; i <= runs; i++ {
		if i > 0 {
			if err := commitChange(repo, i); err != nil {
				return err
			}
		}
		out, err := gl("run", "--auto-approve", "--json")
		sum, perr := lastSummary(out)
		if perr != nil || sum.Status != "Succeeded" {
			return fmt.Errorf("run %d: %v %v (%s)", i, err, perr, sum.Status)
		}
		label := "warm-up"
		if i > 0 {
			label = fmt.Sprintf("run %d ", i)
			totals = append(totals, time.Duration(sum.DurationMS)*time.Millisecond)
		}
		var parts []string
		for _, st := range sum.Stages {
			d := time.Duration(st.DurationMS) * time.Millisecond
			parts = append(parts, fmt.Sprintf("%s %.1fs", st.Name, d.Seconds()))
			if i > 0 {
				if _, ok := stageTotals[st.Name]; !ok {
					stageOrder = append(stageOrder, st.Name)
				}
				stageTotals[st.Name] += d
			}
		}
		fmt.Printf("%s: %5.1fs  (%s)\n", label, float64(sum.DurationMS)/1000, strings.Join(parts, ", "))
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i] < totals[j] })
	median := totals[len(totals)/2]
	var parts []string
	for _, name := range stageOrder {
		parts = append(parts, fmt.Sprintf("%s %.1fs", name, (stageTotals[name]/time.Duration(runs)).Seconds()))
	}
	fmt.Printf("lead time, commit to production: median %.1fs over %d runs = %.2f x the 60s target, %.4f x the 45 min manual process\n",
		median.Seconds(), runs, median.Seconds()/60, median.Seconds()/(45*60))
	fmt.Printf("mean by stage: %s\n", strings.Join(parts, ", "))
	return nil
}

// prepare copies the example into a new git repository with free ports and zero
// bake times.
func prepare(repo string) error {
	if err := treecopy.Copy("examples/orders-service", repo, treecopy.BuildOutputs...); err != nil {
		return err
	}
	path := filepath.Join(repo, "greenlight.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(data)
	for _, port := range []string{"127.0.0.1:7180", "127.0.0.1:7080", "127.0.0.1:7081"} {
		s = strings.ReplaceAll(s, port, freeAddr())
	}
	// The brief's figure: approval given, bake times (the bake window and the
	// termination wait) set to zero.
	s = strings.ReplaceAll(s, "        termination_wait: 60m\n", "        termination_wait: 0s\n        bake_time: 0s\n")
	if !strings.Contains(s, "bake_time: 0s") {
		return fmt.Errorf("%s: no termination_wait: 60m to set the bake times to zero beside", path)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return err
	}
	if err := git(repo, "init", "-q", "-b", "main"); err != nil {
		return err
	}
	return commitChange(repo, 0)
}

func commitChange(repo string, i int) error {
	f, err := os.OpenFile(filepath.Join(repo, "CHANGES"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "change %d\n", i)
	f.Close()
	if err := git(repo, "add", "-A"); err != nil {
		return err
	}
	return git(repo, "-c", "user.name=bench", "-c", "user.email=bench@greenlight.local", "commit", "-q", "-m", fmt.Sprintf("change %d", i))
}

func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func lastSummary(out []byte) (summary, error) {
	var sum summary
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s summary
		if json.Unmarshal(sc.Bytes(), &s) == nil && s.Kind == "summary" {
			sum = s
		}
	}
	if sum.Kind == "" {
		return sum, fmt.Errorf("no summary in the output")
	}
	return sum, nil
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
