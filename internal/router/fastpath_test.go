package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of the fast path's own edge cases, with raw TCP clients where net/http's
// client would hide what goes over the wire.

// rawConn is a client connection that writes raw bytes and reads responses
// with net/http's parser.
type rawConn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return &rawConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawConn) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatalf("write request: %v", err)
	}
}

// read reads one response to a request of the given method, body included.
func (rc *rawConn) read(method string) (*http.Response, string) {
	rc.t.Helper()
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read response body: %v", err)
	}
	return resp, string(body)
}

// expectClosed fails unless the router closes the connection (nothing more
// arrives).
func (rc *rawConn) expectClosed() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if b, err := rc.br.ReadByte(); err == nil {
		rc.t.Fatalf("connection still open: got %q", b)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		rc.t.Fatal("connection still open after 30s")
	}
}

// startCustomBackend is startBackend with extra routes.
func startCustomBackend(t testing.TB, name string, routes map[string]http.HandlerFunc) *backend {
	return startBackendWith(t, name, func(s *http.Server) {
		mux := http.NewServeMux()
		mux.Handle("/", s.Handler)
		for pattern, h := range routes {
			mux.HandleFunc(pattern, h)
		}
		s.Handler = mux
	})
}

// fastRouter serves one service with b as its only target and returns the
// production address.
func fastRouter(t testing.TB, r *Router, b *backend) string {
	t.Helper()
	name := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	st := mustApply(t, r, twoGroupSpec(name, []TargetSpec{b.target("b1")}, nil))
	waitState(t, r, name, "b1", TargetHealthy)
	return st.ProductionAddress
}

func TestFastPathChunkedBothWays(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"POST /trailers": func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Trailer", "X-Echo-Trailer")
			_, _ = w.Write(body)
			w.Header().Set("X-Echo-Trailer", r.Trailer.Get("X-Req"))
		},
	})
	addr := fastRouter(t, newTestRouter(t), b)
	rc := dialRaw(t, addr)

	// A chunked upload streamed in pieces to the full-duplex echo comes back
	// chunked (the target does not know its length either).
	rc.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
	var want strings.Builder
	for i := range 5 {
		chunk := strings.Repeat(fmt.Sprint(i), 1000*(i+1))
		want.WriteString(chunk)
		rc.send(fmt.Sprintf("%x\r\n%s\r\n", len(chunk), chunk))
		time.Sleep(10 * time.Millisecond)
	}
	rc.send("0\r\n\r\n")
	resp, body := rc.read(http.MethodPost)
	if resp.StatusCode != 200 || body != want.String() {
		t.Fatalf("chunked echo: status %d, %d bytes back of %d", resp.StatusCode, len(body), want.Len())
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("echo transfer encoding %v, want chunked", resp.TransferEncoding)
	}

	// Trailers go through both ways, on the same connection.
	rc.send("POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Req\r\n\r\n" +
		"3\r\nabc\r\n0\r\nX-Req: from-client\r\n\r\n")
	resp, body = rc.read(http.MethodPost)
	if body != "abc" || resp.Trailer.Get("X-Echo-Trailer") != "from-client" {
		t.Fatalf("trailers: body %q, trailer %q, want abc and from-client", body, resp.Trailer.Get("X-Echo-Trailer"))
	}
}

func TestFastPathLargeBodies(t *testing.T) {
	const size = 8 << 20
	big := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"GET /big": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			_, _ = w.Write(big)
		},
	})
	addr := fastRouter(t, newTestRouter(t), b)
	c := newClient()
	resp, err := c.Post("http://"+addr+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || sha256.Sum256(got) != sha256.Sum256(big) {
		t.Fatalf("8 MB echo: %d bytes back (%v), want the same %d bytes", len(got), err, len(big))
	}
	resp, err = c.Get("http://" + addr + "/big")
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.ContentLength != size || !bytes.Equal(got, big) {
		t.Fatalf("8 MB download: %d bytes (%v), length %d", len(got), err, resp.ContentLength)
	}
}

