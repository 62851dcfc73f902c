package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/pipeline"
)

func (a *app) approveCommand(approve bool) *cobra.Command {
	verb, short := "approve", "Approve a manual approval an execution waits for"
	if !approve {
		verb, short = "reject", "Reject a manual approval (the execution fails)"
	}
	var comment, stage, action string
	cmd := &cobra.Command{
		Use:   verb + " EXECUTION --comment TEXT",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(s *session, eng *pipeline.Engine, id string) error {
				decide := eng.Approve
				if !approve {
					decide = eng.Reject
				}
				if err := decide(ctx, id, stage, action, whoami(), comment); err != nil {
					return err
				}
				newPrinter(a.stdout, a.json).line("%sd %s", verb, id)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "summary recorded with the decision")
	cmd.Flags().StringVar(&stage, "stage", "", "stage of the approval (default: the one waiting)")
	cmd.Flags().StringVar(&action, "action", "", "action of the approval (default: the one waiting)")
	return cmd
}

func (a *app) openEngine(ctx context.Context) (*session, *pipeline.Engine, error) {
	s, err := a.open(ctx, true)
	if err != nil {
		return nil, nil, err
	}
	eng, err := s.engine(ctx)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, eng, nil
}

// withEngine opens the definition, the state and the engine, and runs fn.
func (a *app) withEngine(ctx context.Context, fn func(s *session, eng *pipeline.Engine) error) error {
	s, eng, err := a.openEngine(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	return fn(s, eng)
}

// withExecution is withEngine for the execution named by arg (a full id or a
// unique prefix).
func (a *app) withExecution(ctx context.Context, arg string, fn func(s *session, eng *pipeline.Engine, id string) error) error {
	return a.withEngine(ctx, func(s *session, eng *pipeline.Engine) error {
		id, err := s.resolveExecution(ctx, eng, arg)
		if err != nil {
			return err
		}
		return fn(s, eng, id)
	})
}

// resolveExecution accepts a full execution id or a unique prefix of a recent one.
func (s *session) resolveExecution(ctx context.Context, eng *pipeline.Engine, arg string) (string, error) {
	list, err := eng.Executions(ctx, 0, 200)
	if err != nil {
		return "", err
	}
	var match []string
	for _, ex := range list {
		if ex.ID == arg {
			return arg, nil
		}
		if strings.HasPrefix(ex.ID, arg) {
			match = append(match, ex.ID)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", fmt.Errorf("no execution %q (see `greenlight history`)", arg)
	}
	return "", fmt.Errorf("%q matches several executions: %s", arg, strings.Join(match, ", "))
}

func (a *app) statusCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "status [EXECUTION]",
		Short: "Show an execution (default: the latest) stage by stage",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withEngine(ctx, func(s *session, eng *pipeline.Engine) error {
				var id string
				var err error
				if len(args) == 1 {
					if id, err = s.resolveExecution(ctx, eng, args[0]); err != nil {
						return err
					}
				} else {
					list, err := eng.Executions(ctx, 0, 1)
					if err != nil {
						return err
					}
					if len(list) == 0 {
						return fmt.Errorf("no executions yet: `greenlight run` starts one")
					}
					id = list[0].ID
				}
				v, err := eng.Execution(ctx, id)
				if err != nil {
					return err
				}
				a.printExecution(newPrinter(a.stdout, a.json), v)
				return nil
			})
		},
	}
}

