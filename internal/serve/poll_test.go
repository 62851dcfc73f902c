package serve_test

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/serve"
)

// Without a webhook secret, polling starts one execution per new head of the
// source branch, and none for a head it started one for, even after a restart.
func TestPollingStartsOneExecutionPerNewHead(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", "")
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	defs, err := serve.Load([]string{r.path()}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, site, db := newServer(t, defs, time.Hour)
	t.Cleanup(func() { down(t, site) })
	defer srv.Backend().Close()
	p := &serve.Poller{Definitions: defs, Starter: srv.Backend(), Seen: db, Logger: discard()}
	ctx := context.Background()

	first := p.Poll(ctx)
	if len(first) != 1 {
		t.Fatalf("the first poll started %v, want one execution of the head", first)
	}
	if again := p.Poll(ctx); len(again) != 0 {
		t.Errorf("a poll without a new commit started %v", again)
	}
	head := r.commit("README", "v2", "new head")
	second := p.Poll(ctx)
	if len(second) != 1 {
		t.Fatalf("a poll after a commit started %v, want one", second)
	}
	v, err := srv.Backend().GetExecution(ctx, second[0])
	if err != nil {
		t.Fatal(err)
	}
	if v.RequestedRevision != head || v.Trigger != serve.TriggerPoll || v.Ref != "refs/heads/main" {
		t.Errorf("execution at %q (%s) by %s, want %s (refs/heads/main) by %s", v.RequestedRevision, v.Ref, v.Trigger, head, serve.TriggerPoll)
	}
	// A new poller (a restarted server) knows the heads from the executions.
	p2 := &serve.Poller{Definitions: defs, Starter: srv.Backend(), Seen: db, Logger: discard()}
	if got := p2.Poll(ctx); len(got) != 0 {
		t.Errorf("a restarted poller started %v", got)
	}
}

// A pipeline with a webhook secret is started by deliveries, not polled.
func TestPollingSkipsPipelinesWithAWebhookSecret(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	defs, err := serve.Load([]string{r.path()}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := &serve.Poller{Definitions: defs, Starter: nil, Seen: nil, Logger: discard()}
	if got := p.Poll(context.Background()); len(got) != 0 {
		t.Errorf("started %v", got)
	}
}

// A stop releases the executions the server drives; the next server resumes
// them.
func TestStopReleasesExecutionsAndTheNextStartResumesThem(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	defs, err := serve.Load([]string{r.path()}, "")
	if err != nil {
		t.Fatal(err)
	}
	srv, site, _ := newServer(t, defs, time.Hour)
	t.Cleanup(func() { down(t, site) })
	id, err := srv.Backend().StartExecution(context.Background(), control.StartRequest{Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	runAndStop(t, srv, func() {})
	v, err := srv.Backend().GetExecution(context.Background(), id)
	if err != nil || v.Status != control.StatusInProgress || v.OwnerPID != 0 {
		t.Fatalf("after a stop: %+v, %v; want InProgress and released (no owner)", v, err)
	}

	next, _, _ := newServer(t, defs, time.Hour)
	runAndStop(t, next, func() {
		waitFor(t, "the execution to be driven again", func() bool {
			v, err := next.Backend().GetExecution(context.Background(), id)
			return err == nil && v.Status == control.StatusInProgress && v.OwnerPID == os.Getpid()
		})
	})
}

// runAndStop runs srv on loopback, calls during, stops it and checks Run
// returned nil.
func runAndStop(t *testing.T, srv *serve.Server, during func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln, srv.Handler(), nil) }()
	during()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after a stop: %v", err)
	}
}
