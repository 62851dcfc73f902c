package h1

import "bytes"

// Request is a parsed request head. Its slices point into the Reader's buffer.
type Request struct {
	Method, Target []byte
	// Minor is the x of HTTP/1.x.
	Minor  int
	Fields []Field // in order received; reused across requests
	Host   []byte  // nil when absent

	// ContentLength is the body's length, -1 when there is no Content-Length.
	ContentLength int64
	Chunked       bool
	// Close is set when the client wants the connection closed after the response.
	Close bool
	// Upgrade is set when the client asks for a protocol upgrade, Expect when it
	// sent an Expect field (100-continue), TrailersOK when its TE lists trailers.
	Upgrade, Expect, TrailersOK bool

	connTokens [][]byte // Connection tokens naming fields to drop
}

// HasBody reports whether a body follows the head.
func (q *Request) HasBody() bool { return q.Chunked || q.ContentLength > 0 }

// IsHead reports a HEAD request, whose response has no body.
func (q *Request) IsHead() bool { return string(q.Method) == "HEAD" }

// Idempotent reports a request that may be sent again after a failure before
// any response (RFC 9110 9.2.2).
func (q *Request) Idempotent() bool {
	switch string(q.Method) {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

func (q *Request) reset() {
	*q = Request{Fields: q.Fields[:0], connTokens: q.connTokens[:0], ContentLength: -1}
}

// ParseRequest parses head, a complete request head as ReadHead delimits it,
// into q. It fails with ErrMalformed for a head a server must refuse (400),
// ErrTooManyFields (431), or ErrUnsupported for a valid head the fast path
// leaves to a general server: HTTP/1.0 and 2+, a request-target other than
// origin form, obsolete line folding, a transfer coding other than chunked,
// or both Content-Length and Transfer-Encoding.
func ParseRequest(head []byte, q *Request) error {
	q.reset()
	line, rest := nextLine(head)
	if err := q.parseRequestLine(line); err != nil {
		return err
	}
	te := 0
	for {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		f, info, err := parseField(line)
		if err != nil {
			return err
		}
		if len(q.Fields) == MaxFields {
			return ErrTooManyFields
		}
		switch info {
		case infoHost:
			if q.Host != nil {
				return ErrMalformed // RFC 9112 3.2: more than one Host
			}
			q.Host = f.Value
			f.Kind = KindHost
		case infoContentLength:
			n, ok := parseLength(f.Value)
			if !ok || q.ContentLength >= 0 && n != q.ContentLength {
				return ErrMalformed
			}
			if q.ContentLength >= 0 {
				f.Kind = KindHop // a repeated identical value is forwarded once
			}
			q.ContentLength = n
		case infoTransferEncoding:
			te++
			f.Kind = KindHop
			if !equalFold(f.Value, "chunked") {
				return ErrUnsupported
			}
			q.Chunked = true
		case infoConnection:
			f.Kind = KindHop
			q.parseConnection(f.Value)
		case infoUpgrade:
			f.Kind = KindHop
			q.Upgrade = true
		case infoExpect:
			q.Expect = true
		case infoTE:
			f.Kind = KindHop
			tokens(f.Value, func(tok []byte) {
				if equalFold(tok, "trailers") {
					q.TrailersOK = true
				}
			})
		case infoHop:
			f.Kind = KindHop
		case infoXForwardedFor:
			f.Kind = KindXForwardedFor
		case infoForwarded:
			f.Kind = KindForwarded
		}
		q.Fields = append(q.Fields, f)
	}
	if te > 1 || q.Chunked && q.ContentLength >= 0 {
		return ErrUnsupported
	}
	if q.Host == nil || !validHost(q.Host) {
		return ErrMalformed // RFC 9112 3.2: an HTTP/1.1 request has one valid Host
	}
	markConnectionFields(q.Fields, q.connTokens)
	return nil
}

// parseRequestLine parses "method SP request-target SP HTTP/1.x".
func (q *Request) parseRequestLine(line []byte) error {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return ErrMalformed
	}
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp2 <= sp1+1 {
		return ErrMalformed
	}
	q.Method, q.Target = line[:sp1], line[sp1+1:sp2]
	if !validToken(q.Method) || !validTarget(q.Target) {
		return ErrMalformed
	}
	major, minor, ok := parseVersion(line[sp2+1:])
	switch {
	case !ok:
		return ErrMalformed
	case major != 1 || minor == 0:
		return ErrUnsupported
	case q.Target[0] != '/' || string(q.Method) == "CONNECT":
		return ErrUnsupported // absolute, authority or asterisk form
	}
	q.Minor = minor
	return nil
}

// parseVersion parses "HTTP/x.y" with single digits.
func parseVersion(v []byte) (major, minor int, ok bool) {
	if len(v) != 8 || string(v[:5]) != "HTTP/" || v[6] != '.' {
		return 0, 0, false
	}
	if v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9' {
		return 0, 0, false
	}
	return int(v[5] - '0'), int(v[7] - '0'), true
}

// validTarget accepts any request-target without spaces or control characters;
// which characters a path may hold is the target's business.
func validTarget(t []byte) bool {
	if len(t) == 0 {
		return false
	}
	for _, c := range t {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func validHost(h []byte) bool {
	for _, c := range h {
		if !isHostByte[c] {
			return false
		}
	}
	return true
}

// isHostByte is what net/http accepts in a Host: reg-name, IP literals, port.
var isHostByte = [256]bool{
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true,
	'8': true, '9': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true,
	'i': true, 'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true,
	'q': true, 'r': true, 's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true,
	'y': true, 'z': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true,
	'I': true, 'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true,
	'Q': true, 'R': true, 'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true,
	'Y': true, 'Z': true,
	'!': true, '$': true, '%': true, '&': true, '(': true, ')': true, '*': true, '+': true,
	',': true, '-': true, '.': true, ':': true, ';': true, '=': true, '[': true, '\'': true,
	']': true, '_': true, '~': true,
}

// parseConnection notes "close" and the field names the Connection field lists.
func (q *Request) parseConnection(v []byte) {
	tokens(v, func(tok []byte) {
		switch {
		case equalFold(tok, "close"):
			q.Close = true
		case equalFold(tok, "keep-alive"), equalFold(tok, "upgrade"):
		default:
			q.connTokens = append(q.connTokens, tok)
		}
	})
}

// markConnectionFields makes hop-by-hop the fields the Connection field named
// (RFC 9110 7.6.1), except Host and the framing, which have their own rules.
func markConnectionFields(fields []Field, names [][]byte) {
	for _, name := range names {
		for i := range fields {
			f := &fields[i]
			if f.Kind != KindHost && equalFoldBytes(f.Name, name) && !isFraming(f.Name) {
				f.Kind = KindHop
			}
		}
	}
}

func isFraming(name []byte) bool {
	info := classify(name)
	return info == infoContentLength || info == infoTransferEncoding
}

// nextLine splits off the first line of b (without its CRLF or LF).
func nextLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, nil
	}
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// parseField parses one field line "name: value".
func parseField(line []byte) (Field, fieldInfo, error) {
	if line[0] == ' ' || line[0] == '\t' {
		return Field{}, 0, ErrUnsupported // obs-fold (RFC 9112 5.2)
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return Field{}, 0, ErrMalformed
	}
	name := line[:colon]
	if !validToken(name) {
		return Field{}, 0, ErrMalformed // includes whitespace before the colon
	}
	value := trimOWS(line[colon+1:])
	if !validValue(value) {
		return Field{}, 0, ErrMalformed
	}
	return Field{Name: name, Value: value}, classify(name), nil
}