func TestFastPathBodilessResponsesKeepTheConnection(t *testing.T) {
	addr := fastRouter(t, newTestRouter(t), startBackend(t, "b"))
	rc := dialRaw(t, addr)
	rc.send("HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read(http.MethodHead)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len("hello from the backend\n")) || body != "" {
		t.Fatalf("HEAD: status %d length %d body %q", resp.StatusCode, resp.ContentLength, body)
	}
	for _, code := range []int{204, 304} {
		rc.send(fmt.Sprintf("GET /status/%d HTTP/1.1\r\nHost: x\r\n\r\n", code))
		if resp, body := rc.read(http.MethodGet); resp.StatusCode != code || body != "" {
			t.Fatalf("status %d came back as %d with %q", code, resp.StatusCode, body)
		}
	}
	// Had any of them left a stray byte, this response would not parse.
	rc.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := rc.read(http.MethodGet); resp.StatusCode != 200 || body != "hello from the backend\n" {
		t.Fatalf("after bodiless responses: %d %q", resp.StatusCode, body)
	}
}

func TestFastPathPipelining(t *testing.T) {
	addr := fastRouter(t, newTestRouter(t), startBackend(t, "b"))
	rc := dialRaw(t, addr)
	// Three requests in one write: answered in order.
	rc.send("GET /status/201 HTTP/1.1\r\nHost: x\r\n\r\n" +
		"HEAD /small HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	if resp, _ := rc.read(http.MethodGet); resp.StatusCode != 201 {
		t.Fatalf("first: %d, want 201", resp.StatusCode)
	}
	if resp, body := rc.read(http.MethodHead); resp.StatusCode != 200 || body != "" {
		t.Fatalf("second: %d %q, want 200 without body", resp.StatusCode, body)
	}
	if resp, body := rc.read(http.MethodPost); resp.StatusCode != 200 || body != "hello" {
		t.Fatalf("third: %d %q, want 200 hello", resp.StatusCode, body)
	}
}

func TestFastPathConnectionClose(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"/closing": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			_, _ = io.WriteString(w, "bye")
		},
	})
	r := newTestRouter(t)
	spec := twoGroupSpec("close", []TargetSpec{b.target("b1")}, nil)
	spec.HealthCheck.HealthyThreshold = 1
	spec.HealthCheck.Interval = Duration(time.Hour) // only proxied connections from now on
	spec.HealthCheck.Timeout = Duration(5 * time.Second)
	addr := mustApply(t, r, spec).ProductionAddress
	waitState(t, r, "close", "b1", TargetHealthy)

	// The target closes its connection after each answer: the client's stays.
	rc := dialRaw(t, addr)
	before := b.conns.Load()
	for range 3 {
		rc.send("GET /closing HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := rc.read(http.MethodGet)
		if resp.StatusCode != 200 || body != "bye" || resp.Close {
			t.Fatalf("closing target: %d %q close=%v, want 200 bye on a kept connection", resp.StatusCode, body, resp.Close)
		}
	}
	if n := b.conns.Load() - before; n != 3 {
		t.Fatalf("%d target connections for 3 closing answers, want 3 (none reused)", n)
	}

	// The client asks to close: it is told so, and the connection ends.
	rc.send("GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, body := rc.read(http.MethodGet)
	if resp.StatusCode != 200 || body != "hello from the backend\n" || !resp.Close {
		t.Fatalf("client close: %d %q close=%v, want 200 with Connection: close", resp.StatusCode, body, resp.Close)
	}
	rc.expectClosed()
}

func TestFastPathMalformedRequestsGet400(t *testing.T) {
	b := startBackend(t, "b")
	addr := fastRouter(t, newTestRouter(t), b)
	hits := b.hits.Load()
	for _, tc := range []struct{ name, raw string }{
		{"no Host", "GET / HTTP/1.1\r\n\r\n"},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
		{"space before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n"},
		{"control character", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"},
		{"bad length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"},
		{"lengths differ", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"bad chunk", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send(tc.raw)
			resp, _ := rc.read(http.MethodGet)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			rc.expectClosed()
		})
	}
	if got := b.hits.Load() - hits; got != 0 {
		t.Fatalf("the target got %d malformed requests", got)
	}
}

func TestFastPathHeaderLimits(t *testing.T) {
	addr := fastRouter(t, newTestRouter(t), startBackend(t, "b"))
	// A big head (a large cookie) still fits: the read buffer grows.
	rc := dialRaw(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 60<<10) + "\r\n\r\n")
	if resp, _ := rc.read(http.MethodGet); resp.StatusCode != 200 {
		t.Fatalf("60 kB head: %d, want 200", resp.StatusCode)
	}
	for name, raw := range map[string]string{
		"head over 64 kB": "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 70<<10) + "\r\n\r\n",
		"300 fields":      "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 300) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send(raw)
			if resp, _ := rc.read(http.MethodGet); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d, want 431", resp.StatusCode)
			}
			rc.expectClosed()
		})
	}
}

