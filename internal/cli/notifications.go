package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/greenlight-ci/greenlight/internal/notify"
)

func (a *app) notificationsCommand() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "notifications",
		Short: "List recent notification deliveries (Slack, webhooks, SNS) with their outcome",
		Long: `Each delivery is one event sent to one target of a notification rule of
greenlight.yaml: pending (waiting for its next attempt), succeeded, or failed with
the reason (out of attempts, refused by the endpoint, or SNS, which only AWS
delivers). With --server (or GREENLIGHT_SERVER) the deliveries are that server's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withAdmin(cmd.Context(), func(ad adminSurface) error { return a.notifications(cmd.Context(), ad, limit) })
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many deliveries, newest first")
	return cmd
}

func (a *app) notifications(ctx context.Context, ad adminSurface, limit int) error {
	ds, err := ad.RecentDeliveries(ctx, limit)
	if err != nil {
		return err
	}
	p := newPrinter(a.stdout, a.json)
	if !a.json && len(ds) == 0 {
		p.line("no notifications sent yet (rules live under notifications: in greenlight.yaml)")
	}
	for _, d := range ds {
		if a.json {
			p.object(d)
			continue
		}
		p.line("%s %s %-9s %s → %s (%s)%s", mark(deliveryMark(d.Status)), d.Updated.Local().Format("2006-01-02 15:04:05"),
			d.Status, d.EventType, d.Target.String(), d.Rule, deliveryNote(d))
	}
	return nil
}

func deliveryMark(s notify.Status) string {
	switch s {
	case notify.StatusSucceeded:
		return "Succeeded"
	case notify.StatusFailed:
		return "Failed"
	}
	return "InProgress"
}

func deliveryNote(d notify.Delivery) string {
	note := fmt.Sprintf(", %d attempt", d.Attempts)
	if d.Attempts != 1 {
		note += "s"
	}
	if d.LastError != "" {
		note += ": " + d.LastError
	}
	if d.Status == notify.StatusPending && !d.NextAttempt.IsZero() {
		note += ", next at " + d.NextAttempt.Local().Format("15:04:05")
	}
	return note
}