func (a *app) printExecution(p *printer, v *pipeline.ExecutionView) {
	if a.json {
		p.object(v)
		return
	}
	p.line("execution %s of %s: %s %s", v.ID, v.Pipeline, v.Status, v.StatusSummary)
	p.line("  revision %s (%s) %s", short7(v.Source.CommitID), v.Source.Branch, firstLine(v.Source.Message))
	p.line("  started %s, trigger %s %s", v.StartedAt.Local().Format(time.DateTime), v.Trigger, v.TriggerDetail)
	for _, st := range v.Stages {
		p.line("  %s %-18s %s", mark(string(st.Status)), st.Name, orDash(string(st.Status)))
		for _, act := range st.Actions {
			took := ""
			if !act.EndedAt.IsZero() {
				took = act.EndedAt.Sub(act.StartedAt).Round(100 * time.Millisecond).String()
			}
			p.line("      %s %-18s %-10s %-8s %s", mark(string(act.Status)), act.Name, orDash(string(act.Status)), took, firstNonEmpty(act.ErrorMessage, act.Summary))
			if ap := act.Approval; ap != nil && ap.Status == pipeline.ApprovalNeeded {
				p.line("          waiting for approval: %s %s — greenlight approve %s --comment '...'", ap.CustomData, ap.ExternalEntityLink, short(v.ID))
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (a *app) historyCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List recent executions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withEngine(ctx, func(s *session, eng *pipeline.Engine) error {
				list, err := eng.Executions(ctx, 0, limit)
				if err != nil {
					return err
				}
				p := newPrinter(a.stdout, a.json)
				if !a.json {
					p.line("%-36s %-11s %-8s %-20s %-9s %s", "EXECUTION", "STATUS", "REVISION", "STARTED", "DURATION", "STAGE")
				}
				for _, ex := range list {
					if a.json {
						p.object(ex)
						continue
					}
					dur := "-"
					if !ex.EndedAt.IsZero() {
						dur = ex.EndedAt.Sub(ex.StartedAt).Round(100 * time.Millisecond).String()
					}
					p.line("%-36s %-11s %-8s %-20s %-9s %s", ex.ID, ex.Status, short7(ex.Source.CommitID), ex.StartedAt.Local().Format(time.DateTime), dur, ex.Stage)
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many, newest first")
	return cmd
}

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs EXECUTION [STAGE/ACTION]",
		Short: "Print the logs of an execution's actions (default: all, in order)",
		Long: `Print the logs of an execution's actions (secrets masked). With --follow, keep
printing what the running actions write, each line prefixed with its action, until
the execution ends.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(s *session, eng *pipeline.Engine, id string) error {
				if follow {
					return a.followLogs(ctx, eng, id, args[1:])
				}
				v, err := eng.Execution(ctx, id)
				if err != nil {
					return err
				}
				a.printLogs(ctx, eng, v, args[1:])
				return nil
			})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "F", false, "keep printing new log lines until the execution ends")
	return cmd
}

// selected reports whether the action is the one only names (or only is empty).
func selected(only []string, stage, action string) bool {
	return len(only) == 0 || only[0] == stage+"/"+action || only[0] == action
}

// printLogs prints the logs of an execution's actions, or of the one named
// STAGE/ACTION or ACTION in only.
func (a *app) printLogs(ctx context.Context, eng *pipeline.Engine, v *pipeline.ExecutionView, only []string) {
	for _, st := range v.Stages {
		for _, act := range st.Actions {
			if !selected(only, st.Name, act.Name) {
				continue
			}
			path, err := eng.LogPath(ctx, v.ID, st.Name, act.Name)
			if err != nil {
				continue
			}
			data, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			fmt.Fprintf(a.stdout, "==> %s/%s (%s) <==\n%s", st.Name, act.Name, act.Status, data)
		}
	}
}

// followLogs prints new complete lines of every selected action's log as they
// are written, prefixed with the action, until the execution is final and every
// log is read to its end.
func (a *app) followLogs(ctx context.Context, eng *pipeline.Engine, id string, only []string) error {
	offsets := map[string]int64{}
	for {
		v, err := eng.Execution(ctx, id)
		if err != nil {
			return err
		}
		for _, st := range v.Stages {
			for _, act := range st.Actions {
				if path, err := eng.LogPath(ctx, id, st.Name, act.Name); err == nil && selected(only, st.Name, act.Name) && path != "" {
					offsets[path] = a.printNewLines(path, offsets[path], st.Name+"/"+act.Name)
				}
			}
		}
		if v.Status.Final() {
			return nil
		}
		if err := sleepCtx(ctx, 200); err != nil {
			return err
		}
	}
}

// printNewLines prints the complete lines of path after offset and returns the
// offset after the last one printed.
func (a *app) printNewLines(path string, offset int64, prefix string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return offset
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, offset, 1<<40))
	if err != nil {
		return offset
	}
	end := bytes.LastIndexByte(data, '\n')
	if end < 0 {
		return offset
	}
	for _, line := range strings.Split(string(data[:end]), "\n") {
		fmt.Fprintf(a.stdout, "[%s] %s\n", prefix, line)
	}
	return offset + int64(end) + 1
}

func (a *app) resumeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "Continue executions a crashed or interrupted greenlight left in progress",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.withEngine(ctx, func(s *session, eng *pipeline.Engine) error {
				if err := s.ensureController(ctx); err != nil {
					return err
				}
				ids, err := eng.Recover(ctx)
				if err != nil {
					return err
				}
				p := newPrinter(a.stdout, a.json)
				if len(ids) == 0 {
					p.line("nothing to resume")
					return nil
				}
				failed := false
				for _, id := range ids {
					st, err := a.follow(ctx, s, eng, p, id, false)
					if err != nil {
						return err
					}
					failed = failed || st != pipeline.StatusSucceeded
				}
				if failed {
					return exitError{code: 1}
				}
				return nil
			})
		},
	}
}

func (a *app) stopCommand() *cobra.Command {
	var abandon bool
	var reason string
	cmd := &cobra.Command{
		Use:   "stop EXECUTION",
		Short: "Stop an execution (after in-progress actions finish, or at once with --abandon)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(s *session, eng *pipeline.Engine, id string) error {
				return eng.Stop(ctx, id, abandon, firstNonEmpty(reason, "stopped by "+whoami()))
			})
		},
	}
	cmd.Flags().BoolVar(&abandon, "abandon", false, "abandon in-progress actions instead of letting them finish")
	cmd.Flags().StringVar(&reason, "reason", "", "why")
	return cmd
}

func (a *app) retryCommand() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "retry EXECUTION STAGE",
		Short: "Retry a failed stage (its failed actions, or all with --all) and continue the execution",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(s *session, eng *pipeline.Engine, id string) error {
				return a.retry(ctx, s, eng, id, args[1], all)
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "retry every action of the stage, not only the failed ones")
	return cmd
}

func (a *app) retry(ctx context.Context, s *session, eng *pipeline.Engine, id, stage string, all bool) error {
	mode := pipeline.RetryFailedActions
	if all {
		mode = pipeline.RetryAllActions
	}
	if err := eng.RetryStage(ctx, id, stage, mode); err != nil {
		return err
	}
	if err := s.ensureController(ctx); err != nil {
		return err
	}
	st, err := a.follow(ctx, s, eng, newPrinter(a.stdout, a.json), id, false)
	if err != nil {
		return err
	}
	if st != pipeline.StatusSucceeded {
		return exitError{code: 1}
	}
	return nil
}
