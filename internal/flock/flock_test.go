package flock

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestMain lets the test binary act as another process holding a lock.
func TestMain(m *testing.M) {
	if path := os.Getenv("FLOCK_TEST_HOLD"); path != "" {
		if _, err := TryAcquire(path); err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	if os.Getenv("FLOCK_TEST_KEEP") != "" {
		// Keeps descriptor 3, a handed-over lock, until stdin closes.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestTryAcquireFailsWhileHeldAndWorksAfterRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TryAcquire(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second TryAcquire: %v, want ErrLocked", err)
	}
	if !Held(path) {
		t.Error("Held = false while held")
	}
	l.Release()
	l.Release() // twice is harmless
	if Held(path) {
		t.Error("Held = true after Release")
	}
	again, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after release: %v", err)
	}
	again.Release()
}

func TestAcquireWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		second, err := Acquire(path)
		if err == nil {
			second.Release()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("Acquire returned while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	l.Release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Acquire did not return after the release")
	}
}

func TestTheKernelReleasesTheLockOfAProcessThatDies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FLOCK_TEST_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v", line, err)
	}
	if _, err := TryAcquire(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryAcquire while another process holds it: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := TryAcquire(path)
	if err != nil {
		t.Fatalf("lock of a killed process not released: %v", err)
	}
	l.Release()
}

// A lock handed to another process stays held when the first one drops its
// descriptor, and goes when the last holder exits.
func TestAHandedOverLockOutlivesTheProcessThatDropsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := TryAcquire(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FLOCK_TEST_KEEP=1")
	cmd.ExtraFiles = []*os.File{l.File()}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l.Drop()
	l.Drop() // twice is harmless
	if _, err := TryAcquire(path); !errors.Is(err, ErrLocked) {
		t.Fatalf("TryAcquire after the first holder dropped its descriptor: %v, want ErrLocked", err)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	again, err := TryAcquire(path)
	if err != nil {
		t.Fatalf("lock not released after its last holder exited: %v", err)
	}
	again.Release()
}
