package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"strings"
	"testing"
)

// FuzzParseRequest checks the request parser against net/http's: a head the fast
// path accepts must be one net/http accepts too, read the same way (method,
// target, Host, framing), since the router forwards what it parsed.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /x?y HTTP/1.1\r\nHost: a:1\r\nContent-Length: 3\r\nConnection: close, X\r\nX: 1\r\n\r\nabc",
		"PUT / HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: \x80\xff\r\n\r\n",
		"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := NewReader(strings.NewReader(s), make([]byte, 16), 4096)
		n, err := ReadHead(r, nil)
		if err != nil {
			return
		}
		head := r.Buffered()[:n]
		var q Request
		if err := ParseRequest(head, &q); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTooManyFields) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("fast path accepted a head net/http refuses (%v): %q", err, head)
		}
		if req.Method != string(q.Method) || req.RequestURI != string(q.Target) || req.Host != string(q.Host) {
			t.Fatalf("read differently: %q %q %q vs net/http %q %q %q", q.Method, q.Target, q.Host, req.Method, req.RequestURI, req.Host)
		}
		chunked := len(req.TransferEncoding) > 0
		if chunked != q.Chunked || !chunked && req.ContentLength != max(q.ContentLength, 0) {
			t.Fatalf("framing: chunked %v length %d vs net/http %v %d", q.Chunked, q.ContentLength, chunked, req.ContentLength)
		}
		if req.Close != q.Close {
			t.Fatalf("close %v vs net/http %v", q.Close, req.Close)
		}
	})
}

// FuzzParseResponse checks the response parser against net/http's in the same way.
func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 404\nConnection: close\n\n",
	} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, headRequest bool) {
		r := NewReader(strings.NewReader(s), make([]byte, 16), 4096)
		n, err := ReadHead(r, nil)
		if err != nil {
			return
		}
		head := r.Buffered()[:n]
		var p Response
		if err := ParseResponse(head, &p); err != nil {
			return
		}
		method := http.MethodGet
		if headRequest {
			method = http.MethodHead
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), &http.Request{Method: method})
		if err != nil {
			t.Fatalf("fast path accepted a head net/http refuses (%v): %q", err, head)
		}
		if resp.StatusCode != p.Status {
			t.Fatalf("status %d vs net/http %d", p.Status, resp.StatusCode)
		}
		framing := p.Framing(headRequest)
		if framing == Chunked != (len(resp.TransferEncoding) > 0 && framing != NoBody) {
			t.Fatalf("framing %d vs net/http transfer encoding %v", framing, resp.TransferEncoding)
		}
		if framing == Fixed && resp.ContentLength != p.ContentLength {
			t.Fatalf("length %d vs net/http %d", p.ContentLength, resp.ContentLength)
		}
	})
}

// FuzzCopyChunked checks the chunked relay against net/http's chunked reader: what
// the relay accepts decodes to the same data, and its output is valid chunked.
func FuzzCopyChunked(f *testing.F) {
	for _, s := range []string{
		"5\r\nhello\r\n0\r\n\r\n",
		"3;a=b\r\nabc\r\n1\r\nd\r\n0\r\nX: 1\r\n\r\n",
		"0\r\n\r\n",
		"A\r\n0123456789\r\n0\r\n\r\n",
		"1\r\na\r\n0\r\nContent-Length: 5\r\nX-Sum: 1\r\nHost: h\r\n\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src := NewReader(strings.NewReader(s), make([]byte, 8), 8)
		var out bytes.Buffer
		dst := bufio.NewWriterSize(&out, 16)
		if err := CopyChunked(dst, src); err != nil {
			return
		}
		if err := dst.Flush(); err != nil {
			t.Fatal(err)
		}
		consumed := len(s) - len(src.Buffered())
		want, err := io.ReadAll(httputil.NewChunkedReader(strings.NewReader(s[:consumed])))
		if err != nil {
			t.Fatalf("relay accepted %q, net/http's reader refuses it: %v", s[:consumed], err)
		}
		got, err := io.ReadAll(httputil.NewChunkedReader(&out))
		if err != nil {
			t.Fatalf("relay wrote invalid chunked data %q: %v", out.String(), err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("relayed data %q, want %q", got, want)
		}
	})
}
