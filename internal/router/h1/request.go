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
	otherForm  bool     // a request-target other than origin form
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
// into q. It fails with ErrMalformed for a head a server must refuse with 400
// and close (RFC 9112: no or an empty or invalid Host, both Content-Length and
// Transfer-Encoding, Transfer-Encoding in HTTP/1.0, a transfer coding list not
// ending in chunked), ErrTooManyFields (431), or ErrUnsupported for a valid
// head the fast path leaves to a general server: HTTP/1.0 and 2+, a
// request-target other than origin form, a transfer coding besides chunked.
// Obsolete line folding is malformed.
func ParseRequest(head []byte, q *Request) error {
	q.reset()
	line, rest := nextLine(head)
	if err := q.parseRequestLine(line); err != nil {
		return err
	}
	var te transferCodings
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
		if err := q.note(&f, info, &te); err != nil {
			return err
		}
		q.Fields = append(q.Fields, f)
	}
	if err := q.checkFraming(te); err != nil {
		return err
	}
	markConnectionFields(q.Fields, q.connTokens)
	return nil
}

// transferCodings is what a request's Transfer-Encoding fields said.
type transferCodings struct {
	fields       int  // Transfer-Encoding field lines
	chunkedOnly  bool // the one field is exactly "chunked"
	chunkedFinal bool // the codings end with chunked
}

// note records what field f tells about the request and classifies it.
func (q *Request) note(f *Field, info fieldInfo, te *transferCodings) error {
	switch info {
	case infoHost:
		if q.Host != nil {
			return ErrMalformed // RFC 9112 3.2: more than one Host
		}
		q.Host = f.Value
		f.Kind = KindHost
	case infoContentLength:
		if err := noteLength(f, &q.ContentLength); err != nil {
			return err
		}
	case infoTransferEncoding:
		f.Kind = KindHop
		te.fields++
		te.chunkedOnly = equalFold(f.Value, "chunked")
		te.chunkedFinal = endsWithChunked(f.Value)
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
	case infoTrailer:
		f.Kind = KindTrailer
	}
	return nil
}

// checkFraming applies RFC 9112's rules on message framing and Host once the
// whole head is read.
func (q *Request) checkFraming(te transferCodings) error {
	switch {
	case te.fields > 0 && q.Minor == 0:
		return ErrMalformed // 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing
	case te.fields > 0 && q.ContentLength >= 0:
		return ErrMalformed // 6.1: both is a smuggling attempt; refuse and close
	case te.fields > 1 || te.fields == 1 && !te.chunkedFinal:
		return ErrMalformed // 6.3: the body length cannot be determined
	case q.Minor == 0, q.otherForm:
		return ErrUnsupported
	case te.fields == 1 && !te.chunkedOnly:
		return ErrUnsupported // other codings before chunked
	}
	q.Chunked = te.fields == 1
	if len(q.Host) == 0 || !validHost(q.Host) {
		return ErrMalformed // 3.2: an HTTP/1.1 request has one valid, non-empty Host
	}
	return nil
}

// endsWithChunked reports whether a Transfer-Encoding list's last coding is
// chunked.
func endsWithChunked(v []byte) bool {
	last := []byte(nil)
	tokens(v, func(tok []byte) { last = tok })
	return equalFold(last, "chunked")
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
	case major != 1:
		return ErrUnsupported
	}
	// Absolute, authority or asterisk form: left to a general server once the
	// framing is known to be sound.
	q.otherForm = q.Target[0] != '/' || string(q.Method) == "CONNECT"
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
		// obs-fold (RFC 9112 5.2): refused, as nginx does. Unfolding it would
		// make a folded Transfer-Encoding count here and not at a proxy in
		// front that ignores it: a way to smuggle requests.
		return Field{}, 0, ErrMalformed
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
