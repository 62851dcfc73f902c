package router

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every phase of an exchange is bounded, and a bound that fires releases the
// target connection. The timeouts are short here; their defaults are nginx's.

func shortTimeouts(t testing.TB) *Router {
	r := New(Options{
		Logger:              testLogger(t),
		ClientHeaderTimeout: 300 * time.Millisecond,
		ClientBodyTimeout:   time.Second,
		ClientSendTimeout:   500 * time.Millisecond,
		TargetTimeout:       time.Second,
	})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// TestSlowUploadIsNotCut: a body that trickles in, one byte every 400 ms for
// far longer than the header timeout, is not cut: the body timeout is reset by
// every byte.
func TestSlowUploadIsNotCut(t *testing.T) {
	addr := fastRouter(t, shortTimeouts(t), startBackend(t, "b"))
	rc := dialRaw(t, addr)
	const body = "slow-upload"
	rc.send(fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(body)))
	start := time.Now()
	for i := range len(body) {
		time.Sleep(400 * time.Millisecond)
		rc.send(body[i : i+1])
	}
	resp, got := rc.read(http.MethodPost)
	if resp.StatusCode != 200 || got != body {
		t.Fatalf("slow upload over %s: %d %q, want 200 %q", time.Since(start).Round(time.Millisecond), resp.StatusCode, got, body)
	}
}

// TestStalledBodiesGet408AndReleaseTheTarget is the issue's case: 20 clients
// send a head and part of a body, then stall. Each gets 408 once the body
// timeout passes, and the target connections they held are closed.
func TestStalledBodiesGet408AndReleaseTheTarget(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, shortTimeouts(t), b)
	eventually(t, 10*time.Second, "the health check connection closed", func() bool { return b.openConns() == 0 })
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		rc := dialRaw(t, addr)
		wg.Go(func() {
			rc.send("POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
			resp, _ := rc.read(http.MethodPost)
			statuses <- resp.StatusCode
			rc.expectClosed()
		})
	}
	eventually(t, 10*time.Second, "20 target connections", func() bool { return b.openConns() == 20 })
	start := time.Now()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusRequestTimeout {
			t.Fatalf("stalled body: %d, want 408", s)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("408s took %s with a 1s body timeout", d)
	}
	eventually(t, 5*time.Second, "the target connections released", func() bool { return b.openConns() == 0 })
}

// TestTargetThatStopsReadingTheBody: the write of the body to a target that
// never reads it is bounded by the target timeout: 504, connection released.
func TestTargetThatStopsReadingTheBody(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, shortTimeouts(t), b)
	rc := dialRaw(t, addr)
	const size = 64 << 20
	rc.send(fmt.Sprintf("POST /no-read HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", size))
	go func() { _, _ = rc.c.Write(make([]byte, size)) }()
	resp, _ := rc.read(http.MethodPost)
	if resp.StatusCode != http.StatusGatewayTimeout {
		t.Fatalf("target not reading the body: %d, want 504", resp.StatusCode)
	}
	rc.expectClosed()
}

// TestStalledResponseBodyIsCut: a target that sends part of a body and stalls
// has its exchange ended after the target timeout; the client connection is
// closed (the response cannot be completed) and so is the target's.
func TestStalledResponseBodyIsCut(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, shortTimeouts(t), b)
	rc := dialRaw(t, addr)
	rc.send("GET /stall-body HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("a cut response body reached the client whole")
	}
	if d := time.Since(start); d < 900*time.Millisecond || d > 5*time.Second {
		t.Fatalf("stalled body cut after %s, want the 1s target timeout", d)
	}
	eventually(t, 5*time.Second, "the target connection released", func() bool { return b.openConns() == 0 })
}

// TestClientThatDoesNotReadIsCut: a client that stops reading a large
// response is cut after the send timeout, and the target connection released.
func TestClientThatDoesNotReadIsCut(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, shortTimeouts(t), b)
	rc := dialRaw(t, addr)
	rc.send("GET /huge HTTP/1.1\r\nHost: x\r\n\r\n")
	eventually(t, 5*time.Second, "the target connection opened", func() bool { return b.openConns() == 1 })
	// The client reads nothing; the router's writes fill the socket and wait.
	eventually(t, 10*time.Second, "the target connection released", func() bool { return b.openConns() == 0 })
	n, _ := io.Copy(io.Discard, rc.c)
	if n >= 256<<20 {
		t.Fatalf("client got the whole %d bytes", n)
	}
}

