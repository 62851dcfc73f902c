package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/notify"
	"github.com/greenlight-ci/greenlight/internal/notify/notifyhttp"
	"github.com/greenlight-ci/greenlight/internal/pipeline"
	"github.com/greenlight-ci/greenlight/internal/provider"
	"github.com/greenlight-ci/greenlight/internal/store"
	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// rules parses notification rules as greenlight.yaml holds them.
func rules(t *testing.T, yaml string) []*manifest.NotificationRule {
	t.Helper()
	src := `version: 1
pipeline:
  name: orders
  stages:
    - {name: Source, actions: [{name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}]}
    - {name: Approval, actions: [{name: Manual, category: Approval, provider: Manual}]}
notifications:
` + yaml
	def, err := manifest.ParseDefinition("greenlight.yaml", []byte(src))
	if err != nil {
		t.Fatalf("rules:\n%v", err)
	}
	return def.Notifications
}

func openStore(t *testing.T, path string) (*store.DB, store.Notifications) {
	t.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, store.Notifications{DB: db}
}

func newNotifier(q store.Notifications, rs []*manifest.NotificationRule, tune func(*notify.Options)) *notify.Notifier {
	o := notify.Options{
		Rules: rs, Store: q, Poster: notifyhttp.New(), Secrets: provider.Secrets{Def: &manifest.Definition{}}, Lookup: q,
		BaseURL: "http://greenlight.test:8080", PollInterval: 20 * time.Millisecond, BaseBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, AttemptTimeout: 2 * time.Second,
	}
	if tune != nil {
		tune(&o)
	}
	return notify.New(o)
}

// run starts the dispatcher and stops it when the test ends.
func run(t *testing.T, n *notify.Notifier) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = n.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// endpoint is a local HTTP server standing in for Slack or a webhook receiver.
type endpoint struct {
	*httptest.Server
	mu       sync.Mutex
	requests []*received
}

type received struct {
	header http.Header
	body   []byte
}

func newEndpoint(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *endpoint {
	e := &endpoint{}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.requests = append(e.requests, &received{r.Header.Clone(), body})
		n := len(e.requests)
		e.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) got() []*received {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*received(nil), e.requests...)
}

func ok(int, http.ResponseWriter, *http.Request) {}

