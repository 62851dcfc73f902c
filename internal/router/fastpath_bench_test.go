package router

import (
	"bufio"
	"io"
	"net"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// rawBackend is a minimal keep-alive HTTP/1.1 server that allocates nothing per
// request, so that a benchmark through it counts the router's allocations only.
func rawBackend(tb testing.TB, response string) string {
	return tcpServer(tb, func(c net.Conn) { serveRaw(c, response) })
}

// tcpServer serves each connection to a loopback listener with serve, on its own
// goroutine, until the test ends; it returns the listener's address.
func tcpServer(tb testing.TB, serve func(net.Conn)) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln.Addr().String()
}

func serveRaw(c net.Conn, response string) {
	defer c.Close()
	r := h1.NewReader(c, make([]byte, 4096), 64<<10)
	w := bufio.NewWriter(c)
	var q h1.Request
	for readRequest(r, &q) {
		if err := skipBody(r, &q); err != nil {
			return
		}
		_, _ = w.WriteString(response)
		if w.Flush() != nil || q.Close {
			return
		}
	}
}

// readRequest reads and parses the next request head from r, for test
// targets; false when there is none (or it is not valid).
func readRequest(r *h1.Reader, q *h1.Request) bool {
	n, err := h1.ReadHead(r, nil)
	if err != nil || h1.ParseRequest(r.Buffered()[:n], q) != nil {
		return false
	}
	r.Discard(n)
	return true
}

// skipBody reads the body of q, if any, for test targets.
func skipBody(r *h1.Reader, q *h1.Request) error {
	switch {
	case q.Chunked:
		return h1.CopyChunked(bufio.NewWriter(io.Discard), r)
	case q.ContentLength > 0:
		return h1.CopyFixed(bufio.NewWriter(io.Discard), r, q.ContentLength)
	}
	return nil
}

// rawGets sends GETs on keep-alive connections, one per parallel goroutine,
// reading each response whole; it allocates nothing per request.
func rawGets(b *testing.B, addr string) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b)
	defer cpu.report(b)
	b.RunParallel(func(pb *testing.PB) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		r := h1.NewReader(c, make([]byte, 4096), 64<<10)
		discard := bufio.NewWriter(io.Discard)
		var p h1.Response
		req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: raw\r\nAccept: */*\r\n\r\n")
		for pb.Next() {
			if _, err := c.Write(req); err != nil {
				b.Error(err)
				return
			}
			n, err := h1.ReadHead(r, nil)
			if err == nil {
				err = h1.ParseResponse(r.Buffered()[:n], &p)
			}
			if err != nil {
				b.Error(err)
				return
			}
			r.Discard(n)
			if p.Status != 200 {
				b.Errorf("status %d", p.Status)
				return
			}
			if err := h1.CopyFixed(discard, r, p.ContentLength); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

const rawResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nContent-Length: 23\r\n\r\nhello from the backend\n"

// BenchmarkFastPathRaw measures the fast path between a client and a target that
// allocate nothing: allocs/op are the router's own.
func BenchmarkFastPathRaw(b *testing.B) {
	backend := rawBackend(b, rawResponse)
	r := newTestRouter(b)
	spec := twoGroupSpec("raw", []TargetSpec{{ID: "raw", Address: backend}}, nil)
	st := mustApply(b, r, spec)
	waitState(b, r, "raw", "raw", TargetHealthy)
	rawGets(b, st.ProductionAddress)
}

// BenchmarkFastPathRawDirect is BenchmarkFastPathRaw without the router.
func BenchmarkFastPathRawDirect(b *testing.B) {
	rawGets(b, rawBackend(b, rawResponse))
}
