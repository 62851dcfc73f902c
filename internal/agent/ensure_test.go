package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/flock"
)

// TestEnsureControllerWaitsForAStartingController: a controller takes its lock
// first and writes its pid and version files a moment later. A command that looks
// in between sees the files of the controller before it (a process that is gone,
// another version) and must wait for the new ones instead of replacing the
// controller that is starting (the race that failed a release under load).
func TestEnsureControllerWaitsForAStartingController(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, ControllerPID), strconv.Itoa(gone.Process.Pid))
	write(t, filepath.Join(dir, ControllerVersion), "old")
	lock, err := flock.TryAcquire(filepath.Join(dir, ControllerLock))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	go func() { // the starting controller (this process) records itself late
		time.Sleep(150 * time.Millisecond)
		write(t, filepath.Join(dir, ControllerPID), strconv.Itoa(os.Getpid()))
		write(t, filepath.Join(dir, ControllerVersion), "new")
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := EnsureController(ctx, dir, "/nonexistent/greenlight", "new"); err != nil {
		t.Fatalf("EnsureController replaced a starting controller of its own version: %v", err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		t.Error(err)
	}
}
