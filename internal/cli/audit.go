package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/access"
)

func (a *app) auditCommand() *cobra.Command {
	var q access.AuditQuery
	var who, action, result string
	var since time.Duration
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log: who did what, as which role, to what, from where, and how it ended",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q.Who, q.Action, q.Result = who, access.Verb(action), access.Result(result)
			if since > 0 {
				q.Since = time.Now().Add(-since)
			}
			return a.withAccess(cmd.Context(), func(s *access.Service) error { return a.audit(cmd.Context(), s, q) })
		},
	}
	f := cmd.Flags()
	f.StringVar(&who, "who", "", "only calls made with this token name")
	f.StringVar(&action, "action", "", "only this action (e.g. approvals.approve, deployments.rollback)")
	f.StringVar(&result, "result", "", "only this result: succeeded, failed, forbidden, unauthenticated")
	f.DurationVar(&since, "since", 0, "only records newer than this (e.g. 24h)")
	f.IntVar(&q.Limit, "limit", 50, "at most this many records, newest first")
	return cmd
}

func (a *app) audit(ctx context.Context, s *access.Service, q access.AuditQuery) error {
	records, err := s.Audit(ctx, q)
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	for _, r := range records {
		if a.json {
			p.object(r)
			continue
		}
		who := r.Who
		if who == "" {
			who = "(no token)"
		}
		if r.Role != "" {
			who += " (" + string(r.Role) + ")"
		}
		line := r.Time.Local().Format("2006-01-02 15:04:05") + " " + mark(auditMark(r.Result)) + " " + who + " " + string(r.Action)
		if r.Target != "" {
			line += " " + r.Target
		}
		line += " from " + r.RemoteAddr + ": " + string(r.Result)
		if r.Message != "" {
			line += ": " + r.Message
		}
		p.line("%s", line)
	}
	return nil
}

// auditMark maps a result to the status names mark() knows.
func auditMark(r access.Result) string {
	if r == access.ResultSucceeded {
		return "Succeeded"
	}
	return "Failed"
}