// waitFor polls the queue until every delivery is settled (not pending).
func waitFor(t *testing.T, q store.Notifications, n int) []notify.Delivery {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds, err := q.RecentDeliveries(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		settled := 0
		for _, d := range ds {
			if d.Status != notify.StatusPending {
				settled++
			}
		}
		if len(ds) == n && settled == n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries not settled: %+v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// execution records an execution the way the engine does, with the commit its
// source action fetched.
func execution(t *testing.T, db *store.DB, id string, started time.Time) {
	t.Helper()
	err := db.Pipelines().Update(context.Background(), func(tx pipeline.Tx) error {
		return tx.InsertExecution(&pipeline.ExecutionRecord{
			ID: id, Pipeline: "orders", Mode: "SUPERSEDED", Status: pipeline.StatusInProgress, Trigger: "WebhookV2", TriggerDetail: "push to main",
			SourceRevision: map[string]string{"commit_id": "0d1a26e67d8f5eaf", "message": "Fix rounding in totals\n\nHalf-even.", "author": "Grace Hopper", "branch": "main"},
			StartedAt:      started, UpdatedAt: started,
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSlackReceivesBlockKitMessages(t *testing.T) {
	slack := newEndpoint(t, ok)
	t.Setenv("GL_TEST_SLACK_URL", slack.URL+"/services/T000/B000/XXXX")
	db, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	started := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	execution(t, db, "e-1", started)
	n := newNotifier(q, rules(t, `  - name: releases
    detail_type: FULL
    event_type_ids: [codepipeline-pipeline-pipeline-execution-failed, codepipeline-pipeline-manual-approval-needed]
    targets: [{slack: {url: {env: GL_TEST_SLACK_URL}}}]
`), nil)
	run(t, n)
	n.Emit(event.Event{Seq: 7, Time: started.Add(3*time.Minute + 12*time.Second), Kind: event.KindExecution, Status: "Failed",
		Pipeline: "orders", ExecutionID: "e-1", Message: "Build/Build failed: 2 tests failed"})
	n.Emit(event.Event{Seq: 8, Time: started.Add(time.Minute), Kind: event.KindApproval, Status: "Needed", Pipeline: "orders",
		ExecutionID: "e-1", Stage: "Approval", Action: "Manual", Message: "Review staging",
		Data: map[string]any{"custom_data": "Review staging", "external_entity_link": "http://127.0.0.1:8090"}})
	n.Emit(event.Event{Seq: 9, Kind: event.KindExecution, Status: "Succeeded", Pipeline: "orders", ExecutionID: "e-1"}) // no rule

	ds := waitFor(t, q, 2)
	for _, d := range ds {
		if d.Status != notify.StatusSucceeded || d.Attempts != 1 || d.LastStatus != 200 {
			t.Errorf("delivery = %+v", d)
		}
	}
	got := slack.got()
	if len(got) != 2 {
		t.Fatalf("slack got %d messages", len(got))
	}
	failed, approval := blocksText(t, got[0].body), blocksText(t, got[1].body) // sent side by side: either order
	if strings.Contains(failed, "approval needed") {
		failed, approval = approval, failed
	}
	if got[0].header.Get("Content-Type") != "application/json" {
		t.Errorf("content type %q", got[0].header.Get("Content-Type"))
	}
	for _, want := range []string{
		":x: orders: pipeline execution failed", "*Pipeline*\norders", "*Status*\nFAILED",
		"*Revision*\n`0d1a26e` Fix rounding in totals — Grace Hopper (main)", "*Duration*\n3m12s",
		"Build/Build failed: 2 tests failed", "http://greenlight.test:8080/pipelines/orders/executions/e-1",
		"codepipeline-pipeline-pipeline-execution-failed",
	} {
		if !strings.Contains(failed, want) {
			t.Errorf("failure message lacks %q:\n%s", want, failed)
		}
	}
	for _, want := range []string{":raised_hand: orders: approval needed at Approval/Manual", "*Status*\nNEEDED", "Review staging",
		"Review: http://127.0.0.1:8090", "Review and approve", "/pipelines/orders/executions/e-1#approval"} {
		if !strings.Contains(approval, want) {
			t.Errorf("approval message lacks %q:\n%s", want, approval)
		}
	}
}

// blocksText flattens a Slack payload's texts and URLs, checking its shape.
func blocksText(t *testing.T, body []byte) string {
	t.Helper()
	var msg struct {
		Text   string           `json:"text"`
		Blocks []map[string]any `json:"blocks"`
	}
	if err := json.Unmarshal(body, &msg); err != nil || msg.Text == "" || len(msg.Blocks) < 3 || msg.Blocks[0]["type"] != "header" {
		t.Fatalf("not a Block Kit message (%v):\n%s", err, body)
	}
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, k := range []string{"text", "url"} {
				if s, ok := v[k].(string); ok {
					b.WriteString(s + "\n")
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var raw any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	walk(raw)
	return b.String()
}

func TestWebhookRetriesAfter500AndIsSigned(t *testing.T) {
	hook := newEndpoint(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	t.Setenv("GL_TEST_HOOK_SECRET", "hook-secret")
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, rules(t, `  - name: hooks
    detail_type: BASIC
    event_type_ids: [greenlight-deployment-rolled-back]
    targets: [{webhook: {url: "`+hook.URL+`/greenlight", secret: {env: GL_TEST_HOOK_SECRET}}}]
`), nil)
	run(t, n)
	n.Emit(event.Event{Seq: 3, Time: time.Now(), Kind: event.KindDeployment, Status: "Stopped", DeploymentID: "d-9",
		Group: "orders-service/production", Message: "alarm orders-error-rate", Data: map[string]any{"rolled_back_by": "d-10"}})
	d := waitFor(t, q, 1)[0]
	if d.Status != notify.StatusSucceeded || d.Attempts != 3 || d.EventType != "greenlight-deployment-rolled-back" {
		t.Fatalf("delivery = %+v", d)
	}
	got := hook.got()
	if len(got) != 3 {
		t.Fatalf("endpoint got %d requests", len(got))
	}
	for _, r := range got {
		if string(r.body) != string(got[0].body) || r.header.Get(notify.HeaderDelivery) != got[0].header.Get(notify.HeaderDelivery) {
			t.Error("a retry differs from the first attempt")
		}
		if sig := r.header.Get(notify.HeaderSignature); sig != notify.Sign([]byte("hook-secret"), r.body) {
			t.Errorf("signature %q does not match the body", sig)
		}
	}
	var msg notify.Notification
	if err := json.Unmarshal(got[0].body, &msg); err != nil || msg.DetailType != notify.DetailDeployment || msg.Detail["state"] != "STOP" ||
		msg.Detail["deploymentId"] != "d-9" || len(msg.AdditionalAttributes) != 0 || msg.NotificationRuleArn != "arn:aws:codestar-notifications:local:000000000000:notificationrule/hooks" {
		t.Errorf("BASIC body = %s (%v)", got[0].body, err)
	}
	if ev := got[0].header.Get(notify.HeaderEvent); ev != "greenlight-deployment-rolled-back" {
		t.Errorf("event header %q", ev)
	}
}

// A target that never answers costs each attempt its timeout, runs beside the
// others, and ends failed; Emit does not wait for any of it.
func TestDeadEndpointNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	dead := newEndpoint(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	healthy := newEndpoint(t, ok)
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, rules(t, `  - name: both
    detail_type: FULL
    event_type_ids: [codepipeline-pipeline-pipeline-execution-started]
    targets: [{webhook: {url: "`+dead.URL+`"}}, {webhook: {url: "`+healthy.URL+`"}}]
`), func(o *notify.Options) { o.AttemptTimeout, o.MaxAttempts = 300*time.Millisecond, 2 })
	run(t, n)
	start := time.Now()
	for i := range 5 {
		n.Emit(event.Event{Seq: int64(i + 1), Time: time.Now(), Kind: event.KindExecution, Status: "InProgress", Pipeline: "orders", ExecutionID: fmt.Sprint("e-", i)})
	}
	if took := time.Since(start); took > 300*time.Millisecond {
		t.Errorf("5 Emits took %s: Emit must not wait for endpoints", took)
	}
	ds := waitFor(t, q, 10)
	for _, d := range ds {
		toDead := d.Target.Webhook.URL == dead.URL
		switch {
		case toDead && (d.Status != notify.StatusFailed || d.Attempts != 2 || d.LastError != "gave up after 2 attempts: no answer within 300ms"):
			t.Errorf("dead endpoint delivery = %+v", d)
		case !toDead && (d.Status != notify.StatusSucceeded || d.Attempts != 1):
			t.Errorf("healthy endpoint delivery = %+v", d)
		}
	}
}

func TestRefusedUndeliverableAndMaskedFailures(t *testing.T) {
	gone := newEndpoint(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "no_service")
	})
	closed := testnet.FreeAddr(t) // nothing listens: connection refused
	t.Setenv("GL_TEST_SLACK_URL", "http://"+closed+"/services/T000/B000/SECRETPART")
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, rules(t, `  - name: all
    detail_type: BASIC
    event_type_ids: [greenlight-alarm-state-changed]
    targets:
      - {slack: {url: {env: GL_TEST_SLACK_URL}}}
      - {webhook: {url: "`+gone.URL+`"}}
      - {sns: {arn: "arn:aws:sns:us-east-1:123456789012:alarms"}}
      - {slack: {url: {env: GL_TEST_UNSET_SLACK_URL}}}
`), func(o *notify.Options) { o.MaxAttempts = 2 })
	run(t, n)
	n.Emit(event.Event{Seq: 1, Time: time.Now(), Kind: event.KindAlarm, Name: "orders-error-rate", Status: "ALARM", Message: "3 of 3 datapoints above 5"})
	byTarget := map[int]notify.Delivery{}
	for _, d := range waitFor(t, q, 4) {
		byTarget[d.TargetIndex] = d
	}
	if d := byTarget[0]; d.Status != notify.StatusFailed || d.Attempts != 2 || strings.Contains(d.LastError, "SECRETPART") || !strings.Contains(d.LastError, "the Slack webhook URL") {
		t.Errorf("unreachable Slack = %+v", d)
	}
	if d := byTarget[1]; d.Status != notify.StatusFailed || d.Attempts != 1 || d.LastStatus != 404 || d.LastError != "answered 404 no_service" {
		t.Errorf("404 = %+v", d)
	}
	if d := byTarget[2]; d.Status != notify.StatusFailed || d.Attempts != 1 || d.LastError != "SNS is not available locally: on AWS, CodeStar Notifications publishes to arn:aws:sns:us-east-1:123456789012:alarms" {
		t.Errorf("SNS = %+v", d)
	}
	if d := byTarget[3]; d.Status != notify.StatusFailed || !strings.Contains(d.LastError, "GL_TEST_UNSET_SLACK_URL (mapped at greenlight.yaml:15:23) is not set") {
		t.Errorf("unset Slack URL, not saying where greenlight.yaml maps it = %+v", d)
	}
	counts, err := q.DeliveryCounts(context.Background())
	if err != nil || counts[notify.StatusFailed] != 4 || counts[notify.StatusPending] != 0 {
		t.Errorf("counts = %v, %v", counts, err)
	}
}

// Deliveries queued while nothing can send them are sent by the next process.
func TestQueueSurvivesARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	hook := newEndpoint(t, ok)
	rs := rules(t, `  - name: hooks
    detail_type: FULL
    event_type_ids: [codepipeline-pipeline-stage-execution-failed]
    targets: [{webhook: {url: "`+hook.URL+`"}}]
`)
	db, q := openStore(t, path)
	first := newNotifier(q, rs, nil) // never Run: the process stops before sending
	first.Emit(event.Event{Seq: 4, Time: time.Now(), Kind: event.KindStage, Status: "Failed", Pipeline: "orders", ExecutionID: "e-1", Stage: "Test", Message: "UnitTests failed"})
	db.Close()

	_, q2 := openStore(t, path)
	run(t, newNotifier(q2, rs, nil))
	d := waitFor(t, q2, 1)[0]
	if d.Status != notify.StatusSucceeded || len(hook.got()) != 1 {
		t.Fatalf("after restart: %+v, endpoint got %d", d, len(hook.got()))
	}
	var msg notify.Notification
	if err := json.Unmarshal(hook.got()[0].body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.Detail["stage"] != "Test" || msg.AdditionalAttributes["failedStage"] != "Test" || msg.AdditionalAttributes["message"] != "UnitTests failed" {
		t.Errorf("FULL stage failure = %s", hook.got()[0].body)
	}
}

// Follow queues what any process stored in the event log, once, from where it
// stopped; history from before the first start is not notified.
func TestFollowTheEventLog(t *testing.T) {
	hook := newEndpoint(t, ok)
	db, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	ctx := context.Background()
	appendEvent := func(status string) {
		if _, err := db.AppendEvent(ctx, event.Event{Time: time.Now(), Kind: event.KindDeployment, Status: status, DeploymentID: "d-1", Group: "orders/production"}); err != nil {
			t.Fatal(err)
		}
	}
	appendEvent("InProgress") // before the notifier ever ran
	n := newNotifier(q, rules(t, `  - name: deploys
    detail_type: BASIC
    event_type_ids: [codedeploy-application-deployment-started, codedeploy-application-deployment-succeeded]
    targets: [{webhook: {url: "`+hook.URL+`"}}]
`), nil)
	follow := func() {
		fctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_ = n.Follow(fctx, q)
	}
	follow()
	appendEvent("InProgress")
	appendEvent("Baking") // no id
	appendEvent("Succeeded")
	follow()
	follow() // again: nothing new
	run(t, n)
	ds := waitFor(t, q, 2)
	if ds[0].Event.Status != "Succeeded" || ds[1].Event.Status != "InProgress" || len(hook.got()) != 2 {
		t.Errorf("deliveries = %+v", ds)
	}
	// Queuing a stored event again adds nothing.
	if _, err := n.Enqueue(ctx, ds[0].Event); err != nil {
		t.Fatal(err)
	}
	if again, _ := q.RecentDeliveries(ctx, 10); len(again) != 2 {
		t.Errorf("%d deliveries after queuing an event twice", len(again))
	}
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	base, max := time.Second, 10*time.Second
	for _, c := range []struct {
		attempt  int
		lo, hi   time.Duration
		rnd      float64
		expected time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second, 0, 500 * time.Millisecond},
		{2, time.Second, 2 * time.Second, 0.5, 1500 * time.Millisecond},
		{3, 2 * time.Second, 4 * time.Second, 0.999, 0},
		{10, 5 * time.Second, 10 * time.Second, 0, 5 * time.Second},
		{200, 5 * time.Second, 10 * time.Second, 0.999, 0},
	} {
		got := notify.Backoff(c.attempt, base, max, c.rnd)
		if got < c.lo || got >= c.hi || (c.expected != 0 && got != c.expected) {
			t.Errorf("Backoff(%d, rnd %v) = %s, want in [%s, %s)", c.attempt, c.rnd, got, c.lo, c.hi)
		}
	}
}

// Slack answering 500, then 429 with Retry-After: the delivery waits as told,
// then succeeds on the third attempt.
func TestSlackRetriesAfter500And429(t *testing.T) {
	var times []time.Time
	var mu sync.Mutex
	slack := newEndpoint(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		times = append(times, time.Now())
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, "rate_limited")
		}
	})
	t.Setenv("GL_TEST_SLACK_URL", slack.URL+"/services/T/B/X")
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, rules(t, `  - name: slack
    detail_type: BASIC
    event_type_ids: [codepipeline-pipeline-pipeline-execution-succeeded]
    targets: [{slack: {url: {env: GL_TEST_SLACK_URL}}}]
`), func(o *notify.Options) { o.MaxBackoff = 5 * time.Second })
	run(t, n)
	n.Emit(event.Event{Seq: 1, Time: time.Now(), Kind: event.KindExecution, Status: "Succeeded", Pipeline: "orders", ExecutionID: "e-1"})
	d := waitFor(t, q, 1)[0]
	if d.Status != notify.StatusSucceeded || d.Attempts != 3 {
		t.Fatalf("delivery = %+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := times[2].Sub(times[1]); gap < time.Second {
		t.Errorf("retried %s after a 429 with Retry-After: 1", gap)
	}
	if bodies := slack.got(); string(bodies[0].body) != string(bodies[2].body) {
		t.Error("the retry sent another message")
	}
}

// definitionOf parses a definition of pipeline name with one application
// (name) and deployment group (production), a secrets section and rules.
func definitionOf(t *testing.T, name, port, secrets, rulesYAML string) *manifest.Definition {
	t.Helper()
	src := `version: 1
pipeline:
  name: ` + name + `
  stages:
    - {name: Source, actions: [{name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}]}
    - {name: Approval, actions: [{name: Manual, category: Approval, provider: Manual}]}
services:
  ` + name + `-production:
    listeners: {production: "127.0.0.1:` + port + `"}
    process: {command: [./server]}
applications:
  ` + name + `:
    deployment_groups:
      production: {service: ` + name + `-production}
` + secrets + `
notifications:
` + rulesYAML
	def, err := manifest.ParseDefinition(filepath.Join(t.TempDir(), "greenlight.yaml"), []byte(src))
	if err != nil {
		t.Fatalf("definition %s:\n%v", name, err)
	}
	return def
}

// With two definitions served, each one's rule (both named releases) hears only
// its own pipeline's events and its own deployment group's, and signs with the
// secret its own definition maps.
func TestRulesBelongToTheirDefinition(t *testing.T) {
	ordersHook, billingHook := newEndpoint(t, ok), newEndpoint(t, ok)
	t.Setenv("GL_TEST_BILLING_SIGNING", "billing signing secret")
	rule := func(url, secret string) string {
		return `  - name: releases
    detail_type: BASIC
    event_type_ids: [codepipeline-pipeline-pipeline-execution-succeeded, codedeploy-application-deployment-succeeded]
    targets: [{webhook: {url: "` + url + `"` + secret + `}}]
`
	}
	orders := definitionOf(t, "orders", "7301", "", rule(ordersHook.URL, ""))
	billing := definitionOf(t, "billing", "7302", "secrets:\n  secrets_manager:\n    signing: {env: GL_TEST_BILLING_SIGNING}\n",
		rule(billingHook.URL, ", secret: {secrets_manager: signing}"))
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, nil, func(o *notify.Options) {
		o.Secrets = nil // each set reads its own
		o.RuleSets = []notify.RuleSet{
			notify.RuleSetOf(orders, provider.Secrets{Def: orders}), notify.RuleSetOf(billing, provider.Secrets{Def: billing}),
		}
	})
	run(t, n)
	now := time.Now()
	for i, e := range []event.Event{
		{Kind: event.KindExecution, Status: "Succeeded", Pipeline: "orders", ExecutionID: "e-orders"},
		{Kind: event.KindExecution, Status: "Succeeded", Pipeline: "billing", ExecutionID: "e-billing"},
		{Kind: event.KindDeployment, Status: "Succeeded", DeploymentID: "d-orders", Group: "orders/production"},
		{Kind: event.KindDeployment, Status: "Succeeded", DeploymentID: "d-billing", Group: "billing/production"},
		{Kind: event.KindDeployment, Status: "Succeeded", DeploymentID: "d-other", Group: "inventory/production"},
		{Kind: event.KindExecution, Status: "Succeeded", Pipeline: "inventory", ExecutionID: "e-inventory"},
	} {
		e.Seq, e.Time = int64(i+1), now
		n.Emit(e)
	}
	waitFor(t, q, 4)
	for _, c := range []struct {
		hook *endpoint
		want []string
		sig  string
	}{
		{ordersHook, []string{"e-orders", "d-orders"}, ""},
		{billingHook, []string{"e-billing", "d-billing"}, "billing signing secret"},
	} {
		var ids []string
		for _, r := range c.hook.got() {
			var msg notify.Notification
			if err := json.Unmarshal(r.body, &msg); err != nil {
				t.Fatal(err)
			}
			id, _ := msg.Detail["execution-id"].(string)
			if id == "" {
				id, _ = msg.Detail["deploymentId"].(string)
			}
			ids = append(ids, id)
			if want := notify.Sign([]byte(c.sig), r.body); c.sig != "" && r.header.Get(notify.HeaderSignature) != want {
				t.Errorf("signature %q, want %q (the definition's own secret)", r.header.Get(notify.HeaderSignature), want)
			}
		}
		slices.Sort(ids)
		slices.Sort(c.want)
		if !slices.Equal(ids, c.want) {
			t.Errorf("endpoint got %q, want %q", ids, c.want)
		}
	}
}