// TestMaxRequestBody: a listener's body limit answers 413 and closes, for a
// declared length over it before anything is sent to the target, and for a
// chunked body once it goes over.
func TestMaxRequestBody(t *testing.T) {
	b := startBackend(t, "b")
	r := newTestRouter(t)
	spec := twoGroupSpec("limited", []TargetSpec{b.target("b1")}, nil)
	spec.Listeners.Production.MaxRequestBody = 10
	st := mustApply(t, r, spec)
	waitState(t, r, "limited", "b1", TargetHealthy)
	for _, tc := range []struct {
		name, raw string
		status    int
	}{
		{"length at the limit", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789", 200},
		{"length over", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n0123456789a", 413},
		{"chunked at the limit", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n", 200},
		{"chunked over", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n6\r\n56789a\r\n0\r\n\r\n", 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, st.ProductionAddress)
			rc.send(tc.raw)
			resp, body := rc.read(http.MethodPost)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == 413 {
				rc.expectClosed()
			} else if !strings.HasPrefix(body, "01234") {
				t.Fatalf("echo %q", body)
			}
		})
	}
}

// TestHandedOverBodiesAreBounded: requests net/http serves (Expect:
// 100-continue uploads on HTTP/1.1, HTTP/2 streams) get the same body timeout
// and body limit as the fast path's.
func TestHandedOverBodiesAreBounded(t *testing.T) {
	r := New(Options{Logger: testLogger(t), ClientBodyTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	ca := newTestCA(t)
	cert, _ := ca.issue(t, "bodies", "bodies.test")
	spec := httpsSpec("bodies", []TargetSpec{startBackend(t, "b").target("b1")}, cert)
	spec.Listeners.Production.MaxRequestBody = 1000
	st := mustApply(t, r, spec)
	waitState(t, r, "bodies", "b1", TargetHealthy)
	url := "https://" + st.ProductionAddress + "/echo"
	for _, h2 := range []bool{false, true} {
		c := ca.client(h2)
		tr := c.Transport.(*http.Transport)
		tr.TLSClientConfig.ServerName = "bodies.test"
		tr.ExpectContinueTimeout = 5 * time.Second
		post := func(body io.Reader, length int64) int {
			req, _ := http.NewRequest(http.MethodPost, url, body)
			req.ContentLength = length
			req.Header.Set("Expect", "100-continue")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("h2=%v: %v", h2, err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := post(strings.NewReader(strings.Repeat("x", 1000)), 1000); code != 200 {
			t.Fatalf("h2=%v: body at the limit: %d", h2, code)
		}
		if code := post(strings.NewReader(strings.Repeat("x", 1001)), 1001); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("h2=%v: declared length over the limit: %d, want 413", h2, code)
		}
		if code := post(io.MultiReader(strings.NewReader(strings.Repeat("x", 1001))), -1); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("h2=%v: streamed body over the limit: %d, want 413", h2, code)
		}
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte("partial"))
			time.Sleep(3 * time.Second) // stalls past the body timeout
			_ = pw.Close()
		}()
		start := time.Now()
		if code := post(pr, 100); code != http.StatusRequestTimeout {
			t.Fatalf("h2=%v: stalled body: %d, want 408", h2, code)
		}
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Fatalf("h2=%v: 408 after %s with a 500ms body timeout", h2, d)
		}
	}
}

// limitedHTTPSRouter is a router with an HTTPS listener whose body limit is
// limit, in front of b; it returns the URL of path and the CA to trust.
func limitedHTTPSRouter(t *testing.T, opts Options, b *backend, limit int64, path string) (string, *testCA) {
	t.Helper()
	opts.Logger = testLogger(t)
	r := New(opts)
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	ca := newTestCA(t)
	cert, _ := ca.issue(t, "limited", "limited.test")
	spec := httpsSpec("limited", []TargetSpec{b.target("b1")}, cert)
	spec.Listeners.Production.MaxRequestBody = limit
	st := mustApply(t, r, spec)
	waitState(t, r, "limited", "b1", TargetHealthy)
	return "https://" + st.ProductionAddress + path, ca
}

func limitedClient(t *testing.T, ca *testCA, h2 bool) *http.Client {
	c := ca.client(h2)
	tr := c.Transport.(*http.Transport)
	tr.TLSClientConfig.ServerName = "limited.test"
	tr.ExpectContinueTimeout = 5 * time.Second
	t.Cleanup(c.CloseIdleConnections) // before the router's Close, which waits for them
	return c
}

// TestEarlyAnswerToABodyOverTheLimit: a target that sends a whole response
// before it reads the body, then reads it. The body goes over the limit
// after that response came: the client gets 413, never the target's response
// (it would look complete), and the target gets no more than the limit's
// bytes, nor the end of the body. This is the handed-over path's flake made
// deterministic: the response comes first every time. Without Expect, the
// HTTP/1.1 request starts on the fast path, which hands it over too.
func TestEarlyAnswerToABodyOverTheLimit(t *testing.T) {
	b := startBackend(t, "b")
	url, ca := limitedHTTPSRouter(t, Options{}, b, 1000, "/early")
	// Without Expect: 100-continue, an HTTP/1.1 request starts on the fast path.
	for _, tc := range []struct{ h2, expect bool }{{false, true}, {true, true}, {false, false}} {
		h2 := tc.h2
		c := limitedClient(t, ca, h2)
		pr, pw := io.Pipe()
		responded := make(chan struct{})
		go func() {
			_, _ = pw.Write([]byte(strings.Repeat("x", 600)))
			select {
			case <-b.earlyAnswered:
			case <-time.After(5 * time.Second): // the status tells what went wrong
			}
			// A response let through would reach the client now: wait for
			// it before going over the limit (or a while, when it is held).
			select {
			case <-responded:
			case <-time.After(200 * time.Millisecond):
			}
			_, _ = pw.Write([]byte(strings.Repeat("x", 401)))
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, url, pr)
		req.ContentLength = -1
		if tc.expect {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := c.Do(req)
		close(responded)
		_ = pr.Close() // unblocks the writer if the body is no longer read
		if err != nil {
			t.Fatalf("h2=%v: %v", h2, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || err != nil {
			t.Fatalf("%+v: %d %q (body error %v), want 413", tc, resp.StatusCode, body, err)
		}
		if !h2 && !resp.Close {
			t.Errorf("h2=%v: the connection stays open after a 413 for a body not read", h2)
		}
		select {
		case got := <-b.earlyBodies:
			if got.n > 1000 || got.whole {
				t.Fatalf("h2=%v: the target read %d bytes (whole: %v), want at most the limit and no end", h2, got.n, got.whole)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("h2=%v: the target's read of the body did not end", h2)
		}
	}
}

// TestFullDuplexUnderALimit: a target that echoes a body as it reads it, a
// body of unknown length under the limit but larger than what the sockets
// between the router and the target hold. The echo's response head waits for
// the body; the target stops reading the body until its response is taken,
// so the head must not wait for ever: it goes out once the target has taken
// nothing for a while, and the echo completes.
func TestFullDuplexUnderALimit(t *testing.T) {
	const size = 16 << 20
	b := startBackend(t, "b")
	url, ca := limitedHTTPSRouter(t, Options{}, b, 2*size, "/echo")
	for _, h2 := range []bool{false, true} {
		c := limitedClient(t, ca, h2)
		req, _ := http.NewRequest(http.MethodPost, url, io.MultiReader(strings.NewReader(strings.Repeat("x", size))))
		req.ContentLength = -1
		req.Header.Set("Expect", "100-continue")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("h2=%v: %v", h2, err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || n != size || err != nil {
			t.Fatalf("h2=%v: %d, echoed %d of %d bytes (%v)", h2, resp.StatusCode, n, size, err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("h2=%v: echo took %s", h2, d)
		}
	}
}
