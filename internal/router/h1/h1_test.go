package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func parseReq(t *testing.T, head string) (*Request, error) {
	t.Helper()
	var q Request
	r := NewReader(strings.NewReader(head), make([]byte, 64), 64<<10)
	n, err := ReadHead(r, nil)
	if err != nil {
		return nil, err
	}
	return &q, ParseRequest(r.Buffered()[:n], &q)
}

func TestParseRequestClassifiesFields(t *testing.T) {
	q, err := parseReq(t, "POST /a?b=c HTTP/1.1\r\n"+
		"Host: example.com:8080\r\n"+
		"Content-Length: 5\r\n"+
		"Connection: close, X-Secret\r\n"+
		"X-Secret: 1\r\n"+
		"Keep-Alive: timeout=5\r\n"+
		"TE: trailers, deflate\r\n"+
		"X-Forwarded-For: 203.0.113.7\r\n"+
		"X-Forwarded-Proto: https\r\n"+
		"Forwarded: for=1.2.3.4\r\n"+
		"Proxy-Authorization: Basic x\r\n"+
		"Cookie:   a=b  \r\n"+
		"\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if string(q.Method) != "POST" || string(q.Target) != "/a?b=c" || q.Minor != 1 {
		t.Fatalf("request line: %q %q 1.%d", q.Method, q.Target, q.Minor)
	}
	if string(q.Host) != "example.com:8080" || q.ContentLength != 5 || q.Chunked || !q.Close || !q.TrailersOK {
		t.Fatalf("request: %+v", q)
	}
	want := map[string]Kind{
		"Host": KindHost, "Content-Length": KindOther, "Connection": KindHop, "X-Secret": KindHop,
		"Keep-Alive": KindHop, "TE": KindHop, "X-Forwarded-For": KindXForwardedFor,
		"X-Forwarded-Proto": KindForwarded, "Forwarded": KindForwarded, "Proxy-Authorization": KindHop,
		"Cookie": KindOther,
	}
	if len(q.Fields) != len(want) {
		t.Fatalf("%d fields, want %d", len(q.Fields), len(want))
	}
	for _, f := range q.Fields {
		if k, ok := want[string(f.Name)]; !ok || k != f.Kind {
			t.Errorf("field %s: kind %d, want %d", f.Name, f.Kind, k)
		}
	}
	if v := q.Fields[len(q.Fields)-1].Value; string(v) != "a=b" {
		t.Errorf("Cookie value %q, want whitespace trimmed", v)
	}
}

