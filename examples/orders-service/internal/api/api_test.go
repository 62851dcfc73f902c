package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/orders-service/internal/orders"
)

var started = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// newServer serves the real handler on a loopback port and returns its URL and the
// log it writes.
func newServer(t *testing.T, faults Faults) (string, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	h := New(Options{
		Store:   orders.NewStore(time.Now),
		Version: "abc1234",
		Started: started,
		Faults:  faults,
		Logger:  slog.New(slog.NewJSONHandler(logs, nil)),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL, logs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

// call sends a request and decodes a JSON answer into out (when not nil).
func call(t *testing.T, method, url, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, data, err)
		}
	}
	return resp
}

func TestHealthAndVersion(t *testing.T) {
	url, _ := newServer(t, Faults{})
	var health map[string]string
	if resp := call(t, "GET", url+"/health", "", &health); resp.StatusCode != 200 || health["status"] != "ok" {
		t.Fatalf("/health = %d %v", resp.StatusCode, health)
	}
	var v VersionBody
	resp := call(t, "GET", url+"/version", "", &v)
	if resp.StatusCode != 200 || v.Version != "abc1234" || !v.Started.Equal(started) {
		t.Fatalf("/version = %d %+v", resp.StatusCode, v)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestCreateGetList(t *testing.T) {
	url, _ := newServer(t, Faults{})
	var created orders.Order
	resp := call(t, "POST", url+"/orders", `{"customer":"ada","items":[{"sku":"BOOK-1","quantity":2,"price_cents":1500},{"sku":"PEN","quantity":1,"price_cents":99}]}`, &created)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /orders = %d", resp.StatusCode)
	}
	if created.Status != "pending" || created.TotalCents != 3099 || created.ID == "" || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	if loc := resp.Header.Get("Location"); loc != "/orders/"+created.ID {
		t.Fatalf("Location = %q", loc)
	}

	var got orders.Order
	if resp := call(t, "GET", url+"/orders/"+created.ID, "", &got); resp.StatusCode != 200 || got.ID != created.ID || got.TotalCents != 3099 {
		t.Fatalf("GET /orders/{id} = %d %+v", resp.StatusCode, got)
	}

	second := orders.Order{}
	call(t, "POST", url+"/orders", `{"customer":"bob","items":[{"sku":"X","quantity":1,"price_cents":1}]}`, &second)
	var list struct{ Orders []orders.Order }
	if resp := call(t, "GET", url+"/orders", "", &list); resp.StatusCode != 200 || len(list.Orders) != 2 ||
		list.Orders[0].ID != second.ID || list.Orders[1].ID != created.ID {
		t.Fatalf("GET /orders = %d %+v, want newest first", resp.StatusCode, list)
	}
	list.Orders = nil
	if resp := call(t, "GET", url+"/orders?limit=1", "", &list); resp.StatusCode != 200 || len(list.Orders) != 1 || list.Orders[0].ID != second.ID {
		t.Fatalf("GET /orders?limit=1 = %d %+v", resp.StatusCode, list)
	}
}

func TestEmptyListIsAnArray(t *testing.T) {
	url, _ := newServer(t, Faults{})
	var raw map[string]json.RawMessage
	call(t, "GET", url+"/orders", "", &raw)
	if string(raw["orders"]) != "[]" {
		t.Fatalf("orders = %s, want []", raw["orders"])
	}
}

func TestErrors(t *testing.T) {
	url, _ := newServer(t, Faults{})
	tests := []struct {
		name, method, path, body string
		status                   int
		wantErr                  string
		wantFields               []string
	}{
		{"unknown order", "GET", "/orders/ord_nope", "", 404, `order "ord_nope": order not found`, nil},
		{"validation", "POST", "/orders", `{"customer":"","items":[{"sku":"A","quantity":0,"price_cents":5}]}`, 400,
			"validation failed", []string{"customer", "items[0].quantity"}},
		{"unknown field", "POST", "/orders", `{"customer":"a","items":[],"coupon":"X"}`, 400, `invalid JSON body: unknown field "coupon"`, nil},
		{"wrong type", "POST", "/orders", `{"customer":"a","items":[{"sku":"A","quantity":"2"}]}`, 400,
			`invalid JSON body: field "items.quantity": expected an integer, got JSON string`, nil},
		{"malformed", "POST", "/orders", `{"customer":`, 400, "invalid JSON body: unexpected EOF", nil},
		{"empty body", "POST", "/orders", ``, 400, "invalid JSON body: empty body, expected an order object", nil},
		{"trailing data", "POST", "/orders", `{"customer":"a","items":[{"sku":"A","quantity":1}]} {}`, 400,
			"invalid JSON body: unexpected data after the order object", nil},
		{"too large", "POST", "/orders", `{"customer":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 400,
			"invalid JSON body: body larger than 1048576 bytes", nil},
		{"limit not a number", "GET", "/orders?limit=ten", "", 400, `limit="ten": must be an integer from 1 to 500`, nil},
		{"limit too big", "GET", "/orders?limit=501", "", 400, `limit="501": must be an integer from 1 to 500`, nil},
		{"limit zero", "GET", "/orders?limit=0", "", 400, `limit="0": must be an integer from 1 to 500`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body ErrorBody
			resp := call(t, tt.method, url+tt.path, tt.body, &body)
			if resp.StatusCode != tt.status || body.Error != tt.wantErr {
				t.Fatalf("%s %s = %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, body.Error, tt.status, tt.wantErr)
			}
			var fields []string
			for _, d := range body.Details {
				fields = append(fields, d.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tt.wantFields, ",") {
				t.Fatalf("details = %v, want %v", fields, tt.wantFields)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	url, _ := newServer(t, Faults{})
	if resp := call(t, "DELETE", url+"/orders", "", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE /orders = %d, want 405", resp.StatusCode)
	}
}

func TestFailRateOneFailsOrdersButNotHealth(t *testing.T) {
	url, _ := newServer(t, Faults{FailRate: 1})
	for _, path := range []string{"/orders", "/orders/ord_x"} {
		var body ErrorBody
		if resp := call(t, "GET", url+path, "", &body); resp.StatusCode != 500 || body.Error != "injected failure (FAIL_RATE=1)" {
			t.Fatalf("GET %s = %d %q, want 500", path, resp.StatusCode, body.Error)
		}
	}
	var created ErrorBody
	if resp := call(t, "POST", url+"/orders", `{"customer":"a","items":[{"sku":"A","quantity":1}]}`, &created); resp.StatusCode != 500 {
		t.Fatalf("POST /orders = %d, want 500", resp.StatusCode)
	}
	for _, path := range []string{"/health", "/version"} {
		if resp := call(t, "GET", url+path, "", nil); resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d: faults must not reach it", path, resp.StatusCode)
		}
	}
}

// TestFailRateFraction checks the split statistically with a seeded generator: the
// count is deterministic for the seed, and the bounds hold for any fair generator
// with overwhelming probability (more than 6 standard deviations).
func TestFailRateFraction(t *testing.T) {
	for _, rate := range []float64{0, 0.05, 0.5, 0.9, 1} {
		rng := rand.New(rand.NewPCG(1, 2))
		f := Faults{FailRate: rate, Rand: rng.Float64}
		h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		const n = 20000
		failed := 0
		for range n {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/orders", nil))
			switch rec.Code {
			case 500:
				failed++
			case http.StatusNoContent:
			default:
				t.Fatalf("unexpected status %d", rec.Code)
			}
		}
		got := float64(failed) / n
		if tol := 0.025; got < rate-tol || got > rate+tol {
			t.Errorf("FAIL_RATE=%g: %d of %d failed (%.3f)", rate, failed, n, got)
		}
		if (rate == 0 && failed != 0) || (rate == 1 && failed != n) {
			t.Errorf("FAIL_RATE=%g must be exact, failed %d of %d", rate, failed, n)
		}
	}
}

func TestLatencyDelaysAndStopsWhenClientLeaves(t *testing.T) {
	reached := make(chan struct{}, 1)
	f := Faults{Latency: time.Hour}
	h := f.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached <- struct{}{} }))
	req := httptest.NewRequest("GET", "/orders", nil)
	ctx, cancel := context.WithCancel(req.Context())
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { h.ServeHTTP(rec, req.WithContext(ctx)); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the delayed handler did not return after the client left")
	}
	select {
	case <-reached:
		t.Fatal("the request reached the handler although the client left during the delay")
	default:
	}

	f = Faults{Latency: 50 * time.Millisecond}
	h = f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	start := time.Now()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/orders", nil))
	if rec.Code != http.StatusNoContent || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("status %d after %s, want 204 after at least 50ms", rec.Code, time.Since(start))
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	url, logs := newServer(t, Faults{})
	call(t, "GET", url+"/health", "", nil)
	call(t, "GET", url+"/orders/ord_x?debug=1", "", nil)
	lines := logs.Lines()
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var entry struct {
		Msg, Method, Path string
		Status            int
		Bytes             int64
		DurationMS        *float64 `json:"duration_ms"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &entry); err != nil {
		t.Fatal(err)
	}
	if entry.Msg != "request" || entry.Method != "GET" || entry.Path != "/orders/ord_x" || entry.Status != 404 || entry.Bytes == 0 || entry.DurationMS == nil {
		t.Fatalf("log line = %s", lines[1])
	}
}

func FuzzDecodeNewOrder(f *testing.F) {
	f.Add(`{"customer":"ada","items":[{"sku":"A","quantity":2,"price_cents":150}]}`)
	f.Add(`{"customer":"","items":[]}`)
	f.Add(`{"items":[{"quantity":1e400}]}`)
	f.Add(`[] {}`)
	f.Fuzz(func(t *testing.T, body string) {
		n, err := DecodeNewOrder(strings.NewReader(body))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "invalid JSON body: ") {
				t.Fatalf("error %q lacks its prefix", err)
			}
			return
		}
		if n.Validate() == nil && n.Total() < 0 {
			t.Fatalf("valid order with negative total: %+v", n)
		}
	})
}

func TestStatsCountsOrdersAndRequestsInFlight(t *testing.T) {
	h := New(Options{Store: orders.NewStore(time.Now), Version: "v", Started: started,
		Faults: Faults{Latency: time.Hour}, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/orders", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	var stats StatsBody
	for deadline := time.Now().Add(30 * time.Second); stats.OrdersInFlight == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the delayed request never showed in /stats")
		}
		call(t, "GET", srv.URL+"/stats", "", &stats)
	}
	if stats.OrdersInFlight != 1 || stats.Orders != 0 {
		t.Fatalf("stats = %+v, want one order request in flight and no orders", stats)
	}
	cancel()
	<-done
	for deadline := time.Now().Add(30 * time.Second); h.InFlight() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cancelled request still counts as in flight")
		}
	}
}

func TestFailRateWithoutAGeneratorUsesMathRand(t *testing.T) {
	f := Faults{FailRate: 0.5}
	h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	failed := 0
	for range 2000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/orders", nil))
		if rec.Code == 500 {
			failed++
		}
	}
	// 2000 fair draws: outside [800, 1200] is about 9 standard deviations away.
	if failed < 800 || failed > 1200 {
		t.Fatalf("%d of 2000 failed with FAIL_RATE=0.5", failed)
	}
}
