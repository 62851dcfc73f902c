// Package runtimetest holds what the runtime driver tests share: building the test
// server program, polling helpers, and a suite that checks the runtime.Driver
// contract against any implementation.
package runtimetest

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/gobuild"
)

// Eventually is how long the helpers wait for an eventual condition: long, as the
// tests share two cores with other builds.
const Eventually = 60 * time.Second

// BuildServer compiles the test server into dir as a static binary (CGO off), so
// that it runs as a process and in a FROM scratch image, and returns its path.
func BuildServer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "testserver")
	p := Server(&bin)
	return bin, gobuild.Build(ctx, p.Pkg, bin, p.Options)
}

// Server is the test server as a program for gobuild.Main: a TestMain that only
// needs it is os.Exit(gobuild.Main(m, runtimetest.Server(&serverBin))).
func Server(path *string) gobuild.Program {
	return gobuild.Program{
		Pkg: "github.com/greenlight-ci/greenlight/internal/runtime/internal/testserver", Name: "testserver", Path: path,
		Options: gobuild.Options{Static: true, Trimpath: true},
	}
}

// NewID returns a task ID that no other test run uses, so that tests sharing a
// Docker Engine do not collide on container names.
func NewID(prefix string) string {
	return prefix + "-" + strings.ToLower(rand.Text()[:10])
}

// Get fetches http://addr/path and returns the status and body.
func Get(ctx context.Context, addr, path string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// WaitHealthy polls http://addr/health until it answers 200.
func WaitHealthy(t testing.TB, addr string) {
	t.Helper()
	var last string
	ok := Poll(t, func(ctx context.Context) bool {
		status, body, err := Get(ctx, addr, "/health")
		last = fmt.Sprintf("status %d body %q err %v", status, body, err)
		return err == nil && status == http.StatusOK
	})
	if !ok {
		t.Fatalf("%s never became healthy: last answer %s", addr, last)
	}
}

// Poll calls cond every 50 ms until it returns true or Eventually has passed, and
// reports whether it did.
func Poll(t testing.TB, cond func(ctx context.Context) bool) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), Eventually)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if cond(ctx) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}