func TestParseRequestOutcomes(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		want       error
	}{
		{"minimal", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", nil},
		{"leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", nil},
		{"HTTP/1.2 is 1.1", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", nil},
		{"chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", nil},
		{"same length twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", nil},
		{"no host", "GET / HTTP/1.1\r\n\r\n", ErrMalformed},
		{"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ErrMalformed},
		{"bad host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrMalformed},
		{"space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrMalformed},
		{"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", ErrMalformed},
		{"NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", ErrMalformed},
		{"lone CR in value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", ErrMalformed},
		{"negative length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", ErrMalformed},
		{"length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\n", ErrMalformed},
		{"lengths differ", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", ErrMalformed},
		{"huge length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9999999999999999999\r\n\r\n", ErrMalformed},
		{"no version", "GET /\r\nHost: a\r\n\r\n", ErrMalformed},
		{"bad version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", ErrMalformed},
		{"space in target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", ErrMalformed},
		{"bad method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", ErrMalformed},
		{"HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", ErrUnsupported},
		{"HTTP/2", "PRI * HTTP/2.0\r\n\r\n", ErrUnsupported},
		{"absolute form", "GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", ErrUnsupported},
		{"asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", ErrUnsupported},
		{"CONNECT", "CONNECT /a HTTP/1.1\r\nHost: a\r\n\r\n", ErrUnsupported},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", ErrMalformed},
		{"folded chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", ErrMalformed},
		{"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrUnsupported},
		// RFC 9112 framing and Host rules: 400 and close, never handed over.
		{"empty host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", ErrMalformed},
		{"empty host with spaces", "GET / HTTP/1.1\r\nHost:   \r\n\r\n", ErrMalformed},
		{"length and chunked", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ErrMalformed},
		{"chunked and length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrMalformed},
		{"length and gzip", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrMalformed},
		{"chunked on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrMalformed},
		{"chunked and length on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrMalformed},
		{"chunked on HTTP/1.0 absolute form", "POST http://a/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrMalformed},
		{"two chunked fields", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrMalformed},
		{"chunked not last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", ErrMalformed},
		{"unknown coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", ErrMalformed},
		{"HTTP/1.0 with length", "POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n", ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseReq(t, tc.head); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseRequestLimits(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", MaxFields) + "\r\n"
	if _, err := parseReq(t, head); !errors.Is(err, ErrTooManyFields) {
		t.Fatalf("%d fields: %v, want ErrTooManyFields", MaxFields+1, err)
	}
	var q Request
	r := NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\nX: "+strings.Repeat("y", 5000)+"\r\n\r\n"), make([]byte, 64), 4096)
	if _, err := ReadHead(r, nil); !errors.Is(err, ErrHeadTooLarge) {
		t.Fatalf("head over the limit: %v, want ErrHeadTooLarge", err)
	}
	r = NewReader(strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\nX: "+strings.Repeat("y", 3000)+"\r\n\r\n"), make([]byte, 64), 4096)
	n, err := ReadHead(r, nil)
	if err != nil {
		t.Fatalf("head under the limit, buffer grown: %v", err)
	}
	if err := ParseRequest(r.Buffered()[:n], &q); err != nil {
		t.Fatal(err)
	}
}

// trickle returns its data one byte per Read, as a slow client sends it.
type trickle struct{ data []byte }

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	p[0] = t.data[0]
	t.data = t.data[1:]
	return 1, nil
}

func TestReadHeadAcrossReads(t *testing.T) {
	heads := "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\nHost: a\n\n"
	r := NewReader(&trickle{[]byte(heads)}, make([]byte, 16), 1024)
	var calls []int
	var q Request
	for _, want := range []string{"/1", "/2"} {
		n, err := ReadHead(r, func(buffered int) error {
			calls = append(calls, buffered)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := ParseRequest(r.Buffered()[:n], &q); err != nil || string(q.Target) != want {
			t.Fatalf("target %q (%v), want %s", q.Target, err, want)
		}
		r.Discard(n)
	}
	if calls[0] != 0 || calls[1] != 1 {
		t.Fatalf("before saw %v buffered bytes, want 0 then 1, ...", calls[:2])
	}
	if _, err := ReadHead(r, nil); err != io.EOF {
		t.Fatalf("at the end: %v, want EOF", err)
	}
	r = NewReader(strings.NewReader("GET / HT"), make([]byte, 16), 1024)
	if _, err := ReadHead(r, nil); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut head: %v, want ErrUnexpectedEOF", err)
	}
}

func parseResp(t *testing.T, head string) (*Response, error) {
	t.Helper()
	var p Response
	return &p, ParseResponse([]byte(head), &p)
}

func TestParseResponseFraming(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		headReq    bool
		framing    Framing
		close      bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", false, Fixed, false},
		{"zero length", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, NoBody, false},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, Chunked, false},
		{"chunked wins over length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", false, Chunked, false},
		{"until close", "HTTP/1.1 200 OK\r\n\r\n", false, UntilClose, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, Fixed, true},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n", false, Fixed, false},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n", false, Fixed, true},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", true, NoBody, false},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", false, NoBody, false},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n", false, NoBody, false},
		{"103", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, NoBody, false},
		{"no reason", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false, Fixed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseResp(t, tc.head)
			if err != nil {
				t.Fatal(err)
			}
			if f := p.Framing(tc.headReq); f != tc.framing || p.Close != tc.close {
				t.Fatalf("framing %d close %v, want %d %v", f, p.Close, tc.framing, tc.close)
			}
		})
	}
	p, _ := parseResp(t, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream; charset=utf-8\r\nDate: x\r\nConnection: X-A\r\nX-A: 1\r\n\r\n")
	for _, f := range p.Fields {
		hop := f.Kind == KindHop
		if want := string(f.Name) != "Content-Type" && string(f.Name) != "Date"; hop != want {
			t.Errorf("%s: hop-by-hop %v, want %v", f.Name, hop, want)
		}
	}
	if !p.EventStream || !p.HasDate {
		t.Errorf("EventStream %v HasDate %v, want both", p.EventStream, p.HasDate)
	}
	for _, bad := range []string{
		"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n", "ICY 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
	} {
		if _, err := parseResp(t, bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

// flushCounter counts the writes that reach the underlying writer.
type flushCounter struct {
	bytes.Buffer
	writes int
}

func (f *flushCounter) Write(p []byte) (int, error) {
	f.writes++
	return f.Buffer.Write(p)
}

func TestCopyChunkedPassesChunksAndTrailers(t *testing.T) {
	in := "5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 12\r\n\r\nNEXT"
	src := NewReader(&trickle{[]byte(in)}, make([]byte, 32), 32)
	out := &flushCounter{}
	dst := bufio.NewWriter(out)
	if err := CopyChunked(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Flush()
	if want := "5\r\nhello\r\n7\r\n, world\r\n0\r\nX-Sum: 12\r\n\r\n"; out.String() != want {
		t.Fatalf("relayed %q, want %q", out.String(), want)
	}
	if out.writes < 2 {
		t.Fatalf("%d writes for a trickled body: chunks were not flushed before blocking", out.writes)
	}
	// The trickle gives one byte per read: the relay must not have read past the body.
	if err := src.Fill(); err != nil || string(src.Buffered()) != "N" {
		t.Fatalf("after the body: %q (%v), want the next message's first byte", src.Buffered(), err)
	}
}

func TestCopyChunkedDropsForbiddenTrailerFields(t *testing.T) {
	in := "3\r\nabc\r\n0\r\nContent-Length: 99\r\nX-Checksum: 1\r\ntransfer-encoding: chunked\r\n" +
		"Host: evil\r\nSet-Cookie: a=b\r\nGrpc-Status: 0\r\nTrailer: X\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"
	src := NewReader(strings.NewReader(in), make([]byte, 64), 64)
	var out bytes.Buffer
	dst := bufio.NewWriter(&out)
	if err := CopyChunked(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Flush()
	if want := "3\r\nabc\r\n0\r\nX-Checksum: 1\r\nGrpc-Status: 0\r\n\r\n"; out.String() != want {
		t.Fatalf("relayed %q, want %q", out.String(), want)
	}
}

func TestCopyChunkedRejectsBrokenFraming(t *testing.T) {
	for _, in := range []string{
		"x\r\nhello\r\n0\r\n\r\n",
		"5\r\nhelloXX0\r\n\r\n",
		"10000000000000000\r\n",
		"5 junk\r\nhello\r\n0\r\n\r\n",
		"5\r\nhel",
		"0\r\nBad Trailer\r\n\r\n",
	} {
		src := NewReader(strings.NewReader(in), make([]byte, 64), 64)
		err := CopyChunked(bufio.NewWriter(io.Discard), src)
		var re *ReadError
		if !errors.As(err, &re) {
			t.Errorf("%q: %v, want a ReadError", in, err)
		}
	}
}

func TestCopyFixedAndChunkUntilEOF(t *testing.T) {
	body := strings.Repeat("0123456789", 5000)
	src := NewReader(strings.NewReader(body+"extra"), make([]byte, 100), 100)
	var out bytes.Buffer
	dst := bufio.NewWriterSize(&out, 4096)
	if err := CopyFixed(dst, src, int64(len(body))); err != nil {
		t.Fatal(err)
	}
	dst.Flush()
	if out.String() != body {
		t.Fatalf("copied %d bytes, want %d", out.Len(), len(body))
	}
	src = NewReader(strings.NewReader("short"), make([]byte, 100), 100)
	if err := CopyFixed(dst, src, 10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short body: %v, want ErrUnexpectedEOF", err)
	}

	out.Reset()
	src = NewReader(&trickle{[]byte("abc")}, make([]byte, 100), 100)
	if err := ChunkUntilEOF(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Flush()
	if out.String() != "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n" {
		t.Fatalf("chunked %q", out.String())
	}
}

func TestParsingAllocatesNothing(t *testing.T) {
	head := []byte("GET /small?x=1 HTTP/1.1\r\nHost: bench\r\nUser-Agent: wrk\r\nAccept: */*\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n")
	var q Request
	var p Response
	_ = ParseRequest(head, &q)
	_ = ParseResponse(resp, &p)
	allocs := testing.AllocsPerRun(100, func() {
		if ParseRequest(head, &q) != nil || ParseResponse(resp, &p) != nil {
			t.Fatal("parse failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request and response parsed, want 0", allocs)
	}
}

func BenchmarkParseRequest(b *testing.B) {
	head := []byte("GET /api/orders/12345?expand=items HTTP/1.1\r\nHost: orders.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=abcdef0123456789; theme=dark\r\nConnection: keep-alive\r\n\r\n")
	var q Request
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		if err := ParseRequest(head, &q); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 1234\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\nCache-Control: no-store\r\nSet-Cookie: session=abcdef0123456789; Path=/; HttpOnly\r\n\r\n")
	var p Response
	b.ReportAllocs()
	b.SetBytes(int64(len(head)))
	for b.Loop() {
		if err := ParseResponse(head, &p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendAllowedTrailerNames(t *testing.T) {
	for value, want := range map[string]string{
		"X-Sum":                              "X-Sum",
		"X-Sum, Content-Length,host , X-Two": "X-Sum, X-Two",
		" transfer-encoding , TRAILER,":      "",
		",,X-A,,":                            "X-A",
		"":                                   "",
	} {
		if got := string(AppendAllowedTrailerNames(nil, []byte(value))); got != want {
			t.Errorf("%q: %q, want %q", value, got, want)
		}
	}
	if got := string(AppendAllowedTrailerNames([]byte("kept;"), []byte("Host, X-B"))); got != "kept;X-B" {
		t.Errorf("appended to a prefix: %q", got)
	}
	if n := testing.AllocsPerRun(100, func() {
		var room [64]byte
		_ = AppendAllowedTrailerNames(room[:0], []byte("X-Sum, Content-Length"))
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}
