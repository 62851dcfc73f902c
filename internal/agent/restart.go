package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// Restart hands the agent of stateDir over to a new agent run from exe (a
// restart; an upgrade when exe is another version): the new agent takes the
// listening sockets, the routes with their targets' health and the supervised
// processes, and the old one stops accepting, finishes its in-flight requests
// and exits. No connection is refused meanwhile. With no agent running it
// starts one. It returns the old agent's identity (zero when none ran) and the
// new one's, once the new one serves the admin API.
func Restart(ctx context.Context, stateDir, exe string) (from, to Health, err error) {
	if !Running(stateDir) {
		c, err := EnsureAgent(ctx, stateDir, exe)
		if err != nil {
			return Health{}, Health{}, err
		}
		to, err = c.Health(ctx)
		return Health{}, to, err
	}
	c, err := Dial(stateDir)
	if err == nil {
		from, err = c.Health(ctx)
	}
	if err != nil {
		return Health{}, Health{}, fmt.Errorf("restart agent: the running agent does not answer: %w", err)
	}
	cmd, err := spawn(exe, agentArgs(stateDir, true), filepath.Join(stateDir, LogFile))
	if err != nil {
		return from, Health{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	to, err = awaitSuccessor(ctx, c, from.PID, exited)
	if err != nil {
		return from, Health{}, fmt.Errorf("restart agent (see %s): %w", filepath.Join(stateDir, LogFile), err)
	}
	return from, to, nil
}

// awaitSuccessor waits until an agent other than oldPID answers, or the new
// keeper exits (the take-over failed).
func awaitSuccessor(ctx context.Context, c *Client, oldPID int, exited <-chan error) (Health, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*handoverTimeout)
	defer cancel()
	for {
		hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
		h, err := c.Health(hctx)
		hcancel()
		if err == nil && h.PID != oldPID {
			return h, nil
		}
		select {
		case err := <-exited:
			return Health{}, fmt.Errorf("the new agent did not take over: %v", err)
		case <-ctx.Done():
			return Health{}, fmt.Errorf("no new agent answered: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
