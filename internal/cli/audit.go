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
		Long: `Show the audit log: who did what, as which role, to what, from where, and how it ended.
Without --server it reads this machine's state directory; with --server (or
GREENLIGHT_SERVER) it asks that server, which needs an admin token.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q.Who, q.Action, q.Result = who, access.Verb(action), access.Result(result)
			if since > 0 {
				q.Since = time.Now().Add(-since)
			}
			return a.withAdmin(cmd.Context(), func(ad adminSurface) error { return a.audit(cmd.Context(), ad, q) })
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

func (a *app) audit(ctx context.Context, ad adminSurface, q access.AuditQuery) error {
	records, err := ad.Audit(ctx, q)
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
		if note := r.Note(); note != "" {
			line += ": " + note
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
