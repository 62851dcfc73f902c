package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/greenlight-ci/greenlight/internal/store"
	"github.com/greenlight-ci/greenlight/internal/trigger"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

var secret = []byte("s3cret-for-tests")

func newReceiver(t testing.TB) (*webhook.Receiver, store.WebhookDeliveries) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	deliveries := store.WebhookDeliveries{DB: db}
	r := &webhook.Receiver{
		Secrets: func(context.Context) ([][]byte, error) { return [][]byte{[]byte("other"), secret}, nil },
		Store:   deliveries,
	}
	return r, deliveries
}

// serve wraps the receiver the way the server will: refusals become their status
// and a JSON error, accepted deliveries 202 with what they are.
func serve(t *testing.T, r *webhook.Receiver) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d, err := r.Receive(req.Context(), req.Header, req.Body)
		var refused *webhook.Error
		switch {
		case errors.As(err, &refused):
			w.WriteHeader(refused.Status())
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": string(refused.Code), "message": refused.Msg}})
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = r.Finish(req.Context(), d, webhook.OutcomeIgnored, "test")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"delivery": d.ID, "summary": d.Summary(), "trigger": d.Trigger, "secret": d.SecretIndex})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status int
	body   map[string]any
}

func deliver(t *testing.T, srv *httptest.Server, event, id, contentType string, body []byte, sign bool) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(webhook.HeaderEvent, event)
	req.Header.Set(webhook.HeaderDelivery, id)
	if sign {
		req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, out}
}

func testdata(t *testing.T, name string) []byte { return testdataB(t, name) }

func testdataB(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errorCode(r reply) string {
	e, _ := r.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestDeliveriesOverHTTP(t *testing.T) {
	r, _ := newReceiver(t)
	srv := serve(t, r)
	push := testdata(t, "push.json")

	got := deliver(t, srv, "push", "d-1", "application/json", push, true)
	if got.status != http.StatusAccepted || got.body["summary"] != "push to refs/heads/main of acme/orders-service (0d1a26e67d8f)" || got.body["secret"] != 1.0 {
		t.Fatalf("signed push: %+v", got)
	}
	if again := deliver(t, srv, "push", "d-1", "application/json", push, true); again.status != http.StatusConflict || errorCode(again) != "redelivery" {
		t.Errorf("redelivery: %+v", again)
	}
	form := []byte("payload=" + url.QueryEscape(string(push)))
	if got := deliver(t, srv, "push", "d-2", "application/x-www-form-urlencoded", form, true); got.status != http.StatusAccepted {
		t.Errorf("form-encoded push: %+v", got)
	}
	for _, c := range []struct {
		name, event, id, contentType string
		body                         []byte
		sign                         bool
		status                       int
		code                         string
	}{
		{"unsigned", "push", "d-3", "application/json", push, false, 401, "unsigned"},
		{"wrong content type", "push", "d-4", "text/plain", push, true, 415, "unsupported_media_type"},
		{"malformed JSON", "push", "d-5", "application/json", []byte(`{"ref": `), true, 400, "malformed_payload"},
		{"push without a repository", "push", "d-6", "application/json", []byte(`{"ref": "refs/heads/main"}`), true, 400, "malformed_payload"},
		{"form without payload", "push", "d-7", "application/x-www-form-urlencoded", []byte("data=x"), true, 400, "malformed_payload"},
		{"no delivery id", "push", "", "application/json", push, true, 400, "missing_header"},
		{"no event", "", "d-8", "application/json", push, true, 400, "missing_header"},
	} {
		if got := deliver(t, srv, c.event, c.id, c.contentType, c.body, c.sign); got.status != c.status || errorCode(got) != c.code {
			t.Errorf("%s: %+v, want %d %s", c.name, got, c.status, c.code)
		}
	}
	// A signature over another body is refused the same as a wrong secret.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(push))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, "push")
	req.Header.Set(webhook.HeaderDelivery, "d-9")
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, append(push, ' ')))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("mis-signed: %v %v", resp.Status, err)
	}
}

