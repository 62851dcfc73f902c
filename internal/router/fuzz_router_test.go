package router

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// FuzzNoResponseReachesAnotherClient feeds random request bytes and random
// backend answers through a real router on loopback: each client asks for a
// path with its own id, the recording backend writes the fuzzed answer with
// the id of the request it read in place of {ID} (in one send or two, keeping
// the connection or closing it), and no client may ever see another client's
// id. Clients come one after another, each on a new connection, each only
// once the backend has written everything it had to say to the one before:
// the sequence, in which a pooled connection with stray bytes used to
// hand them to the next client.
func FuzzNoResponseReachesAnotherClient(f *testing.F) {
	// ok is a complete answer carrying the id ({ID} is 20 bytes long).
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n{ID}"
	type seed struct {
		req, resp string
		method    uint8
		split     uint16
	}
	// second is an answer head, then a whole answer in a later send.
	second := func(head string, method uint8) seed {
		return seed{"", head + ok, method, uint16(len(head))}
	}
	seeds := []seed{
		second("HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n", 1), // HEAD answered with a body
		second("HTTP/1.1 204 No Content\r\n\r\n", 0),
		second("HTTP/1.1 304 Not Modified\r\n\r\n", 0),
		second("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 3), // more than Content-Length
		second("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 4),
		{"", ok + ok, 0, 0},
		{"", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n{ID}\r\n0\r\n\r\n" + ok, 0, 0},
		{"", "HTTP/1.1 2000 OK\r\nContent-Length: 20\r\n\r\n{ID}", 0, 0},
		{"", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{ID}", 0x80, 0},
		{"", "HTTP/1.1 100 Continue\r\n\r\n" + ok, 2, 25},
		{"Content-Length: 3\r\n\r\nabcGET /x HTTP/1.1\r\nHost: x\r\n\r\n", ok, 2, 0},
		{"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", ok, 2, 0},
		{"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX: 1\r\n\r\n", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{ID}", 2, 5},
		{"Content-Length: 10\r\n\r\nabc", "HTTP/1.1 413 Too Large\r\nContent-Length: 20\r\n\r\n{ID}", 3, 0},
	}
	for _, s := range seeds {
		f.Add([]byte(s.req), []byte(s.resp), s.method, s.split)
	}
	rec := startRecordingBackend(f)
	r := New(Options{
		Logger: testLogger(f), TargetTimeout: 100 * time.Millisecond, ClientHeaderTimeout: 100 * time.Millisecond,
		ClientBodyTimeout: 100 * time.Millisecond, ClientSendTimeout: time.Second,
	})
	f.Cleanup(func() { _ = r.Close(context.Background()) })
	spec := twoGroupSpec("fuzz", []TargetSpec{{ID: "rec", Address: rec.addr}}, nil)
	spec.HealthCheck.Path = "/health"
	spec.HealthCheck.HealthyThreshold = 1
	spec.HealthCheck.Interval = Duration(time.Hour)
	spec.HealthCheck.Timeout = Duration(5 * time.Second)
	addr := mustApply(f, r, spec).ProductionAddress
	waitState(f, r, "fuzz", "rec", TargetHealthy)

	f.Fuzz(func(t *testing.T, req, resp []byte, method uint8, split uint16) {
		if len(req) > 4096 || len(resp) > 4096 {
			return
		}
		rec.set(resp, int(split), method&0x80 != 0)
		for i := range 3 {
			id := newID(t)
			// The first client's method is fuzzed; the next ones GET, whose
			// answers have bodies in which a stray answer would show.
			m := method
			if i > 0 {
				m = 0
			}
			got := exchangeOnce(t, addr, rec, id, m, req)
			for _, m := range idPattern.FindAll(got, -1) {
				if string(m) != id {
					t.Fatalf("client %s got %s's answer: %q", id, m, got)
				}
			}
		}
	})
}

var idPattern = regexp.MustCompile(`uid-[0-9a-f]{16}`)

var fuzzMethods = []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}

func newID(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "uid-" + hex.EncodeToString(b[:])
}

// exchangeOnce sends one tagged request on a new connection and returns all
// the router sent back; it returns once the backend has written what it had
// to say to it, or clearly never got it. The router sends clients well-formed
// HTTP/1.1 only, so the response is read as such; anything after it, or a
// response that does not parse, is returned too.
func exchangeOnce(t *testing.T, addr string, rec *recordingBackend, id string, method uint8, rest []byte) []byte {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := fuzzMethods[int(method&0x7f)%len(fuzzMethods)]
	var head bytes.Buffer
	head.WriteString(m + " /t/" + id + " HTTP/1.1\r\nHost: x\r\n")
	if len(rest) == 0 {
		head.WriteString("\r\n")
	}
	head.Write(rest)
	_, _ = c.Write(head.Bytes())
	var got bytes.Buffer
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	br := bufio.NewReader(io.TeeReader(c, &got))
	status := readFinalResponse(br, m)
	// Nothing may follow the response; a little wait shows stray bytes.
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	_, _ = io.Copy(io.Discard, br)
	wait := 200 * time.Millisecond
	if routerOwnAnswer(status) {
		wait = 20 * time.Millisecond // the backend never got it
	}
	rec.waitWritten(id, wait)
	return got.Bytes()
}

// readFinalResponse reads responses up to the final one, body included, and
// returns its status (0 when none parsed).
func readFinalResponse(br *bufio.Reader, method string) int {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 200 {
			return resp.StatusCode
		}
	}
}

// routerOwnAnswer is a status the router answers without asking a target.
func routerOwnAnswer(status int) bool {
	switch status {
	case 400, 408, 413, 431, 505:
		return true
	}
	return false
}

// recordingBackend answers each request with the fuzzed answer, {ID} replaced
// by the id in the request's path.
type recordingBackend struct {
	addr string

	mu      sync.Mutex
	resp    []byte
	split   int
	closeIt bool
	written map[string]chan struct{}
}

func startRecordingBackend(tb testing.TB) *recordingBackend {
	b := &recordingBackend{written: map[string]chan struct{}{}}
	b.addr = tcpServer(tb, b.serve)
	return b
}

func (b *recordingBackend) set(resp []byte, split int, closeIt bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.resp, b.split, b.closeIt = append([]byte(nil), resp...), split, closeIt
}

func (b *recordingBackend) done(id string) chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := b.written[id]
	if ch == nil {
		ch = make(chan struct{})
		b.written[id] = ch
	}
	return ch
}

// markWritten says the answer to id is all written (a retried request may be
// answered twice).
func (b *recordingBackend) markWritten(id string) {
	ch := b.done(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (b *recordingBackend) waitWritten(id string, timeout time.Duration) {
	select {
	case <-b.done(id):
	case <-time.After(timeout):
	}
	b.mu.Lock()
	delete(b.written, id)
	b.mu.Unlock()
}

func (b *recordingBackend) serve(c net.Conn) {
	defer c.Close()
	r := h1.NewReader(c, make([]byte, 4096), 64<<10)
	var q h1.Request
	for {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if !readRequest(r, &q) {
			return
		}
		path := string(q.Target)
		if err := skipBody(r, &q); err != nil {
			return
		}
		if path == "/health" {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		if !b.answer(c, path) {
			return
		}
	}
}

// answer writes the fuzzed answer for path; false closes the connection.
func (b *recordingBackend) answer(c net.Conn, path string) bool {
	id := idPattern.FindString(path)
	b.mu.Lock()
	resp := bytes.ReplaceAll(b.resp, []byte("{ID}"), []byte(id))
	split, closeIt := b.split%(len(b.resp)+1), b.closeIt
	b.mu.Unlock()
	if split > len(resp) {
		split = len(resp)
	}
	_, _ = c.Write(resp[:split])
	if split > 0 && split < len(resp) {
		time.Sleep(2 * time.Millisecond) // a second send, after the router has read the first
	}
	_, _ = c.Write(resp[split:])
	if id != "" {
		b.markWritten(id)
	}
	return !closeIt
}
