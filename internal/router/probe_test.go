package router

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// The probe corpus: the requests an attacker sends and the answers a
// misbehaving backend gives, run against the router on loopback. Each probe
// says what the client must get and what must never happen: above all, no
// response may ever reach a client other than the one that asked.

// scriptedBackend answers each request on a raw connection as its path says,
// misbehaving on purpose; every other path gets a normal answer whose body is
// the path, so that a client can tell whose response it got.
type scriptedBackend struct {
	addr string
	mu   sync.Mutex
	// written is signalled after every answer is completely written (second
	// writes included), so that a test can send the next request only then.
	written chan string
	open    int // connections open now
}

// poison is a complete response a misbehaving backend sends after its answer.
const poison = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Poison: 1\r\n\r\nPOISONED!"

func startScriptedBackend(t testing.TB) *scriptedBackend {
	t.Helper()
	b := &scriptedBackend{written: make(chan string, 1024)}
	b.addr = tcpServer(t, b.serve)
	return b
}

func (b *scriptedBackend) serve(c net.Conn) {
	defer c.Close()
	b.mu.Lock()
	b.open++
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.open--
		b.mu.Unlock()
	}()
	r := h1.NewReader(c, make([]byte, 4096), 64<<10)
	var q h1.Request
	for readRequest(r, &q) {
		if string(q.Target) == "/no-read" {
			time.Sleep(time.Minute) // a target that never reads the body nor answers
			return
		}
		if skipBody(r, &q) != nil {
			return
		}
		path, method := string(q.Target), string(q.Method)
		keep := b.answer(c, method, path)
		b.written <- path
		if !keep {
			return
		}
	}
}

// answer writes the response path asks for; false ends the connection.
func (b *scriptedBackend) answer(c net.Conn, method, path string) bool {
	second := func(s string) {
		time.Sleep(5 * time.Millisecond) // a separate send(), after the router has read the answer
		_, _ = io.WriteString(c, s)
	}
	switch path {
	case "/head-extra": // a HEAD answered with a body, in a second send
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n")
		second(poison)
	case "/no-content-body": // a 204 with a body
		_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		second(poison)
	case "/not-modified-body": // a 304 with a body
		_, _ = io.WriteString(c, "HTTP/1.1 304 Not Modified\r\n\r\n")
		second(poison)
	case "/longer-than-length": // more bytes than Content-Length
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		second(poison)
	case "/longer-than-length-one-send":
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"+poison)
	case "/close-after": // answers, then closes the keep-alive connection
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false
	case "/bad-status":
		_, _ = io.WriteString(c, "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok")
		return false
	case "/early-close":
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
		return false
	case "/no-answer":
		return false
	case "/stall-body": // a head and part of the body, then nothing
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart")
		_, _ = io.Copy(io.Discard, c) // until the router closes the connection
		return false
	case "/trailer-announced": // a Trailer field naming fields a trailer may not carry
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTrailer: X-Sum, Content-Length,host , transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n"+
			"3\r\nabc\r\n0\r\nX-Sum: 1\r\nContent-Length: 9\r\n\r\n")
	case "/trailer-only-forbidden":
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nContent-Length: 2\r\n\r\nok")
	case "/huge": // more than any socket buffer holds
		_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 256<<20)
		chunk := make([]byte, 1<<20)
		for range 256 {
			if _, err := c.Write(chunk); err != nil {
				return false
			}
		}
	default:
		body := path
		if method == http.MethodHead {
			body = ""
		}
		_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(path), body)
	}
	return true
}

// waitWritten waits until the backend has written its whole answer to path.
func (b *scriptedBackend) waitWritten(t testing.TB, path string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case p := <-b.written:
			if p == path {
				return
			}
		case <-timeout:
			t.Fatalf("the backend never answered %s", path)
		}
	}
}

