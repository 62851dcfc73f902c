package cli

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/notify"
)

// TestAdminVerbsPrintTheSameOnBothBackends: audit, tokens and notifications
// print the same on the state directory and through a server over it (with an
// admin token); a token created or revoked on one is seen by the other; a
// viewer token is refused the audit log and the tokens with the role it lacks.
func TestAdminVerbsPrintTheSameOnBothBackends(t *testing.T) {
	tw := newTwin(t)
	admin, viewer := tw.newToken(t, "root", access.RoleAdmin), tw.newToken(t, "reader", access.RoleViewer)
	tw.enqueueDeliveries(t)

	createRevokeOnEach(t, tw, admin)
	for _, args := range [][]string{
		{"tokens", "list"}, {"--json", "tokens", "list"},
		{"audit"}, {"--json", "audit"}, {"audit", "--who", "root"}, {"audit", "--action", "tokens.create", "--since", "1h", "--limit", "1"},
		{"audit", "--result", "forbidden"},
		{"notifications"}, {"--json", "notifications"}, {"notifications", "--limit", "1"},
		{"tokens", "revoke", "nobody"}, {"tokens", "create", "reader", "--role", "admin"},
		{"tokens", "create", "x", "--role", "root"}, {"tokens", "create", "x", "--role", "viewer", "--expires", "soon"},
	} {
		same(t, args, func(t *testing.T, args ...string) (string, string) { return tw.bothAs(t, admin, args...) })
	}
	out, err := tw.onServer(t, admin, "audit", "--who", "root", "--action", "tokens.create")
	if err != nil || !strings.Contains(out, " root (admin) tokens.create ci-bot from 127.0.0.1:") || !strings.Contains(out, ": succeeded: role operator") {
		t.Errorf("the server's audit of its token creation: %v\n%s", err, out)
	}

	for _, args := range [][]string{{"audit"}, {"tokens", "list"}, {"tokens", "revoke", "root"}} {
		out, err := tw.onServer(t, viewer, args...)
		if err == nil || !strings.HasPrefix(err.Error(), "forbidden: ") || strings.Count(err.Error(), "forbidden") != 1 ||
			!strings.HasSuffix(err.Error(), " needs the admin role; token reader is viewer") {
			t.Errorf("viewer: greenlight %s: %v, want forbidden: ... needs the admin role; token reader is viewer, forbidden said once\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := tw.onServer(t, viewer, "notifications", "--limit", "1"); err != nil || !strings.Contains(out, "pending") {
		t.Errorf("viewer reading deliveries: %v\n%s", err, out)
	}
	if _, err := tw.onServer(t, "glt_nope", "audit"); err == nil || err.Error() != "unauthenticated: unknown token (--token or GREENLIGHT_TOKEN)" {
		t.Errorf("unknown token: %v", err)
	}
	// The refused revocation (reads are not audited) is on the server's audit
	// log, which the directory shares.
	out, _ = greenlight(t, tw.stateDir, "-f", tw.def, "audit", "--result", "forbidden", "--who", "reader")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "reader (viewer) tokens.revoke root from 127.0.0.1:") ||
		!strings.Contains(out, ": forbidden: tokens.revoke needs the admin role; token reader is viewer\n") || strings.Count(out, "forbidden") != 1 {
		t.Errorf("forbidden calls audited, forbidden said once:\n%s", out)
	}
	// A record stored before the audit log dropped the repeated result prints
	// it once too.
	old := access.AuditRecord{Time: time.Now().UTC(), Who: "old", Role: access.RoleViewer, Action: access.VerbRevokeToken, Target: "root",
		RemoteAddr: "127.0.0.1:1", Result: access.ResultForbidden, Message: "forbidden: tokens.revoke needs the admin role; token old is viewer"}
	if err := tw.access.Store.AppendAudit(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	out, _ = tw.onServer(t, admin, "audit", "--who", "old")
	if !strings.HasSuffix(out, " from 127.0.0.1:1: forbidden: tokens.revoke needs the admin role; token old is viewer\n") {
		t.Errorf("an old record, forbidden said once:\n%s", out)
	}
}

// createRevokeOnEach creates and revokes token ci-bot on the state directory,
// then again through the server: the same lines, but for the token itself and
// the expiry's minute. --json prints the same fields.
func createRevokeOnEach(t *testing.T, tw *twin, admin string) {
	t.Helper()
	secrets := regexp.MustCompile(`glt_\S+`)
	stamps := regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T][0-9:.]+(Z|[+-]\d{2}:\d{2})?`)
	var created, revoked, asJSON []string
	for _, remote := range []bool{false, true} {
		run := func(args ...string) string {
			on := func() (string, error) { return greenlight(t, tw.stateDir, args...) }
			if remote {
				on = func() (string, error) { return tw.onServer(t, admin, args...) }
			}
			out, err := on()
			if err != nil {
				t.Fatalf("greenlight %s (server %v): %v\n%s", strings.Join(args, " "), remote, err, out)
			}
			return out
		}
		created = append(created, stamps.ReplaceAllString(secrets.ReplaceAllString(run("tokens", "create", "ci-bot", "--role", "operator", "--expires", "90d"), "TOKEN"), "TIME"))
		revoked = append(revoked, run("tokens", "revoke", "ci-bot"))
		var fields map[string]any
		if err := json.Unmarshal([]byte(run("--json", "tokens", "create", "ci-bot", "--role", "viewer")), &fields); err != nil {
			t.Fatal(err)
		}
		asJSON = append(asJSON, strings.Join(slices.Sorted(maps.Keys(fields)), ",")+" "+fields["name"].(string)+" "+fields["role"].(string))
		run("tokens", "revoke", "ci-bot")
	}
	for what, outs := range map[string][]string{"create": created, "revoke": revoked, "create --json": asJSON} {
		if outs[0] != outs[1] {
			t.Errorf("%s differs:\n--- on the state directory:\n%s\n--- through the server:\n%s", what, outs[0], outs[1])
		}
	}
	if !strings.HasPrefix(created[0], "token ci-bot (operator, expires TIME) created.") || asJSON[0] != "created,id,name,role,token ci-bot viewer" {
		t.Errorf("create printed %q, --json %q", created[0], asJSON[0])
	}
}

// onServer runs a command through the twin's server with token.
func (tw *twin) onServer(t *testing.T, token string, args ...string) (string, error) {
	t.Helper()
	return greenlight(t, tw.stateDir, append([]string{"-f", tw.def, "--server", tw.url, "--token", token}, args...)...)
}

func (tw *twin) newToken(t *testing.T, name string, role access.Role) string {
	t.Helper()
	token, _, err := tw.access.Create(context.Background(), name, role, 0)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// enqueueDeliveries stores two deliveries: one failed for good, one waiting
// for its next attempt.
func (tw *twin) enqueueDeliveries(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	slack := manifest.NotificationTarget{Type: "slack", Slack: &manifest.SlackTarget{URL: &manifest.SecretValue{Env: "SLACK_URL"}}}
	hook := manifest.NotificationTarget{Type: "webhook", Webhook: &manifest.WebhookTarget{URL: "http://127.0.0.1:1/hook"}}
	ds := []notify.Delivery{
		{EventSeq: 1, Event: event.Event{Seq: 1, Time: now, Kind: event.KindAlarm, Name: "error-rate", Status: "ALARM"},
			Rule: "alarms", DetailType: "BASIC", EventType: "greenlight-alarm-state-changed", Target: slack,
			Status: notify.StatusPending, NextAttempt: now, Created: now, Updated: now},
		{EventSeq: 2, Event: event.Event{Seq: 2, Time: now, Kind: event.KindAlarm, Name: "error-rate", Status: "OK"},
			Rule: "alarms", DetailType: "FULL", EventType: "greenlight-alarm-state-changed", TargetIndex: 1, Target: hook,
			Status: notify.StatusPending, NextAttempt: now, Created: now, Updated: now},
	}
	if err := tw.deliveries.Enqueue(ctx, ds); err != nil {
		t.Fatal(err)
	}
	due, err := tw.deliveries.ClaimDue(ctx, now.Add(time.Second), now.Add(time.Minute), 2)
	if err != nil || len(due) != 2 {
		t.Fatalf("claim: %+v %v", due, err)
	}
	due[0].Status, due[0].Attempts, due[0].LastError, due[0].LastStatus = notify.StatusFailed, 5, "the endpoint answered 500", 500
	due[1].Status, due[1].Attempts, due[1].LastError, due[1].NextAttempt = notify.StatusPending, 1, "connection refused", now.Add(time.Hour)
	for _, d := range due {
		if err := tw.deliveries.SaveAttempt(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}