// A delivery queued for a target no longer in the definitions served (changed
// before a restart) is sent to the target queued; its secret's position is not
// known any more, and the error does not pretend to know it.
func TestQueuedTargetGoneFromTheDefinition(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	db, q := openStore(t, path)
	first := newNotifier(q, rules(t, `  - name: gone
    detail_type: BASIC
    event_type_ids: [codepipeline-pipeline-stage-execution-failed]
    targets: [{slack: {url: {env: GL_TEST_UNSET_SLACK_URL}}}]
`), nil) // never Run: the process stops before sending
	first.Emit(event.Event{Seq: 4, Time: time.Now(), Kind: event.KindStage, Status: "Failed", Pipeline: "orders", ExecutionID: "e-1", Stage: "Test"})
	db.Close()

	_, q2 := openStore(t, path)
	run(t, newNotifier(q2, nil, nil))
	d := waitFor(t, q2, 1)[0]
	want := "slack URL: read secret: env GL_TEST_UNSET_SLACK_URL: environment variable GL_TEST_UNSET_SLACK_URL is not set"
	if d.Status != notify.StatusFailed || d.LastError != want {
		t.Errorf("delivery = %s %q, want failed %q", d.Status, d.LastError, want)
	}
}

// TestSlackURLNeverShowsInAFailure: a Slack URL is a secret, and a failed
// attempt's error (GET /api/v1/notifications shows it to every viewer, the log
// prints it) names it only as "the Slack webhook URL", however the HTTP client
// writes the URL in its error: with an escaped control character (a URL file
// saved with CRLF, an env value with a stray \r), with the password of its
// userinfo starred, with its scheme in lower case.
func TestSlackURLNeverShowsInAFailure(t *testing.T) {
	closed := testnet.FreeAddr(t) // nothing listens: connection refused
	urls := []string{
		"http://" + closed + "/services/T000/B000/SECRETPART\r",
		"http://hook:PASSPART@" + closed + "/services/T000/B000/SECRETPART",
		"HTTP://" + closed + "/services/T000/B000/SECRETPART",
	}
	targets := ""
	for i, u := range urls {
		env := fmt.Sprintf("GL_TEST_ODD_SLACK_URL_%d", i)
		t.Setenv(env, u)
		targets += "      - {slack: {url: {env: " + env + "}}}\n"
	}
	var logs bytes.Buffer
	_, q := openStore(t, filepath.Join(t.TempDir(), "state.db"))
	n := newNotifier(q, rules(t, `  - name: all
    detail_type: BASIC
    event_type_ids: [greenlight-alarm-state-changed]
    targets:
`+targets), func(o *notify.Options) {
		o.MaxAttempts = 1
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	run(t, n)
	n.Emit(event.Event{Seq: 1, Time: time.Now(), Kind: event.KindAlarm, Name: "orders-error-rate", Status: "ALARM", Message: "3 of 3 datapoints above 5"})
	for _, d := range waitFor(t, q, len(urls)) {
		if d.Status != notify.StatusFailed || !strings.Contains(d.LastError, "the Slack webhook URL") ||
			strings.Contains(d.LastError, "SECRETPART") || strings.Contains(d.LastError, "PASSPART") {
			t.Errorf("target %d (%q): %s, error %q: want failed, naming the URL only as the Slack webhook URL", d.TargetIndex, urls[d.TargetIndex], d.Status, d.LastError)
		}
	}
	if strings.Contains(logs.String(), "SECRETPART") || strings.Contains(logs.String(), "PASSPART") {
		t.Errorf("the log shows a Slack URL:\n%s", logs.String())
	}
}