func TestFastPathSlowClientsAreCut(t *testing.T) {
	r := New(Options{Logger: testLogger(t), ClientHeaderTimeout: 300 * time.Millisecond, ClientIdleTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	addr := fastRouter(t, r, startBackend(t, "b"))

	// Slowloris: a head that never ends gets 408 once the header timeout is over.
	rc := dialRaw(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	resp, _ := rc.read(http.MethodGet)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("unfinished head: %d, want 408", resp.StatusCode)
	}
	rc.expectClosed()

	// A connection that sent nothing, and one idle after a request, are closed.
	silent := dialRaw(t, addr)
	idle := dialRaw(t, addr)
	idle.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := idle.read(http.MethodGet); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	silent.expectClosed()
	idle.expectClosed()
}

func TestFastPathHandsOverWhatItDoesNotHandle(t *testing.T) {
	r := newTestRouter(t)
	addr := fastRouter(t, r, startBackend(t, "b"))
	for _, tc := range []struct{ name, raw string }{
		{"HTTP/1.0", "GET /small HTTP/1.0\r\n\r\n"},
		{"absolute form", "GET http://x/small HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send(tc.raw)
			if resp, body := rc.read(http.MethodGet); resp.StatusCode != 200 || body != "hello from the backend\n" {
				t.Fatalf("%d %q, want the target's answer", resp.StatusCode, body)
			}
		})
	}
	// Expect: 100-continue goes through net/http, which lets the body come.
	c := &http.Client{Transport: &http.Transport{Proxy: nil, ExpectContinueTimeout: 10 * time.Second}}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/echo", strings.NewReader("after continue"))
	req.Header.Set("Expect", "100-continue")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "after continue" {
		t.Fatalf("Expect: 100-continue: %d %q", resp.StatusCode, body)
	}
	eventually(t, 10*time.Second, "handed-over connections counted in metrics", func() bool {
		return sumSeries(t, r, "testfastpathhandsoverwhatitdoesnothandle", "blue").Target2XX >= 3
	})
}

func TestFastPathEarlyAnswerDuringUpload(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"POST /reject": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		},
	})
	r := newTestRouter(t)
	addr := fastRouter(t, r, b)
	rc := dialRaw(t, addr)
	// Only part of a 10 MB body is ever sent: the target answers without it.
	rc.send("POST /reject HTTP/1.1\r\nHost: x\r\nContent-Length: 10485760\r\n\r\n" + strings.Repeat("x", 64<<10))
	resp, _ := rc.read(http.MethodPost)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("early answer: %d, want 413", resp.StatusCode)
	}
	rc.expectClosed() // the rest of the body will not be read
	eventually(t, 10*time.Second, "the 413 counted, nothing in flight", func() bool {
		ts, _ := targetState(r, "testfastpathearlyanswerduringupload", "b1")
		return sumSeries(t, r, "testfastpathearlyanswerduringupload", "blue").Target4XX == 1 && ts.InFlight == 0
	})
}

