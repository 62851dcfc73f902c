package router

import (
	"bufio"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/greenlight-ci/greenlight/internal/router/h1"
)

// writeRequestHead writes the head of q as the target gets it: the request line
// as received (in HTTP/1.1), the end-to-end fields as received, the framing the
// body is sent with, and X-Forwarded-For (appended to), -Host, -Port and -Proto
// (replaced), as an ALB sends them. Write errors stay in w until it is flushed.
func writeRequestHead(w *bufio.Writer, q *h1.Request, remoteIP, port, proto []byte) {
	_, _ = w.Write(q.Method)
	_ = w.WriteByte(' ')
	_, _ = w.Write(q.Target)
	_, _ = w.WriteString(" HTTP/1.1\r\n")
	for i := range q.Fields {
		switch f := &q.Fields[i]; f.Kind {
		case h1.KindOther, h1.KindHost:
			writeField(w, f.Name, f.Value)
		case h1.KindTrailer:
			writeTrailerField(w, f)
		}
	}
	if q.Chunked {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if q.TrailersOK {
		_, _ = w.WriteString("Te: trailers\r\n")
	}
	_, _ = w.WriteString("X-Forwarded-For: ")
	for i := range q.Fields {
		if f := &q.Fields[i]; f.Kind == h1.KindXForwardedFor && len(f.Value) > 0 {
			_, _ = w.Write(f.Value)
			_, _ = w.WriteString(", ")
		}
	}
	_, _ = w.Write(remoteIP)
	if len(q.Host) > 0 {
		_, _ = w.WriteString("\r\nX-Forwarded-Host: ")
		_, _ = w.Write(q.Host)
	}
	if len(port) > 0 {
		_, _ = w.WriteString("\r\nX-Forwarded-Port: ")
		_, _ = w.Write(port)
	}
	_, _ = w.WriteString("\r\nX-Forwarded-Proto: ")
	_, _ = w.Write(proto)
	_, _ = w.WriteString("\r\n\r\n")
}

func writeField(w *bufio.Writer, name, value []byte) {
	_, _ = w.Write(name)
	_, _ = w.WriteString(": ")
	_, _ = w.Write(value)
	_, _ = w.WriteString("\r\n")
}

// writeResponseHead writes the head of p as the client gets it: HTTP/1.1, the
// target's status and reason, its end-to-end fields, a Date when it sent none,
// the listener's HSTS field (hsts, when set) when it sent none, and the
// framing the body is relayed with.
func writeResponseHead(w *bufio.Writer, p *h1.Response, date, hsts []byte, framing h1.Framing, closeConn bool) {
	writeStatusLine(w, p)
	if !p.HasDate {
		_, _ = w.Write(date)
	}
	if hsts != nil && !p.HasHSTS {
		_, _ = w.Write(hsts)
	}
	if framing == h1.Chunked || framing == h1.UntilClose {
		_, _ = w.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if closeConn {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
}

// writeInterimHead writes an informational (1xx) response head.
func writeInterimHead(w *bufio.Writer, p *h1.Response) {
	writeStatusLine(w, p)
	_, _ = w.WriteString("\r\n")
}

func writeStatusLine(w *bufio.Writer, p *h1.Response) {
	_, _ = w.WriteString("HTTP/1.1 ")
	_ = w.WriteByte('0' + byte(p.Status/100))
	_ = w.WriteByte('0' + byte(p.Status/10%10))
	_ = w.WriteByte('0' + byte(p.Status%10))
	_ = w.WriteByte(' ')
	_, _ = w.Write(p.Reason)
	_, _ = w.WriteString("\r\n")
	for i := range p.Fields {
		switch f := &p.Fields[i]; f.Kind {
		case h1.KindOther:
			writeField(w, f.Name, f.Value)
		case h1.KindTrailer:
			writeTrailerField(w, f)
		}
	}
}

// writeTrailerField writes a Trailer field without the names of fields a
// trailer section may not carry (the router drops them from it), or nothing
// when no name is left.
func writeTrailerField(w *bufio.Writer, f *h1.Field) {
	var room [128]byte
	if names := h1.AppendAllowedTrailerNames(room[:0], f.Value); len(names) > 0 {
		writeField(w, f.Name, names)
	}
}

// The router's own answers on the fast path besides 502, 503 and 504.
const (
	statusBadRequest     = http.StatusBadRequest
	statusRequestTimeout = http.StatusRequestTimeout
	statusBodyTooLarge   = http.StatusRequestEntityTooLarge
	statusHeaderTooLarge = http.StatusRequestHeaderFieldsTooLarge
	// statusVersionNotSupported answers HTTP/2 prior knowledge where h2c is off.
	statusVersionNotSupported = http.StatusHTTPVersionNotSupported
)

var clientErrorBodies = map[int][]byte{
	statusBadRequest:          []byte("400 Bad Request: malformed HTTP/1.1 request\n"),
	statusRequestTimeout:      []byte("408 Request Timeout: the request did not arrive in time\n"),
	statusBodyTooLarge:        []byte("413 Content Too Large: the request body is over the listener's limit\n"),
	statusHeaderTooLarge:      []byte("431 Request Header Fields Too Large\n"),
	statusVersionNotSupported: []byte("505 HTTP Version Not Supported: use HTTP/1.1, or HTTP/2 over TLS\n"),
}

// writeRouterAnswer writes one of the router's own responses (no body for a
// HEAD request), with the listener's HSTS field when it has one (hsts, a
// whole field line, or nil).
func writeRouterAnswer(w *bufio.Writer, date, hsts []byte, status int, closeConn, headRequest bool) {
	body := routerErrorBodies[status]
	if body == nil {
		body = clientErrorBodies[status]
	}
	_, _ = w.WriteString("HTTP/1.1 ")
	_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(status), 10))
	_ = w.WriteByte(' ')
	_, _ = w.WriteString(http.StatusText(status))
	_, _ = w.WriteString("\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\nContent-Length: ")
	_, _ = w.Write(strconv.AppendInt(w.AvailableBuffer(), int64(len(body)), 10))
	_, _ = w.WriteString("\r\n")
	_, _ = w.Write(date)
	_, _ = w.Write(hsts)
	if closeConn {
		_, _ = w.WriteString("Connection: close\r\n")
	}
	_, _ = w.WriteString("\r\n")
	if !headRequest {
		_, _ = w.Write(body)
	}
}

// dateCache formats the Date field once a second.
type dateCache struct {
	line atomic.Pointer[dateLine]
}

type dateLine struct {
	unix int64
	text []byte // "Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"
}

func (d *dateCache) lineFor(now time.Time) []byte {
	sec := now.Unix()
	if l := d.line.Load(); l != nil && l.unix == sec {
		return l.text
	}
	text := append([]byte("Date: "), now.UTC().AppendFormat(nil, http.TimeFormat)...)
	l := &dateLine{unix: sec, text: append(text, '\r', '\n')}
	d.line.Store(l)
	return l.text
}
