//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtVersion is stamped into the binary this package builds when ORDERS_BIN is
// not given.
const builtVersion = "integration-test"

// binaryPath is the orders-service binary under test, set once by TestMain.
var binaryPath string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if bin := os.Getenv("ORDERS_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ORDERS_BIN:", err)
			return 1
		}
		binaryPath = abs
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "orders-service-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binaryPath = filepath.Join(dir, "orders-service")
	if err := buildStatic(binaryPath, builtVersion); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildStatic builds the service as the buildspec does: static, version stamped.
func buildStatic(out, version string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, output)
	}
	return nil
}

// expectedVersion is what /version must report, when known.
func expectedVersion() string {
	if v := os.Getenv("EXPECT_VERSION"); v != "" {
		return v
	}
	if os.Getenv("ORDERS_BIN") == "" && os.Getenv("ORDERS_URL") == "" {
		return builtVersion
	}
	return ""
}

// service is the binary running as a child process on a free loopback port.
type service struct {
	url    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan error
	logs   chan map[string]any // JSON log lines after "listening"
}

// startService runs the binary with env added to the test's environment and waits
// until it logs the address it listens on.
func startService(t *testing.T, env ...string) *service {
	t.Helper()
	cmd := exec.Command(binaryPath)
	cmd.Env = append(os.Environ(), append([]string{"HOST=127.0.0.1", "PORT=0", "FAIL_RATE=", "LATENCY_MS="}, env...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &service{cmd: cmd, stderr: &lockedBuffer{}, exited: make(chan error, 1), logs: make(chan map[string]any, 10000)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go s.readLogs(t, stdout, listening)
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() { s.kill(t) })

	select {
	case addr := <-listening:
		s.url = "http://" + addr
	case err := <-s.exited:
		t.Fatalf("service exited before listening: %v\n%s", err, s.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("service never logged that it listens")
	}
	return s
}

func (s *service) readLogs(t *testing.T, r io.Reader, listening chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("stdout line is not JSON: %q", sc.Text())
			continue
		}
		if line["msg"] == "listening" {
			listening <- line["addr"].(string)
			continue
		}
		select {
		case s.logs <- line:
		default: // a test that does not read the logs must not block the service
		}
	}
	close(s.logs)
}

// stop sends SIGTERM and returns the exit error (nil for status 0).
func (s *service) stop(t *testing.T) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.exited:
		s.exited <- err // for kill in cleanup
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("service did not exit after SIGTERM")
		return nil
	}
}

func (s *service) kill(t *testing.T) {
	select {
	case err := <-s.exited:
		s.exited <- err
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// request sends one request and decodes the JSON answer into out when not nil.
func request(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: status %d, body %q: %v", method, url, resp.StatusCode, data, err)
		}
	}
	return resp.StatusCode
}

// runBinary runs the binary to completion with args and env added.
func runBinary(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(binaryPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		return exit.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errOut.String()
}

// post sends a POST from a goroutine (where t.Fatal must not run) and returns the
// status.
func post(url, body string) (int, error) {
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}