// scriptedRouter routes one service to b, checked once and then left alone, so
// that every backend connection is a proxied one.
func scriptedRouter(t testing.TB, r *Router, b *scriptedBackend) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 100 {
		name = name[:100]
	}
	spec := twoGroupSpec(name, []TargetSpec{{ID: "s", Address: b.addr}}, nil)
	spec.HealthCheck.Path = "/health"
	spec.HealthCheck.HealthyThreshold = 1
	spec.HealthCheck.Interval = Duration(time.Hour)
	spec.HealthCheck.Timeout = Duration(5 * time.Second)
	st := mustApply(t, r, spec)
	waitState(t, r, name, "s", TargetHealthy)
	b.waitWritten(t, "/health")
	return st.ProductionAddress
}

// TestNoResponseReachesAnotherClient is the reproduction of issue 10: a backend
// writes a complete response after its answer, in a separate send; the next
// request, from another client on another connection, must get its own answer.
func TestNoResponseReachesAnotherClient(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, newTestRouter(t), b)
	for _, tc := range []struct{ method, path string }{
		{http.MethodHead, "/head-extra"},
		{http.MethodGet, "/no-content-body"},
		{http.MethodGet, "/not-modified-body"},
		{http.MethodGet, "/longer-than-length"},
		{http.MethodGet, "/longer-than-length-one-send"},
		{http.MethodGet, "/close-after"},
	} {
		for _, victim := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodPost} {
			t.Run(strings.TrimPrefix(tc.path, "/")+"/"+victim, func(t *testing.T) {
				a := dialRaw(t, addr)
				a.send(tc.method + " " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
				a.read(tc.method)
				b.waitWritten(t, tc.path)
				time.Sleep(20 * time.Millisecond) // the second send has landed

				v := dialRaw(t, addr)
				v.send(victim + " /victim HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
				resp, body := v.read(victim)
				if resp.Header.Get("X-Poison") != "" || strings.Contains(body, "POISONED") {
					t.Fatalf("%s /victim got the answer meant for another client: %d %q", victim, resp.StatusCode, body)
				}
				want := "/victim"
				if victim == http.MethodHead {
					want = ""
				}
				if resp.StatusCode != 200 || body != want {
					t.Fatalf("%s /victim: %d %q, want 200 %q", victim, resp.StatusCode, body, want)
				}
			})
		}
	}
}

func (b *scriptedBackend) openConns() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// TestIdlePooledConnectionsAreWatched: a pooled connection that receives bytes
// nobody asked for is closed without waiting for a request to find out.
func TestIdlePooledConnectionsAreWatched(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, newTestRouter(t), b)
	eventually(t, 10*time.Second, "the health check connection closed", func() bool { return b.openConns() == 0 })
	a := dialRaw(t, addr)
	a.send("HEAD /head-extra HTTP/1.1\r\nHost: x\r\n\r\n")
	a.read(http.MethodHead)
	b.waitWritten(t, "/head-extra")
	start := time.Now()
	eventually(t, 10*time.Second, "the poisoned idle connection closed by the router", func() bool { return b.openConns() == 0 })
	if d := time.Since(start); d > 2*idleSweepInterval+time.Second {
		t.Fatalf("poisoned idle connection closed after %s", d)
	}
}

// requestProbe is one request an attacker or a broken client sends, and the
// status the router must answer with; close says the connection must end.
type requestProbe struct {
	name, raw string
	status    int
	close     bool
}

