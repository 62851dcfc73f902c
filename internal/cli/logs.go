package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/control"
)

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs EXECUTION [STAGE/ACTION]",
		Short: "Print the logs of an execution's actions (default: all, in order)",
		Long: `Print the logs of an execution's actions (secrets masked). With --follow, keep
printing what the running actions write, each line prefixed with its action, until
the execution ends. With --json, one object per log line: stage, action, line.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withExecution(ctx, args[0], func(b control.Backend, id string) error {
				if follow {
					return a.followLogs(ctx, b, id, args[1:])
				}
				return a.printLogs(ctx, b, id, args[1:])
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

// ranActions calls fn for each selected action of v that ran.
func ranActions(v *control.Execution, only []string, fn func(ref control.ActionRef, act *control.Action) error) error {
	for _, st := range v.Stages {
		for i := range st.Actions {
			act := &st.Actions[i]
			if act.Status == "" || !selected(only, st.Name, act.Name) {
				continue
			}
			if err := fn(control.ActionRef{ExecutionID: v.ID, Stage: st.Name, Action: act.Name}, act); err != nil {
				return err
			}
		}
	}
	return nil
}

// printLogs prints the logs of an execution's actions, or of the one named
// STAGE/ACTION or ACTION in only.
func (a *app) printLogs(ctx context.Context, b control.Backend, id string, only []string) error {
	v, err := b.GetExecution(ctx, id)
	if err != nil {
		return err
	}
	return ranActions(v, only, func(ref control.ActionRef, act *control.Action) error {
		text, err := readLog(ctx, b, ref)
		if err != nil {
			return err
		}
		if a.json {
			if text != "" {
				lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
				a.printLogLines(ref, lines)
			}
			return nil
		}
		fmt.Fprintf(a.stdout, "==> %s/%s (%s) <==\n%s", ref.Stage, ref.Action, act.Status, text)
		return nil
	})
}

// logLine is one line of an action's log as `logs --json` prints it.
type logLine struct {
	Stage  string `json:"stage"`
	Action string `json:"action"`
	Line   string `json:"line"`
}

// printLogLines prints lines of an action's log: one JSON object each with
// --json, else each prefixed with the action.
func (a *app) printLogLines(ref control.ActionRef, lines []string) {
	p := newPrinter(a.stdout, a.json)
	for _, line := range lines {
		if a.json {
			p.object(logLine{Stage: ref.Stage, Action: ref.Action, Line: line})
		} else {
			p.line("[%s/%s] %s", ref.Stage, ref.Action, line)
		}
	}
}

// readLog reads an action's log as it is now, to its end.
func readLog(ctx context.Context, b control.Backend, ref control.ActionRef) (string, error) {
	var text strings.Builder
	var offset int64
	for {
		c, err := b.ReadLog(ctx, control.LogRequest{ActionRef: ref, Offset: offset})
		if err != nil {
			return "", err
		}
		text.WriteString(c.Text)
		if c.Text == "" || c.NextOffset == offset {
			return text.String(), nil
		}
		offset = c.NextOffset
	}
}

// followLogs prints new complete lines of every selected action's log as they
// are written, prefixed with the action, until the execution is final and every
// log is read to its end.
func (a *app) followLogs(ctx context.Context, b control.Backend, id string, only []string) error {
	offsets := map[control.ActionRef]int64{}
	for {
		v, err := b.GetExecution(ctx, id)
		if err != nil {
			return err
		}
		err = ranActions(v, only, func(ref control.ActionRef, _ *control.Action) error {
			c, err := b.ReadLog(ctx, control.LogRequest{ActionRef: ref, Offset: offsets[ref]})
			if err != nil {
				return err
			}
			lines, consumed := completeLines(c.Text)
			a.printLogLines(ref, lines)
			offsets[ref] = c.Offset + int64(consumed)
			return nil
		})
		if err != nil || v.Status.Final() {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// completeLines returns the complete lines of text and how many bytes they take:
// a line still being written waits for its end.
func completeLines(text string) ([]string, int) {
	end := strings.LastIndexByte(text, '\n')
	if end < 0 {
		return nil, 0
	}
	return strings.Split(text[:end], "\n"), end + 1
}

// lastLine returns the last non-empty line of text, cut to 160 characters.
func lastLine(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	line := strings.TrimSpace(lines[len(lines)-1])
	if len(line) > 160 {
		line = line[:160] + "…"
	}
	return line
}