func TestPingPullRequestAndUnknownEvents(t *testing.T) {
	r, deliveries := newReceiver(t)
	srv := serve(t, r)
	if got := deliver(t, srv, "ping", "p-1", "application/json", testdata(t, "ping.json"), true); got.status != 202 || got.body["summary"] != "ping: Design for failure." {
		t.Errorf("ping: %+v", got)
	}
	got := deliver(t, srv, "pull_request", "pr-1", "application/json", testdata(t, "pull_request.json"), true)
	pr, _ := got.body["trigger"].(map[string]any)["pull_request"].(map[string]any)
	if got.status != 202 || pr["action"] != "UPDATED" || pr["base_branch"] != "main" || pr["head_sha"] != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" ||
		pr["base_sha"] != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" {
		t.Errorf("pull request: %+v", got)
	}
	if got := deliver(t, srv, "issues", "i-1", "application/json", []byte(`{"action":"opened"}`), true); got.status != 202 || !strings.Contains(got.body["summary"].(string), `event "issues" is not one greenlight acts on`) {
		t.Errorf("unknown event: %+v", got)
	}
	recent, err := deliveries.RecentDeliveries(context.Background(), 10)
	if err != nil || len(recent) != 3 || recent[0].ID != "i-1" || recent[2].Outcome != webhook.OutcomeIgnored {
		t.Errorf("recent deliveries = %+v, %v", recent, err)
	}
}

// A body whose read deadline passed (the server sets one) is refused as such,
// 408, not as the server's failure.
func TestABodyCutAtItsDeadlineIsRefusedAsReadTimeout(t *testing.T) {
	r, _ := newReceiver(t)
	body := io.MultiReader(strings.NewReader(`{"ref":`), iotest.ErrReader(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}))
	_, err := r.Receive(context.Background(), headers("application/json", "push", "slow", ""), body)
	var refused *webhook.Error
	if !errors.As(err, &refused) || refused.Code != webhook.CodeReadTimeout || refused.Status() != http.StatusRequestTimeout {
		t.Fatalf("a body cut at its deadline: %v, want 408 %s", err, webhook.CodeReadTimeout)
	}
}

func TestOversizedPayloadIsRefusedWithoutReadingItAll(t *testing.T) {
	r, _ := newReceiver(t)
	body := &countingReader{left: webhook.MaxPayloadBytes + 10<<20}
	h := headers("application/json", "push", "big", "")
	_, err := r.Receive(context.Background(), h, body)
	var refused *webhook.Error
	if !errors.As(err, &refused) || refused.Code != webhook.CodeTooLarge || refused.Status() != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized: %v", err)
	}
	if body.read > webhook.MaxPayloadBytes+1 {
		t.Errorf("read %d bytes of an oversized body", body.read)
	}
	// Over real HTTP too: the client sees 413.
	srv := serve(t, r)
	got := deliver(t, srv, "push", "big-2", "application/json", bytes.Repeat([]byte(" "), webhook.MaxPayloadBytes+1), true)
	if got.status != http.StatusRequestEntityTooLarge {
		t.Errorf("over HTTP: %+v", got)
	}
}

func headers(contentType, event, id, signature string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set(webhook.HeaderEvent, event)
	h.Set(webhook.HeaderDelivery, id)
	if signature != "" {
		h.Set(webhook.HeaderSignature, signature)
	}
	return h
}

type countingReader struct{ left, read int }

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	clear(p[:n])
	c.left -= n
	c.read += n
	return n, nil
}

func TestParsedPush(t *testing.T) {
	r, _ := newReceiver(t)
	push := testdata(t, "push.json")
	h := headers("application/json; charset=utf-8", "push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", webhook.Sign(secret, push))
	d, err := r.Receive(context.Background(), h, bytes.NewReader(push))
	if err != nil {
		t.Fatal(err)
	}
	ev := d.Trigger
	wantFiles := []string{"README.md", "internal/totals/totals.go", "main.go", "old/rounding.go"}
	if ev.Kind != trigger.KindPush || ev.After != "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" || !ev.FilesKnown || !slices.Equal(ev.ChangedFiles, wantFiles) {
		t.Errorf("push = %+v", ev)
	}
	if c := ev.HeadCommit; c.Subject() != "Fix rounding in totals" || c.Author != "Grace Hopper" || ev.Delivery != d.ID || ev.Repository.DefaultBranch != "main" {
		t.Errorf("head commit = %+v", c)
	}
}

func TestReleasedAndStaleClaimsAllowARedelivery(t *testing.T) {
	r, _ := newReceiver(t)
	now := time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC)
	r.Now = func() time.Time { return now }
	push := testdata(t, "push.json")
	receive := func(id string) error {
		h := headers("application/json", "push", id, webhook.Sign(secret, push))
		_, err := r.Receive(context.Background(), h, bytes.NewReader(push))
		return err
	}
	if err := receive("a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Release(context.Background(), &webhook.Delivery{ID: "a"}); err != nil {
		t.Fatal(err)
	}
	if err := receive("a"); err != nil {
		t.Errorf("after release: %v", err)
	}
	// "a" is claimed again and never finished (the server died): a redelivery is
	// refused for ClaimTimeout, then taken over.
	if err := receive("a"); webhook.CodeOf(err) != webhook.CodeRedelivery {
		t.Errorf("within the claim timeout: %v", err)
	}
	now = now.Add(11 * time.Minute)
	if err := receive("a"); err != nil {
		t.Errorf("after the claim timeout: %v", err)
	}
}

