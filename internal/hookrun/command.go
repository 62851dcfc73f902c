package hookrun

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/tail"
)

// Command runs a hook's command in the revision's directory, with the deployment's
// GREENLIGHT_* variables, its output in the deployment log. The hook runs the
// revision's code and others read its output: it inherits greenlight's
// environment without the variables that carry secrets (build.Inherited). It
// runs in its own process group, so that a timeout or a stop kills everything
// it started.
type Command struct{}

var _ deploy.HookRunner = Command{}

// Run runs the command and fails with its last lines of output when it exits
// non-zero.
func (Command) Run(ctx context.Context, call deploy.HookCall) error {
	argv := call.Hook.Command
	if len(argv) == 0 {
		return fmt.Errorf("hook %s has no command", call.Hook.Name)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = call.Dir
	cmd.Env = append(build.Inherited(hiddenEnv(call)), call.Env...)
	var last tail.Buffer
	out := io.MultiWriter(call.Log, &last)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Run(); err != nil {
		if lines := last.Lines(); len(lines) > 0 {
			return fmt.Errorf("%s: %w; output: %s", strings.Join(argv, " "), err, strings.Join(lines, " | "))
		}
		return fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return nil
}

// hiddenEnv names the variables the deployment's task definition secrets are
// read from, and those its creator hid (every served definition's secret
// sources): the hook does not inherit them.
func hiddenEnv(call deploy.HookCall) []string {
	if call.Deployment == nil {
		return nil
	}
	return slices.Concat(call.Deployment.Config.Secrets.Env(), call.Deployment.Config.HiddenEnv)
}
