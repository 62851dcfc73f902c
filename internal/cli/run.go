package cli

import (
	"context"
	"fmt"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) runCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one execution of the pipeline on the repository's HEAD",
		Long: `Run one execution of the pipeline, showing each stage and action live. Without
--auto-approve the execution waits at a manual approval until someone runs
greenlight approve (from any terminal). Exit status 0 only when the execution
succeeds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.revision, "revision", "", "commit or ref to run (default: the head of the source branch)")
	cmd.Flags().BoolVar(&opts.autoApprove, "auto-approve", false, "approve manual approvals as soon as they are requested")
	cmd.Flags().StringArrayVar(&opts.vars, "var", nil, "pipeline variable override NAME=VALUE (repeatable)")
	return cmd
}

type runOptions struct {
	revision    string
	autoApprove bool
	vars        []string
}

// run resumes what a crashed command left behind, starts an execution and
// follows it to its end.
func (a *app) run(ctx context.Context, opts runOptions) error {
	vars, err := parseVars(opts.vars)
	if err != nil {
		return err
	}
	return a.withBackend(ctx, true, func(b control.Backend) error {
		p := newPrinter(a.stdout, a.json)
		if ids, err := b.ResumeExecutions(ctx); err != nil {
			return err
		} else if len(ids) > 0 && !a.json {
			p.line("resuming %d interrupted execution(s): %s", len(ids), strings.Join(ids, ", "))
		}
		id, err := b.StartExecution(ctx, control.StartRequest{Trigger: control.TriggerCLI, Who: whoami(), Revision: opts.revision, Variables: vars})
		if err != nil {
			return err
		}
		st, err := a.follow(ctx, b, p, id, opts.autoApprove)
		if err != nil {
			return err
		}
		return exitUnlessSucceeded(st)
	})
}

// exitUnlessSucceeded is the exit status of a command that followed an execution.
func exitUnlessSucceeded(st control.ExecutionStatus) error {
	if st != control.StatusSucceeded {
		return exitError{code: 1}
	}
	return nil
}

func parseVars(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func whoami() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
