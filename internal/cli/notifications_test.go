package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func TestNotificationsListsDeliveriesWithTheirOutcome(t *testing.T) {
	dir := t.TempDir()
	if out, err := greenlight(t, dir, "notifications"); err != nil || !strings.Contains(out, "no notifications sent yet") {
		t.Fatalf("empty: %v\n%s", err, out)
	}
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := store.Notifications{DB: db}
	rules := []*manifest.NotificationRule{{Name: "releases", DetailType: "FULL", Status: "ENABLED", EventTypeIDs: []string{"greenlight-alarm-state-changed"},
		Targets: []*manifest.NotificationTarget{{Type: "sns", SNS: &manifest.SNSTarget{ARN: "arn:aws:sns:us-east-1:123456789012:alarms"}}}}}
	n := notify.New(notify.Options{Rules: rules, Store: q, PollInterval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	n.Emit(event.Event{Seq: 1, Time: time.Now(), Kind: event.KindAlarm, Name: "error-rate", Status: "ALARM"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds, _ := q.RecentDeliveries(context.Background(), 1)
		if len(ds) == 1 && ds[0].Status == notify.StatusFailed || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	out, err := greenlight(t, dir, "notifications")
	want := "failed    greenlight-alarm-state-changed → sns arn:aws:sns:us-east-1:123456789012:alarms (releases), 1 attempt: SNS is not available locally"
	if err != nil || !strings.Contains(out, want) {
		t.Errorf("notifications: %v\n%s\nwant %q", err, out, want)
	}
	out, _ = greenlight(t, dir, "--json", "notifications")
	if !strings.Contains(out, `"status":"failed"`) || !strings.Contains(out, `"rule":"releases"`) {
		t.Errorf("--json:\n%s", out)
	}
}