// smugglingProbes are the framing tricks request smuggling relies on: each must
// get a 400 and a closed connection, and never reach the target.
var smugglingProbes = []requestProbe{
	{"CL.TE", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
	{"TE.CL", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400, true},
	{"TE.TE second field", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: identity\r\n\r\n0\r\n\r\n", 400, true},
	{"TE list not ending in chunked", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400, true},
	{"TE unknown coding", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400, true},
	{"TE space before colon", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc", 400, true},
	{"TE vertical tab", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n", 400, true},
	{"TE folded", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding:\r\n chunked\r\n\r\nabc", 400, true},
	{"TE on HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, true},
	{"TE and CL on HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, true},
	{"CL with sign", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400, true},
	{"CL list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400, true},
	{"CL differ", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, true},
	{"CL hex", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0x3\r\n\r\nabc", 400, true},
	{"empty Host", "GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, true},
	{"no Host", "GET / HTTP/1.1\r\n\r\n", 400, true},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, true},
	{"NUL in a field", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400, true},
	{"lone CR line end", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400, true},
	{"space in target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
}

// chunkProbes are broken chunked bodies: 400 and close.
var chunkProbes = []requestProbe{
	{"chunk size not hex", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, true},
	{"chunk size bare LF", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n", 400, true},
	{"chunk size overflow", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n", 400, true},
	{"chunk size negative", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n", 400, true},
	{"chunk data too long", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n", 400, true},
	{"chunk extension control", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n", 400, true},
	{"chunk line too long", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;" + strings.Repeat("e", 5000) + "\r\nabc\r\n0\r\n\r\n", 400, true},
	{"trailer without colon", "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nBad Trailer\r\n\r\n", 400, true},
}

// limitProbes are heads past the router's limits.
var limitProbes = []requestProbe{
	{"head over 64 kB", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 70<<10) + "\r\n\r\n", 431, true},
	{"300 fields", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 300) + "\r\n", 431, true},
	{"60 kB head fits", "GET / HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat("c", 60<<10) + "\r\n\r\n", 200, false},
	{"256 fields fit", "GET / HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X-A: 1\r\n", 250) + "\r\n", 200, false},
}

func TestProbeCorpusRequests(t *testing.T) {
	b := startBackend(t, "b")
	addr := fastRouter(t, newTestRouter(t), b)
	for _, set := range []struct {
		name   string
		probes []requestProbe
	}{{"smuggling", smugglingProbes}, {"chunks", chunkProbes}, {"limits", limitProbes}} {
		for _, p := range set.probes {
			t.Run(set.name+"/"+p.name, func(t *testing.T) {
				hits := b.hits.Load()
				rc := dialRaw(t, addr)
				rc.send(p.raw)
				resp, _ := rc.read(http.MethodPost)
				if resp.StatusCode != p.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, p.status)
				}
				if p.close {
					rc.expectClosed()
				}
				if p.status == 400 && !strings.HasPrefix(p.name, "chunk") && !strings.HasPrefix(p.name, "trailer") && b.hits.Load() != hits {
					t.Fatal("the target got the request")
				}
			})
		}
	}
}

// TestForbiddenTrailerFieldsAreDropped: a chunked body's trailer may not carry
// framing, routing or authentication fields; the router drops them both ways.
func TestForbiddenTrailerFieldsAreDropped(t *testing.T) {
	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"POST /trailers": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			got := []string{}
			for k := range r.Trailer {
				got = append(got, k)
			}
			_, _ = io.WriteString(w, strings.Join(sortedStrings(got), ","))
		},
	})
	rc := dialRaw(t, fastRouter(t, newTestRouter(t), b))
	rc.send("POST /trailers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n" +
		"X-Checksum: 1\r\nContent-Length: 5\r\nHost: evil\r\nTransfer-Encoding: chunked\r\nAuthorization: Basic eDp5\r\n\r\n")
	if _, body := rc.read(http.MethodPost); body != "X-Checksum" {
		t.Fatalf("target got trailers %q, want X-Checksum only", body)
	}

	target := rawBackend(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n"+
		"X-Sum: 1\r\nContent-Length: 99\r\nHost: evil\r\nSet-Cookie: a=b\r\n\r\n")
	r := newTestRouter(t)
	st := mustApply(t, r, twoGroupSpec("trailers", []TargetSpec{{ID: "raw", Address: target}}, nil))
	waitState(t, r, "trailers", "raw", TargetHealthy)
	rc = dialRaw(t, st.ProductionAddress)
	rc.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := rc.read(http.MethodGet)
	if body != "abc" || len(resp.Trailer) != 1 || resp.Trailer.Get("X-Sum") != "1" {
		t.Fatalf("client got body %q trailers %v, want abc and X-Sum: 1 only", body, resp.Trailer)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestProbeCorpusBackends: a target that answers with a bad status line,
// closes mid-body or closes without answering gives its client a 502 or a cut
// response, and the next client, on another connection, its own answer.
func TestProbeCorpusBackends(t *testing.T) {
	b := startScriptedBackend(t)
	addr := scriptedRouter(t, newTestRouter(t), b)
	for _, tc := range []struct {
		path   string
		status int // 0: a response cut short
	}{{"/bad-status", 502}, {"/no-answer", 502}, {"/early-close", 0}, {"/close-after", 200}} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			a := dialRaw(t, addr)
			a.send("GET " + tc.path + " HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(a.br, &http.Request{Method: http.MethodGet})
			if err == nil {
				_, err = io.ReadAll(resp.Body)
			}
			switch {
			case tc.status == 0 && err == nil:
				t.Fatal("a response cut short reached the client whole")
			case tc.status != 0 && (err != nil || resp.StatusCode != tc.status):
				t.Fatalf("got %v %v, want %d", resp, err, tc.status)
			}
			b.waitWritten(t, tc.path)
			v := dialRaw(t, addr)
			v.send("GET /victim HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, body := v.read(http.MethodGet); resp.StatusCode != 200 || body != "/victim" {
				t.Fatalf("next client: %d %q, want its own answer", resp.StatusCode, body)
			}
		})
	}
}

// TestForbiddenTrailerNamesAreNotAnnounced: the names of fields a trailer may
// not carry leave the Trailer field too, both ways (the router drops those
// fields from the trailer section; a recipient such as Go's client refuses a
// response announcing them).
func TestForbiddenTrailerNamesAreNotAnnounced(t *testing.T) {
	r := newTestRouter(t)
	addr := scriptedRouter(t, r, startScriptedBackend(t))
	for path, want := range map[string]string{"/trailer-announced": "\r\nTrailer: X-Sum\r\n", "/trailer-only-forbidden": ""} {
		head, resp, body := getWithRawHead(t, addr, path)
		announced := strings.Contains(head, "\r\nTrailer:")
		if want != "" && !strings.Contains(head, want) || want == "" && announced || resp.Trailer.Get("Content-Length") != "" {
			t.Errorf("%s: head %q, trailers %v, body %q; want %q", path, head, resp.Trailer, body, want)
		}
	}

	b := startCustomBackend(t, "b", map[string]http.HandlerFunc{
		"POST /announced": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			_, _ = io.WriteString(w, strings.Join(slices.Sorted(maps.Keys(r.Trailer)), ","))
		},
	})
	rc := dialRaw(t, fastRouter(t, r, b))
	rc.send("POST /announced HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: Content-Length, X-Req\r\n\r\n3\r\nabc\r\n0\r\nX-Req: 1\r\n\r\n")
	if resp, body := rc.read(http.MethodPost); resp.StatusCode != 200 || body != "X-Req" {
		t.Fatalf("target answered %d %q, want 200 and the trailer X-Req", resp.StatusCode, body)
	}
}

// getWithRawHead sends GET path on a new connection and returns the
// response's head as it came, the response and its body.
func getWithRawHead(t *testing.T, addr, path string) (string, *http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var raw bytes.Buffer
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(c, &raw)), nil)
	if err != nil {
		t.Fatalf("%s: %v (%q)", path, err, raw.String())
	}
	body, _ := io.ReadAll(resp.Body)
	head, _, _ := strings.Cut(raw.String(), "\r\n\r\n")
	return head + "\r\n", resp, string(body)
}
