package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/atomicfile"
	"github.com/greenlight-ci/greenlight/internal/procfs"
	"github.com/greenlight-ci/greenlight/internal/statedir"
)

// EnsureAgent returns a client to the agent of stateDir, starting the agent in the
// background (from the installed binary exe) when none runs.
func EnsureAgent(ctx context.Context, stateDir, exe string) (*Client, error) {
	if _, err := statedir.Ensure(stateDir); err != nil {
		return nil, err
	}
	if !locked(filepath.Join(stateDir, LockFile)) {
		if _, err := spawn(exe, agentArgs(stateDir, false), filepath.Join(stateDir, LogFile)); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		c, err := Dial(stateDir)
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, time.Second)
			_, err = c.Health(hctx)
			cancel()
			if err == nil {
				return c, nil
			}
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil, fmt.Errorf("agent did not start (see %s): %w", filepath.Join(stateDir, LogFile), lastErr)
}

// agentArgs are the arguments of greenlight that start the agent of dir (its
// keeper, which runs the agent); takeOver makes it take over from the agent
// serving now.
func agentArgs(dir string, takeOver bool) []string {
	args := []string{"agent", "--state-dir", dir}
	if takeOver {
		args = append(args, "--take-over")
	}
	return args
}

// EnsureController makes sure a controller of this version runs for stateDir: it
// records exe as the controller binary (the agent's watchdog restarts it from there
// if it dies), replaces a controller of another version, and starts one when none
// runs.
func EnsureController(ctx context.Context, stateDir, exe, version string) error {
	// The watchdog reads this file to restart the controller: never half-written.
	if err := atomicfile.Write(filepath.Join(stateDir, ControllerExe), []byte(exe+"\n"), 0o644); err != nil {
		return fmt.Errorf("record controller binary: %w", err)
	}
	lockPath := filepath.Join(stateDir, ControllerLock)
	if locked(lockPath) {
		if runningVersion(ctx, stateDir) == version {
			return nil
		}
		if err := terminate(ctx, filepath.Join(stateDir, ControllerPID), lockPath); err != nil {
			return fmt.Errorf("replace controller of another version: %w", err)
		}
	}
	if _, err := spawn(exe, []string{"controller", "--state-dir", stateDir}, filepath.Join(stateDir, ControllerLog)); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for !locked(lockPath) {
		if time.Now().After(deadline) {
			return fmt.Errorf("controller did not start (see %s)", filepath.Join(stateDir, ControllerLog))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// runningVersion is the version of the controller holding the lock. A controller
// writes its pid and version files just after taking the lock: files naming a
// process that is gone are its predecessor's, so wait (briefly) for its own
// rather than replace a controller that is only starting.
func runningVersion(ctx context.Context, stateDir string) string {
	deadline := time.Now().Add(2 * time.Second)
	for !recordedControllerAlive(stateDir) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(20 * time.Millisecond):
		}
	}
	running, _ := os.ReadFile(filepath.Join(stateDir, ControllerVersion))
	return strings.TrimSpace(string(running))
}

// recordedControllerAlive reports whether controller.pid names a live process.
func recordedControllerAlive(stateDir string) bool {
	b, err := os.ReadFile(filepath.Join(stateDir, ControllerPID))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	st, err := procfs.ReadStat(pid)
	return err == nil && !st.Gone()
}

// Down stops the agent of stateDir, the controller and every process it supervises.
// Containers are the caller's to remove (the agent does not own Docker).
func Down(ctx context.Context, stateDir string) error {
	errs := []error{StopController(ctx, stateDir)}
	if !locked(filepath.Join(stateDir, LockFile)) {
		return errors.Join(errs...)
	}
	c, err := Dial(stateDir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := c.Shutdown(ctx, true); err != nil {
		errs = append(errs, err)
	}
	for locked(filepath.Join(stateDir, LockFile)) {
		select {
		case <-ctx.Done():
			return errors.Join(append(errs, fmt.Errorf("agent did not stop: %w", ctx.Err()))...)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.Join(errs...)
}

// Running reports whether an agent serves stateDir.
func Running(stateDir string) bool { return locked(filepath.Join(stateDir, LockFile)) }

// KeepAgentRunning restarts the agent of stateDir from exe whenever it is gone,
// until ctx ends: the controller and the agent watch over each other, so that
// production comes back by itself after the data plane crashes.
func KeepAgentRunning(ctx context.Context, stateDir, exe string, every time.Duration, log func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if Running(stateDir) {
			continue
		}
		if _, err := EnsureAgent(ctx, stateDir, exe); err != nil && ctx.Err() == nil {
			log(err)
		}
	}
}
