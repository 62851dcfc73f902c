package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/serve"
	"github.com/greenlight-ci/greenlight/internal/webhook"
)

// Anyone may post a delivery, and its body (up to GitHub's 25 MB) is read whole
// before its signature can be checked. 50 uploads at once, each sending 4 MB of
// its declared 25 MB and then stalling, hold a bounded heap: a few are read at
// once, the others are answered 503 with Retry-After; those read are cut at
// their read deadline with 408. Without the bounds, every body was read at
// once (here 200 MB; 2.5 GB for 100 whole ones) and a stalled one held its
// connection and its memory forever.
func TestSlowUploadsHoldABoundedHeapAndAreCutAtTheirDeadline(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", secret)
	const (
		uploads     = 50
		sent        = 4 << 20
		concurrent  = 4
		readTimeout = 3 * time.Second
	)
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	// Small socket buffers: an upload whose 4 MB were written whole was read by
	// the server, not parked in the kernel.
	s := startServerWith(t, serverConfig{
		options: func(o *serve.Options) {
			o.Webhook = serve.WebhookLimits{ReadTimeout: readTimeout, Concurrent: concurrent, Wait: 200 * time.Millisecond}
		},
		listen: net.ListenConfig{Control: socketBuffer(syscall.SO_RCVBUF)},
	}, r.path())
	addr := strings.TrimPrefix(s.url, "http://")
	before := liveHeap()

	payload := []byte(strings.Repeat(" ", sent))
	settled := make(chan struct{}, uploads)
	results := make([]uploadResult, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() { results[i] = slowUpload(addr, fmt.Sprintf("slow-%d", i), payload, settled) })
	}
	timeout := time.After(time.Minute)
	for range uploads {
		select {
		case <-settled:
		case <-timeout:
			t.Fatal("uploads neither read whole nor answered within a minute")
		}
	}
	// Every upload was read as far as it went, or refused: what the server
	// holds now is what it holds at most.
	grew := liveHeap() - before
	t.Logf("the heap grew by %.1f MB with %d uploads under way", float64(grew)/(1<<20), uploads)
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MB with %d uploads of %d MB under way, want under 64 MB", grew>>20, uploads, sent>>20)
	}
	wg.Wait()

	var cut, busy int
	for i, res := range results {
		switch {
		case res.err != nil:
			t.Errorf("upload %d: %v", i, res.err)
		case res.status == http.StatusRequestTimeout && strings.Contains(res.body, string(webhook.CodeReadTimeout)):
			cut++
			if res.elapsed < readTimeout || res.elapsed > readTimeout+5*time.Second {
				t.Errorf("upload %d was cut after %s, want at its deadline of %s", i, res.elapsed, readTimeout)
			}
		case res.status == http.StatusServiceUnavailable && res.retryAfter != "" && strings.Contains(res.body, string(webhook.CodeBusy)):
			busy++
		default:
			t.Errorf("upload %d answered %d (Retry-After %q) %s", i, res.status, res.retryAfter, res.body)
		}
	}
	if cut != concurrent || busy != uploads-concurrent {
		t.Errorf("%d uploads cut at their deadline and %d refused as busy, want %d and %d", cut, busy, concurrent, uploads-concurrent)
	}
	// The server still takes deliveries.
	ping := s.deliver("ping", "after-the-burst", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), secret)
	if ping.status != http.StatusOK || ping.Outcome != webhook.OutcomePing {
		t.Errorf("a ping after the burst answered %d %+v", ping.status, ping.DeliveryAnswer)
	}
}

type uploadResult struct {
	status     int
	retryAfter string
	body       string
	elapsed    time.Duration // from the request's start to its answer
	err        error
}

// slowUpload posts a delivery declaring 25 MB, sends payload and stalls. It
// signals settled once the payload was written whole or the answer came,
// whichever is first, and returns the answer.
func slowUpload(addr, id string, payload []byte, settled chan<- struct{}) uploadResult {
	var once sync.Once
	settle := func() { once.Do(func() { settled <- struct{}{} }) }
	defer settle()
	conn, err := (&net.Dialer{Control: socketBuffer(syscall.SO_SNDBUF)}).Dial("tcp", addr)
	if err != nil {
		return uploadResult{err: err}
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute)) // a server that never answers fails the test
	start := time.Now()
	head := fmt.Sprintf("POST /webhooks/github HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"X-GitHub-Event: push\r\nX-GitHub-Delivery: %s\r\nX-Hub-Signature-256: sha256=%s\r\n\r\n", addr, webhook.MaxPayloadBytes, id, strings.Repeat("0", 64))
	go func() {
		if _, err := conn.Write(append([]byte(head), payload...)); err == nil {
			settle()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return uploadResult{err: fmt.Errorf("read the answer: %w", err)}
	}
	defer resp.Body.Close()
	var body strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&body)
	return uploadResult{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: body.String(), elapsed: time.Since(start)}
}

// socketBuffer sets a socket's buffer (SO_SNDBUF or SO_RCVBUF) to 64 KB.
func socketBuffer(opt int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 64<<10) }); err != nil {
			return err
		}
		return serr
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// The server's read timeout bounds how long a request takes to arrive, not how
// long its answer lasts: an event stream open for several read timeouts still
// delivers the next event.
func TestAStreamOutlivesTheReadTimeout(t *testing.T) {
	const readTimeout = 300 * time.Millisecond
	r := newRepo(t, t.TempDir(), "orders", definition("orders", ""))
	s := startServerWith(t, serverConfig{options: func(o *serve.Options) { o.ReadTimeout = readTimeout }}, r.path())
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.token(access.RoleViewer))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/events: %d", resp.StatusCode)
	}
	<-time.After(5 * readTimeout) // the stream is held open past the timeout: what is tested
	id, err := s.srv.Backend().StartExecution(context.Background(), control.StartRequest{Pipeline: "orders", Who: "test"})
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended %s after its read timeout, before the execution's first event", 5*readTimeout)
			}
			if strings.HasPrefix(line, "data:") && strings.Contains(line, id) {
				return
			}
		case <-timeout:
			t.Fatal("no event of the execution within 30 s")
		}
	}
}