func TestFastPathInterimResponses(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"/hints": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = io.WriteString(w, "final")
		},
	})
	rc := dialRaw(t, fastRouter(t, newTestRouter(t), b))
	rc.send("GET /hints HTTP/1.1\r\nHost: x\r\n\r\n")
	hints, _ := rc.read(http.MethodGet)
	if hints.StatusCode != http.StatusEarlyHints || hints.Header.Get("Link") == "" {
		t.Fatalf("first response %d %v, want 103 with Link", hints.StatusCode, hints.Header)
	}
	if resp, body := rc.read(http.MethodGet); resp.StatusCode != 200 || body != "final" {
		t.Fatalf("final response %d %q", resp.StatusCode, body)
	}
}

func TestFastPathDropsHopByHopFields(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"/headers": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "X-Hop")
			w.Header().Set("X-Hop", "target-only")
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-End", "kept")
			_ = json.NewEncoder(w).Encode(r.Header)
		},
	})
	rc := dialRaw(t, fastRouter(t, newTestRouter(t), b))
	rc.send("GET /headers HTTP/1.1\r\nHost: x\r\nConnection: X-Secret\r\nX-Secret: s\r\nKeep-Alive: 1\r\n" +
		"Proxy-Authorization: Basic eDp5\r\nTE: trailers\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Kept: yes\r\n\r\n")
	resp, body := rc.read(http.MethodGet)
	var got http.Header
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("decode %q: %v", body, err)
	}
	for _, k := range []string{"Connection", "X-Secret", "Keep-Alive", "Proxy-Authorization", "Forwarded"} {
		if v, ok := got[k]; ok {
			t.Errorf("target got hop-by-hop or replaced field %s: %v", k, v)
		}
	}
	if got.Get("X-Kept") != "yes" || got.Get("Te") != "trailers" || got.Get("X-Forwarded-Proto") != "http" {
		t.Errorf("target got X-Kept %q Te %q X-Forwarded-Proto %q, want yes, trailers, http",
			got.Get("X-Kept"), got.Get("Te"), got.Get("X-Forwarded-Proto"))
	}
	for _, k := range []string{"X-Hop", "Keep-Alive"} {
		if v := resp.Header.Get(k); v != "" {
			t.Errorf("client got hop-by-hop field %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-End") != "kept" || resp.Header.Get("Date") == "" {
		t.Errorf("client got X-End %q Date %q", resp.Header.Get("X-End"), resp.Header.Get("Date"))
	}
}

func TestFastPathPassesTheTargetsStatusLine(t *testing.T) {
	// A target with its own reason phrase and no Date: the reason is kept and a
	// Date added, which also shows the fast path (not net/http) answered.
	addr := rawBackend(t, "HTTP/1.1 200 Fine Thanks\r\nContent-Length: 2\r\n\r\nok")
	r := newTestRouter(t)
	st := mustApply(t, r, twoGroupSpec("reason", []TargetSpec{{ID: "raw", Address: addr}}, nil))
	waitState(t, r, "reason", "raw", TargetHealthy)
	rc := dialRaw(t, st.ProductionAddress)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read(http.MethodGet)
	if resp.Status != "200 Fine Thanks" || body != "ok" || resp.Header.Get("Date") == "" {
		t.Fatalf("status %q body %q date %q", resp.Status, body, resp.Header.Get("Date"))
	}
}

// silentStream is a handler that starts a stream and then sends nothing until
// its client goes away, counted in gone.
func silentStream(gone *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": hello\n\n")
		_ = http.NewResponseController(w).Flush()
		<-r.Context().Done()
		gone.Add(1)
	}
}

