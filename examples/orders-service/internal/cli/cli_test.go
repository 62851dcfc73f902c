package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string, stdout, stderr io.Writer) Env {
	return Env{Version: "abc1234", Getenv: func(k string) string { return vars[k] }, Stdout: stdout, Stderr: stderr}
}

// started is a service run by Run in the background, with its JSON log lines.
type started struct {
	addr  string
	lines chan map[string]any
	exit  chan int
	stop  context.CancelFunc
}

func startServe(t *testing.T, vars map[string]string) *started {
	t.Helper()
	vars["HOST"], vars["PORT"] = "127.0.0.1", "0"
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	s := &started{lines: make(chan map[string]any, 1000), exit: make(chan int, 1), stop: cancel}
	go func() {
		s.exit <- Run(ctx, nil, envOf(vars, pw, io.Discard))
		pw.Close()
	}()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			s.lines <- line
		}
		close(s.lines)
	}()
	t.Cleanup(func() { cancel(); _, _ = io.Copy(io.Discard, pr) })
	select {
	case line := <-s.lines:
		if line["msg"] != "listening" || line["version"] != "abc1234" {
			t.Fatalf("first log line = %v, want listening with the version", line)
		}
		s.addr = line["addr"].(string)
	case code := <-s.exit:
		t.Fatalf("serve exited with %d before listening", code)
	case <-time.After(60 * time.Second):
		t.Fatal("serve never logged that it listens")
	}
	return s
}

func (s *started) shutdown(t *testing.T) int {
	t.Helper()
	s.stop()
	select {
	case code := <-s.exit:
		return code
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

func TestServeThenSmokeThenShutdown(t *testing.T) {
	srv := startServe(t, map[string]string{})
	url := "http://" + srv.addr

	var out, errOut bytes.Buffer
	if code := Run(t.Context(), []string{"smoke", "-expect-version", "self", url}, envOf(nil, &out, &errOut)); code != ExitOK {
		t.Fatalf("smoke exited %d:\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.HasSuffix(out.String(), "smoke: PASS against "+url+"\n") {
		t.Fatalf("smoke output:\n%s", out.String())
	}

	out.Reset()
	// No argument: the URL comes from GREENLIGHT_TEST_URL, as in a deployment hook.
	hookEnv := envOf(map[string]string{"GREENLIGHT_TEST_URL": url}, &out, &errOut)
	if code := Run(t.Context(), []string{"smoke", "-rounds", "1"}, hookEnv); code != ExitOK {
		t.Fatalf("smoke from GREENLIGHT_TEST_URL exited %d: %s", code, errOut.String())
	}
	prodEnv := envOf(map[string]string{"GREENLIGHT_PRODUCTION_URL": url}, &out, &errOut)
	if code := Run(t.Context(), []string{"smoke", "-url-env", "GREENLIGHT_PRODUCTION_URL"}, prodEnv); code != ExitOK {
		t.Fatalf("smoke -url-env exited %d: %s", code, errOut.String())
	}

	if code := srv.shutdown(t); code != ExitOK {
		t.Fatalf("serve exited %d after shutdown, want 0", code)
	}
	var requests int
	for line := range srv.lines {
		if line["msg"] == "request" {
			requests++
		}
	}
	if requests == 0 {
		t.Fatal("no request log lines")
	}
}

// TestSmokeExpectsTheImageTagOnAWS: greenlight's hook function on AWS names the
// replacement's image tag, which "self" then demands instead of the binary's own
// version; -self still checks the binary's own service.
func TestSmokeExpectsTheImageTagOnAWS(t *testing.T) {
	srv := startServe(t, map[string]string{})
	url := "http://" + srv.addr
	var out, errOut bytes.Buffer
	other := envOf(map[string]string{"GREENLIGHT_IMAGE_TAG": "fff0000"}, &out, &errOut)
	if code := Run(t.Context(), []string{"smoke", "-rounds", "1", "-expect-version", "self", url}, other); code != ExitFail || !strings.Contains(errOut.String(), `expected "fff0000"`) {
		t.Fatalf("smoke with another image tag exited %d:\n%s", code, errOut.String())
	}
	same := envOf(map[string]string{"GREENLIGHT_IMAGE_TAG": "abc1234"}, &out, &errOut)
	if code := Run(t.Context(), []string{"smoke", "-rounds", "1", "-expect-version", "self", url}, same); code != ExitOK {
		t.Fatalf("smoke with the served image tag exited %d:\n%s", code, errOut.String())
	}
	if code := Run(t.Context(), []string{"smoke", "-self", "-rounds", "1", "-expect-version", "self"}, other); code != ExitOK {
		t.Fatalf("smoke -self with an image tag set exited %d:\n%s", code, errOut.String())
	}
}

func TestSmokeFailsAgainstABadRelease(t *testing.T) {
	srv := startServe(t, map[string]string{"FAIL_RATE": "1"})
	var out, errOut bytes.Buffer
	code := Run(t.Context(), []string{"smoke", "-timeout", "30s", "http://" + srv.addr}, envOf(nil, &out, &errOut))
	if code != ExitFail || !strings.Contains(errOut.String(), "smoke: FAIL against http://"+srv.addr+": rejects an invalid order: POST /orders: status 500") {
		t.Fatalf("smoke exited %d, stderr:\n%s", code, errOut.String())
	}
}

func TestSmokeSelf(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Run(t.Context(), []string{"smoke", "-self", "-expect-version", "self"}, envOf(nil, &out, &errOut))
	if code != ExitOK || !strings.Contains(out.String(), "(in-process)") || !strings.Contains(out.String(), "version abc1234") {
		t.Fatalf("smoke -self exited %d:\n%s%s", code, out.String(), errOut.String())
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want string
	}{
		{"unknown command", []string{"deploy"}, nil, `orders-service: unknown command "deploy" (allowed: serve, smoke, version)`},
		{"no smoke url", []string{"smoke"}, nil, "smoke: no base URL: give one as an argument or set GREENLIGHT_TEST_URL"},
		{"no url in the named variable", []string{"smoke", "-url-env", "GREENLIGHT_PRODUCTION_URL"}, nil, "set GREENLIGHT_PRODUCTION_URL"},
		{"bad flag", []string{"smoke", "-nope"}, nil, "flag provided but not defined: -nope"},
		{"two urls", []string{"smoke", "http://a", "http://b"}, nil, "usage: orders-service smoke"},
		{"zero rounds", []string{"smoke", "-rounds", "0", "http://a"}, nil, "usage: orders-service smoke"},
		{"bad environment", nil, map[string]string{"FAIL_RATE": "0,5", "PORT": "x"},
			"orders-service: refusing to start, bad environment:\nPORT=\"x\": must be an integer from 0 to 65535\nFAIL_RATE=\"0,5\": must be a number from 0 to 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Run(t.Context(), tt.args, envOf(tt.vars, &out, &errOut)); code != ExitUsage {
				t.Fatalf("exit %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Fatalf("stderr:\n%s\nwant it to contain:\n%s", errOut.String(), tt.want)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := Run(t.Context(), []string{"version"}, envOf(nil, &out, io.Discard)); code != ExitOK || out.String() != "abc1234\n" {
		t.Fatalf("version: exit %d, output %q", code, out.String())
	}
}
