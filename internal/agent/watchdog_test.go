package agent

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWatchdogStopWaitsForTheControllerItStarted: a controller the watchdog
// started just before greenlight down does not hold the lock yet, so stopping
// "the controller" finds nothing to stop. Down must still not return while
// that process runs: it would go on writing in the state directory (a test's
// clean-up once failed on it) or start the agent again. The controller here is
// a script that takes a second to start and then leaves a file behind.
func TestWatchdogStopWaitsForTheControllerItStarted(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow-controller")
	body := "#!/bin/sh\ntouch " + filepath.Join(dir, "started") + "\nsleep 1\ntouch " + filepath.Join(dir, "late") + "\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, ControllerExe), script)
	w := &Watchdog{StateDir: dir, Every: 20 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { w.Run(ctx, slog.New(slog.DiscardHandler)); close(ran) }()
	deadline := time.Now().Add(10 * time.Second)
	for !exists(filepath.Join(dir, "started")) {
		if time.Now().After(deadline) {
			t.Fatal("the watchdog did not start the controller")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-ran
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer stopCancel()
	if err := w.StopController(stopCtx); err != nil {
		t.Fatal(err)
	}
	if !exists(filepath.Join(dir, "late")) {
		t.Fatal("StopController returned while a controller the watchdog started was still running")
	}
}

// TestAControllerStartedAfterAStopDoesNotRun: StopController removes the
// controller's binary record first; a controller that takes the lock after
// that (started by a watchdog or a command racing the stop) must give it back
// and not run.
func TestAControllerStartedAfterAStopDoesNotRun(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ControllerExe), "/usr/local/bin/greenlight")
	l, err := LockController(dir, "v1")
	if err != nil {
		t.Fatalf("a wanted controller: %v", err)
	}
	l.Release()
	if err := os.Remove(filepath.Join(dir, ControllerExe)); err != nil {
		t.Fatal(err)
	}
	if _, err := LockController(dir, "v1"); !errors.Is(err, ErrNotWanted) {
		t.Fatalf("LockController after a stop: %v, want ErrNotWanted", err)
	}
	if locked(filepath.Join(dir, ControllerLock)) {
		t.Fatal("an unwanted controller kept the lock")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