func TestFastPathSilentStreams(t *testing.T) {
	var gone atomic.Int64
	r, spec, st, _, newB := drainSetupWith(t, "silent", 2*time.Second, map[string]http.HandlerFunc{"/silent": silentStream(&gone)})

	// A client that leaves a silent stream: the target sees it go.
	rc := dialRaw(t, st.ProductionAddress)
	rc.send("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(rc.br, nil); err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v", err)
	}
	rc.c.Close()
	eventually(t, 10*time.Second, "the target to see the client leave", func() bool { return gone.Load() == 1 })
	eventually(t, 10*time.Second, "nothing in flight", func() bool {
		ts, _ := targetState(r, "silent", "old")
		return ts.InFlight == 0 && ts.LongLived == 0
	})

	// A silent stream on a drained target is cut once the delay is over, though
	// no byte moves that would show the router it should stop.
	rc = dialRaw(t, st.ProductionAddress)
	rc.send("GET /silent HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan time.Time, 1)
	go func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		ended <- time.Now()
	}()
	removed := deregisterOld(t, r, spec, newB)
	end := <-ended
	if d := end.Sub(removed); d < 2*time.Second-100*time.Millisecond {
		t.Fatalf("stream cut %s after deregistration, before the 2s delay", d)
	}
	waitGone(t, r, "silent", "old")
	eventually(t, 10*time.Second, "the target to see the cut", func() bool { return gone.Load() == 2 })
}

func TestFastPathBrokenTargets(t *testing.T) {
	for _, tc := range []struct {
		name, response string
		status         int // what the client gets; 0: a cut response
	}{
		{"garbage", "SSH-2.0-OpenSSH_9.6\r\n\r\n", http.StatusBadGateway},
		{"huge head", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", 70<<10) + "\r\n\r\n", http.StatusBadGateway},
		{"lengths differ", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", http.StatusBadGateway},
		{"switches protocols unasked", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", http.StatusBadGateway},
		{"closes mid-body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", 0},
		{"closes without answering", "", http.StatusBadGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawClosingBackend(t, tc.response)
			r := newTestRouter(t)
			name := strings.ReplaceAll(tc.name, " ", "-")
			st := mustApply(t, r, twoGroupSpec(name, []TargetSpec{{ID: "x", Address: addr}}, nil))
			// The raw target answers health checks as it answers everything:
			// healthy or not, it gets traffic (failing open) once checked.
			eventually(t, 15*time.Second, "the target checked", func() bool {
				ts, _ := targetState(r, name, "x")
				return ts.State == TargetHealthy || ts.State == TargetUnhealthy
			})
			rc := dialRaw(t, st.ProductionAddress)
			rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(rc.br, nil)
			if tc.status == 0 {
				if err == nil {
					_, err = io.ReadAll(resp.Body)
				}
				if err == nil {
					t.Fatal("a cut response reached the client whole")
				}
				return
			}
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("got %v %v, want %d", resp, err, tc.status)
			}
			eventually(t, 10*time.Second, "the answer counted as ELB 5XX", func() bool {
				return sumSeries(t, r, name, "blue").ELB5XX >= 1
			})
		})
	}
}

// rawClosingBackend answers every connection's first request with response,
// then closes it.
func rawClosingBackend(tb testing.TB, response string) string {
	return tcpServer(tb, func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		_, _ = io.WriteString(c, response)
	})
}

// TestFastPathStaleConnectionsAndPosts makes the target close idle connections
// quickly: a POST, which is not sent twice, must not land on a pooled
// connection the target has closed.
func TestFastPathStaleConnectionsAndPosts(t *testing.T) {
	b := startBackendWith(t, "b", func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond })
	addr := fastRouter(t, newTestRouter(t), b)
	c := newClient()
	for i := range 8 {
		resp, err := c.Post("http://"+addr+"/echo", "text/plain", strings.NewReader(fmt.Sprint("post ", i)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != fmt.Sprint("post ", i) {
			t.Fatalf("POST %d after the target closed idle connections: %d %q", i, resp.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond) // the pooled connection goes stale
	}
}

// The router's own answer reaches a client that asked to close the
// connection: it is sent before the connection ends.
func TestFastPathOwnAnswerBeforeAClose(t *testing.T) {
	r := newTestRouter(t)
	addr := mustApply(t, r, twoGroupSpec("empty", nil, nil)).ProductionAddress
	rc := dialRaw(t, addr)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if resp, _ := rc.read(http.MethodGet); resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
		t.Fatalf("no target, client closing: %d close=%v, want 503 with Connection: close", resp.StatusCode, resp.Close)
	}
	rc.expectClosed()
}
