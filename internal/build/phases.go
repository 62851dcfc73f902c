package build

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

type phaseEntry struct {
	name  string
	phase *manifest.Phase
}

// runPhases runs the phases with CodeBuild's transitions: a failed install or
// pre_build skips to the end (no later phase, no artifacts); a failed build still
// runs post_build; a failed post_build still uploads artifacts. on-failure:
// CONTINUE goes on to the next phase, the build staying failed.
func (b *builder) runPhases(ctx context.Context) (upload bool, interrupted Status, err error) {
	p := b.req.Buildspec.Phases
	for _, e := range []phaseEntry{{PhaseInstall, p.Install}, {PhasePreBuild, p.PreBuild}, {PhaseBuild, p.Build}, {PhasePostBuild, p.PostBuild}} {
		if e.phase == nil {
			continue
		}
		pr, err := b.runPhase(ctx, e.name, e.phase)
		b.result.Phases = append(b.result.Phases, pr)
		if err != nil {
			return false, "", err
		}
		switch pr.Status {
		case StatusTimedOut, StatusStopped:
			return false, pr.Status, nil
		case StatusFailed:
			b.fail(phaseFailure(pr))
			if err := b.markFailing(ctx); err != nil {
				status, why, err := b.interruption(ctx, err)
				b.fail(why)
				return false, status, err
			}
			if e.phase.OnFailure != manifest.OnFailureContinue && (e.name == PhaseInstall || e.name == PhasePreBuild) {
				return false, "", nil
			}
		}
	}
	return true, "", nil
}

func phaseFailure(pr PhaseResult) string {
	what := "command"
	if pr.Finally {
		what = "finally command"
	}
	return fmt.Sprintf("phase %s: %s `%s`%s exited with status %d", pr.Name, what, pr.Command, at(pr.Position), pr.ExitCode)
}

// markFailing sets CODEBUILD_BUILD_SUCCEEDING=0 in the shell for later phases.
func (b *builder) markFailing(ctx context.Context) error {
	if !b.succeeding {
		return nil
	}
	b.succeeding = false
	_, err := b.exec(ctx, "CODEBUILD_BUILD_SUCCEEDING=0; export CODEBUILD_BUILD_SUCCEEDING")
	return err
}

// interruption turns a context error into TIMED_OUT or STOPPED, with words for
// it; other errors come back as they are.
func (b *builder) interruption(ctx context.Context, err error) (Status, string, error) {
	switch {
	case ctx.Err() == nil:
		return "", "", err
	case b.ctx.Err() != nil:
		return StatusStopped, "build stopped", nil
	}
	return StatusTimedOut, fmt.Sprintf("build timed out after %s", b.req.Timeout), nil
}

func (b *builder) runPhase(ctx context.Context, name string, p *manifest.Phase) (PhaseResult, error) {
	pr := PhaseResult{Name: name, Status: StatusSucceeded, Start: time.Now()}
	upper := strings.ToUpper(name)
	b.logf("Entering phase %s", upper)
	if p.RunAs != "" {
		b.logf("Phase %s: run-as is ignored here; commands run as this user", name)
	}
	if problem := b.checkRuntimes(ctx, p); problem != "" {
		return b.runtimeMismatch(pr, upper, problem), nil
	}
	err := b.runCommands(ctx, p.Commands, &pr, false)
	if err == nil && len(p.Finally) > 0 {
		err = b.runCommands(ctx, p.Finally, &pr, true)
	}
	pr.End = time.Now()
	if err != nil {
		status, why, err := b.interruption(ctx, err)
		if err != nil {
			pr.Status, pr.Context = StatusFault, err.Error()
			return pr, err
		}
		pr.Status, pr.Context = status, why
		b.fail(fmt.Sprintf("phase %s: %s while running `%s`%s", name, why, pr.Command, at(pr.Position)))
	}
	b.logf("Phase complete: %s State: %s", upper, pr.Status)
	if pr.Status == StatusFailed {
		pr.Context = fmt.Sprintf("COMMAND_EXECUTION_ERROR: Error while executing command: %s. Reason: exit status %d", pr.Command, pr.ExitCode)
		b.logf("Phase context: %s", pr.Context)
	}
	return pr, nil
}

// runCommands runs commands until one fails; the first failure of the phase is
// recorded in pr. On an error (the context's, or an infrastructure problem) pr
// names the command that was running.
func (b *builder) runCommands(ctx context.Context, commands []manifest.Command, pr *PhaseResult, finally bool) error {
	for _, c := range commands {
		b.logf("Running command %s", c.Text)
		code, err := b.exec(ctx, c.Text)
		if err != nil || code != 0 && pr.Status != StatusFailed {
			pr.Command, pr.Position = b.masker.Mask(c.Text), c.Pos
		}
		if err != nil {
			return err
		}
		if code != 0 {
			if pr.Status != StatusFailed {
				pr.Status, pr.ExitCode, pr.Finally = StatusFailed, code, finally
			}
			return nil
		}
	}
	return nil
}

// exec runs a command in the build's shell, starting a new shell when the last
// one exited (a command ran `exit`): its variables are then lost, as a log line
// says.
func (b *builder) exec(ctx context.Context, script string) (int, error) {
	if !b.sh.alive() {
		b.sh.close()
		cfg := b.shellCfg
		if !b.succeeding {
			cfg.env = append(append([]string{}, cfg.env...), "CODEBUILD_BUILD_SUCCEEDING=0")
		}
		if err := b.openShell(cfg); err != nil {
			return -1, err
		}
	}
	code, err := b.sh.run(ctx, script)
	if errors.Is(err, errShellExited) {
		b.logf("The shell exited with status %d; later commands run in a new shell, without the shell variables set so far", code)
		return code, nil
	}
	return code, err
}

// runtimeMismatch fails the install phase before its commands: the toolchains
// the buildspec asks for are not the ones here.
func (b *builder) runtimeMismatch(pr PhaseResult, upper, problem string) PhaseResult {
	pr.Status, pr.End = StatusFailed, time.Now()
	pr.Context = "RUNTIME_VERSIONS: " + problem
	b.fail(fmt.Sprintf("phase %s: runtime-versions: %s", pr.Name, problem))
	b.logf("Phase complete: %s State: %s", upper, pr.Status)
	b.logf("Phase context: %s", pr.Context)
	return pr
}
