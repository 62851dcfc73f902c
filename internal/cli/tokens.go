package cli

import (
	"context"
	"fmt"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/access"
)

func (a *app) tokensCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke the API tokens `greenlight serve` accepts",
		Long: `Tokens authenticate calls to greenlight serve's API (Authorization: Bearer glt_...).
Each has a role: viewer (reads), approver (+ approve, reject), operator (+ start, stop,
retry, deployment continue/stop/rollback) or admin (+ tokens, audit log). A token is
printed once, when created; greenlight keeps only its SHA-256 hash in the state
directory. With --server (or GREENLIGHT_SERVER) and an admin token, the tokens are
the server's, and the server audits the change under the token's name.`,
	}
	cmd.AddCommand(a.tokensCreateCommand(), a.tokensListCommand(), a.tokensRevokeCommand())
	return cmd
}

func (a *app) tokensCreateCommand() *cobra.Command {
	var role, expires string
	cmd := &cobra.Command{
		Use:   "create NAME --role viewer|approver|operator|admin [--expires 90d]",
		Short: "Create a token and print it (once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd.Context(), func(ad adminSurface) error { return a.createToken(cmd.Context(), ad, args[0], role, expires) })
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "viewer, approver, operator or admin")
	cmd.Flags().StringVar(&expires, "expires", "", "lifetime, like 90d, 12h or 30m (default: never expires)")
	_ = cmd.MarkFlagRequired("role") // fails only for an undefined flag
	return cmd
}

func (a *app) tokensListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List tokens: name, role, status, created, expires (never the tokens themselves)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(cmd.Context(), func(ad adminSurface) error { return a.listTokens(cmd.Context(), ad) })
		},
	}
}

func (a *app) tokensRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a token: calls made with it are refused from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withAdmin(cmd.Context(), func(ad adminSurface) error { return a.revokeToken(cmd.Context(), ad, args[0]) })
		},
	}
}

func (a *app) createToken(ctx context.Context, ad adminSurface, name, roleName, expires string) error {
	role, err := access.ParseRole(roleName)
	if err != nil {
		return err
	}
	lifetime, err := parseLifetime(expires)
	if err != nil {
		return err
	}
	token, rec, err := ad.CreateToken(ctx, name, role, lifetime)
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	if a.json {
		p.object(struct {
			access.Token
			Secret string `json:"token"`
		}{rec, token})
		return nil
	}
	p.line("token %s (%s, %s) created. It is shown this once; keep it somewhere safe:", rec.Name, rec.Role, expiryText(rec))
	p.line("%s", token)
	return nil
}

func (a *app) listTokens(ctx context.Context, ad adminSurface) error {
	tokens, err := ad.Tokens(ctx)
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	now := time.Now()
	if !a.json && len(tokens) == 0 {
		p.line("no tokens; create one with: greenlight tokens create NAME --role viewer|approver|operator|admin")
	} else if !a.json {
		p.line("%-24s %-9s %-8s %-20s %s", "NAME", "ROLE", "STATUS", "CREATED", "EXPIRES")
	}
	for _, t := range tokens {
		if a.json {
			p.object(struct {
				access.Token
				Status access.TokenStatus `json:"status"`
			}{t, t.Status(now)})
			continue
		}
		p.line("%-24s %-9s %-8s %-20s %s", t.Name, t.Role, t.Status(now), t.Created.Local().Format("2006-01-02 15:04"), expiryText(t))
	}
	return nil
}

func (a *app) revokeToken(ctx context.Context, ad adminSurface, name string) error {
	t, err := ad.RevokeToken(ctx, name)
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	if a.json {
		p.object(t)
		return nil
	}
	p.line("token %s (%s) revoked", t.Name, t.Role)
	return nil
}

// localAudit records what a person did on this machine's state directory: the
// operating system user, not a token, did it.
func localAudit(verb access.Verb, target, msg string) access.AuditRecord {
	who := "local"
	if u, err := user.Current(); err == nil {
		who = "local:" + u.Username
	}
	return access.AuditRecord{Who: who, Action: verb, Target: target, RemoteAddr: "local", Result: access.ResultSucceeded, Message: msg}
}

func expiryText(t access.Token) string {
	if t.Expires.IsZero() {
		return "never expires"
	}
	return "expires " + t.Expires.Local().Format("2006-01-02 15:04")
}

// parseLifetime reads a token lifetime: a Go duration, or a number of days ("90d").
func parseLifetime(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n > 0 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: write a lifetime like 90d, 12h or 30m", s)
	}
	return d, nil
}
