package awshook

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// run runs the hook's command in the package's directory, in its own process
// group so that the deadline stops everything it started.
func (h *Handler) run(ctx context.Context, env []string) error {
	if len(h.Command) == 0 {
		return errors.New("no hook command")
	}
	cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
	cmd.Dir = h.Dir
	cmd.Env = append(append([]string{}, h.Env...), env...)
	cmd.Stdout, cmd.Stderr = h.Output, h.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: stopped at the hook's deadline: %w", strings.Join(h.Command, " "), context.Cause(ctx))
	default:
		return fmt.Errorf("%s: %w", strings.Join(h.Command, " "), err)
	}
}
