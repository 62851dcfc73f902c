package awsfake

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Runtime is Lambda's runtime API on loopback: it hands a function's real
// binary one invocation with a deadline and records what the function answers.
// Point the binary at it with AWS_LAMBDA_RUNTIME_API=Runtime.Addr.
type Runtime struct {
	Addr string // host:port
	// Answered receives "response: <body>" or "error: <body>" once the
	// function answers (or "unexpected ..." for a request the API does not have).
	Answered chan string

	event    []byte
	deadline time.Time
	served   chan struct{}
}

// RequestID is the id of the one invocation a Runtime hands out.
const RequestID = "req-1"

// NewRuntime serves one invocation of event, due by deadline, until t ends.
func NewRuntime(t testing.TB, event []byte, deadline time.Time) *Runtime {
	rt := &Runtime{event: event, deadline: deadline, Answered: make(chan string, 4), served: make(chan struct{})}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	rt.Addr = strings.TrimPrefix(srv.URL, "http://")
	return rt
}

// ServeHTTP is the runtime API: next invocation, then its response or error.
func (rt *Runtime) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
		select {
		case <-rt.served: // one invocation only: later polls wait for the test's end
			<-r.Context().Done()
			return
		default:
			close(rt.served)
		}
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", RequestID)
		w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(rt.deadline.UnixMilli(), 10))
		w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+Region+":"+Account+":function:greenlight-test")
		_, _ = w.Write(rt.event)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/"+RequestID+"/"):
		body, _ := io.ReadAll(r.Body)
		rt.Answered <- strings.TrimPrefix(r.URL.Path, "/2018-06-01/runtime/invocation/"+RequestID+"/") + ": " + string(body)
		w.WriteHeader(http.StatusAccepted)
	default:
		rt.Answered <- "unexpected " + r.Method + " " + r.URL.Path
		w.WriteHeader(http.StatusNotFound)
	}
}

// Invoke runs a function's real binary as Lambda does — one invocation of event
// from a Runtime, due by deadline, with env added to this process's
// environment — and returns what it answered. The binary is killed when t ends.
func Invoke(t testing.TB, binary string, event []byte, deadline time.Time, env ...string) string {
	t.Helper()
	rt := NewRuntime(t, event, deadline)
	cmd := exec.Command(binary)
	cmd.Env = append(append(os.Environ(), "AWS_LAMBDA_RUNTIME_API="+rt.Addr, "LAMBDA_TASK_ROOT="+t.TempDir()), env...)
	var stderr Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case answer := <-rt.Answered:
		return answer
	case <-time.After(time.Until(deadline) + 5*time.Second):
		t.Fatalf("the function never answered the runtime; its log:\n%s", stderr.String())
		return ""
	}
}

// Buffer is a bytes.Buffer safe for concurrent writes: a process's output, written from exec's goroutines.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