// A push whose after is all zeros deleted its ref, whether or not the payload
// says deleted: true; it names no commit to run, and its summary says what it
// was. A push whose after is no commit id at all is refused as malformed.
func TestAPushOfNoCommitIsADeletionOrRefused(t *testing.T) {
	r, _ := newReceiver(t)
	receive := func(id, after string) (*webhook.Delivery, error) {
		body, _ := json.Marshal(map[string]any{
			"ref": "refs/heads/main", "before": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", "after": after,
			"commits":    []map[string]any{{"id": after, "modified": []string{"main.go"}}},
			"repository": map[string]any{"full_name": "acme/orders", "default_branch": "main"},
		})
		return r.Receive(context.Background(), headers("application/json", "push", id, webhook.Sign(secret, body)), bytes.NewReader(body))
	}
	d, err := receive("zeros", strings.Repeat("0", 40))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Trigger.Deleted {
		t.Errorf("a push to an after of zeros is not a deletion: %+v", d.Trigger)
	}
	if got, want := d.Summary(), "deletion of refs/heads/main of acme/orders"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	for _, after := range []string{"", "main", "0d1a26e"} {
		_, err := receive("bad-"+after, after)
		if webhook.CodeOf(err) != webhook.CodeMalformed || !strings.Contains(err.Error(), "not a commit id") {
			t.Errorf("after %q: %v, want malformed_payload saying it is not a commit id", after, err)
		}
	}
}

// TestAReplayedPayloadStartsNothing: X-GitHub-Delivery is not signed, so a
// signed push seen once (a proxy's log, GitHub's list of recent deliveries)
// could be sent again under a new id and start its commit, an old one, again.
// The payload is remembered by its MAC: under another id it is refused
// (replayed_payload, 409), with the id that brought it; the same id is still a
// redelivery, allowed again once released. A signature written another way
// (upper-case hex) names the same payload.
func TestAReplayedPayloadStartsNothing(t *testing.T) {
	r, _ := newReceiver(t)
	srv := serve(t, r)
	push := testdata(t, "push.json")
	if got := deliver(t, srv, "push", "d-1", "application/json", push, true); got.status != http.StatusAccepted {
		t.Fatalf("signed push: %+v", got)
	}
	replay := deliver(t, srv, "push", "d-2", "application/json", push, true)
	if msg, _ := replay.body["error"].(map[string]any)["message"].(string); replay.status != http.StatusConflict ||
		errorCode(replay) != "replayed_payload" || !strings.Contains(msg, "delivery d-1") {
		t.Errorf("the push again as d-2: %+v, want 409 replayed_payload naming d-1", replay)
	}
	h := headers("application/json", "push", "d-3", "sha256="+strings.ToUpper(strings.TrimPrefix(webhook.Sign(secret, push), "sha256=")))
	if _, err := r.Receive(context.Background(), h, bytes.NewReader(push)); webhook.CodeOf(err) != webhook.CodeReplay {
		t.Errorf("the push again as d-3, its signature in upper case: %v, want a replay", err)
	}
	if again := deliver(t, srv, "push", "d-1", "application/json", push, true); errorCode(again) != "redelivery" {
		t.Errorf("the push again as d-1: %+v, want a redelivery", again)
	}
	// A claim released (acting on it failed) lets GitHub's redelivery in.
	h = headers("application/json", "pull_request", "p-1", webhook.Sign(secret, testdata(t, "pull_request.json")))
	d, err := r.Receive(context.Background(), h, bytes.NewReader(testdata(t, "pull_request.json")))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Release(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Receive(context.Background(), h, bytes.NewReader(testdata(t, "pull_request.json"))); err != nil {
		t.Errorf("GitHub's redelivery of a released pull request: %v", err)
	}
	// A ping starts nothing: the same one under a new id is accepted.
	ping := []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)
	for _, id := range []string{"g-1", "g-2"} {
		if got := deliver(t, srv, "ping", id, "application/json", ping, true); got.status != http.StatusAccepted {
			t.Errorf("ping %s: %+v", id, got)
		}
	}
}
