// Command serve measures `greenlight serve`: the time from a signed GitHub push
// delivery to its execution recorded as started (the 202 answer is sent after
// the execution's record commits), p50/p99 over -n deliveries of distinct
// commits with distinct delivery ids, against a baseline measured in the same
// run (an unsigned delivery, refused before anything is read from the state);
// and the server's resident memory with those executions in its history.
//
//	go run ./bench/serve [-n 1000]
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/webhook"
)

const secret = "bench secret"

const definition = `version: 1
pipeline:
  name: bench
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: ., BranchName: main}}
    - name: Approval
      actions:
        - {name: Review, category: Approval, provider: Manual}
`

func main() {
	n := flag.Int("n", 1000, "deliveries")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "bench/serve:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	work, err := os.MkdirTemp("", "bench-serve-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "greenlight")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/greenlight").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	repo := filepath.Join(work, "bench")
	commits, err := makeRepo(repo, n)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	srv := exec.Command(bin, "-f", filepath.Join(repo, "greenlight.yaml"), "serve", "--listen", addr)
	srv.Env = append(os.Environ(), "GREENLIGHT_WEBHOOK_SECRET="+secret)
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
		_ = exec.Command(bin, "-f", filepath.Join(repo, "greenlight.yaml"), "down").Run()
	}()
	base := "http://" + addr
	if err := waitHealthy(base); err != nil {
		return err
	}
	rssStart := rss(srv.Process.Pid)
	refused, err := measure(base, commits, "refused", "")
	if err != nil {
		return err
	}
	started, err := measure(base, commits, "started", secret)
	if err != nil {
		return err
	}
	fmt.Printf("deliveries: %d (distinct delivery ids and commits)\n", n)
	report("unsigned delivery refused (baseline)", refused)
	report("signed push -> execution recorded as started", started)
	fmt.Printf("server RSS: %d MiB at start, %d MiB with %d executions in history\n", rssStart>>20, rss(srv.Process.Pid)>>20, n)
	return nil
}

// makeRepo makes a repository holding the definition and n commits on main.
func makeRepo(dir string, n int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "greenlight.yaml"), []byte(definition), 0o644); err != nil {
		return nil, err
	}
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=b", "-c", "user.email=b@b"}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "pipeline"}} {
		if _, err := git(args...); err != nil {
			return nil, fmt.Errorf("git %v: %w", args, err)
		}
	}
	var commits []string
	for i := range n {
		if _, err := git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("change %d", i)); err != nil {
			return nil, err
		}
		sha, err := git("rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		commits = append(commits, sha)
	}
	return commits, nil
}

// measure sends one delivery per commit, one at a time, and returns each one's
// time to its answer; signed ones must be answered 202 with an execution.
func measure(base string, commits []string, prefix, key string) ([]time.Duration, error) {
	var out []time.Duration
	for i, sha := range commits {
		body := push(sha)
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/github", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(webhook.HeaderEvent, "push")
		req.Header.Set(webhook.HeaderDelivery, fmt.Sprintf("%s-%d", prefix, i))
		if key != "" {
			req.Header.Set(webhook.HeaderSignature, webhook.Sign([]byte(key), body))
		}
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		var ans struct {
			Pipelines []struct {
				ExecutionID string `json:"execution_id"`
			} `json:"pipelines"`
		}
		err = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		out = append(out, time.Since(t0))
		want := http.StatusUnauthorized
		if key != "" {
			want = http.StatusAccepted
		}
		if resp.StatusCode != want || err != nil || key != "" && (len(ans.Pipelines) != 1 || ans.Pipelines[0].ExecutionID == "") {
			return nil, fmt.Errorf("delivery %d: %d %+v %v", i, resp.StatusCode, ans, err)
		}
	}
	return out, nil
}

func push(sha string) []byte {
	b, _ := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "before": strings.Repeat("0", 40), "after": sha,
		"commits":     []map[string]any{{"id": sha, "message": "change", "modified": []string{"README"}}},
		"head_commit": map[string]any{"id": sha, "message": "change"},
		"repository":  map[string]any{"full_name": "acme/bench", "default_branch": "main"},
		"sender":      map[string]any{"login": "bench"},
	})
	return b
}

func report(what string, ds []time.Duration) {
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	fmt.Printf("%-48s p50 %8s  p99 %8s  max %8s\n", what, q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))
}

// rss is a process's resident set size in bytes, from /proc.
func rss(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			_, _ = fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kb)
			return kb << 10
		}
	}
	return 0
}

func waitHealthy(base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("serve did not answer on %s", base)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
