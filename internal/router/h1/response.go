package h1

// Response is a parsed response head. Its slices point into the Reader's buffer.
type Response struct {
	Minor  int // the x of HTTP/1.x
	Status int
	Reason []byte
	Fields []Field // in order received; reused across responses

	// ContentLength is the body's length, -1 when there is no Content-Length
	// (or Transfer-Encoding overrides it).
	ContentLength int64
	Chunked       bool
	// Close is set when the server closes the connection after this response.
	Close bool
	// HasDate is set when the response has a Date field, HasHSTS a
	// Strict-Transport-Security field; EventStream when its Content-Type is
	// text/event-stream.
	HasDate, HasHSTS, EventStream bool

	connTokens [][]byte
}

// Framing is how a message's body is delimited (RFC 9112 6.3).
type Framing uint8

// Framings of a message body.
const (
	NoBody     Framing = iota
	Fixed              // Content-Length bytes
	Chunked            // chunked transfer coding
	UntilClose         // everything until the connection closes
)

// Framing returns how the body of p is delimited; headRequest is set when p
// answers a HEAD request.
func (p *Response) Framing(headRequest bool) Framing {
	switch {
	case headRequest, p.Status < 200, p.Status == 204, p.Status == 304:
		return NoBody
	case p.Chunked:
		return Chunked
	case p.ContentLength == 0:
		return NoBody
	case p.ContentLength > 0:
		return Fixed
	}
	return UntilClose
}

func (p *Response) reset() {
	*p = Response{Fields: p.Fields[:0], connTokens: p.connTokens[:0], ContentLength: -1}
}

// ParseResponse parses head, a complete response head as ReadHead delimits it,
// into p. It fails with ErrMalformed for a head a proxy must not forward (502),
// ErrTooManyFields, or ErrUnsupported for a transfer coding other than chunked.
func ParseResponse(head []byte, p *Response) error {
	p.reset()
	line, rest := nextLine(head)
	if err := p.parseStatusLine(line); err != nil {
		return err
	}
	keepAlive := false
	clField := -1
	for {
		line, rest = nextLine(rest)
		if len(line) == 0 {
			break
		}
		f, info, err := parseField(line)
		if err != nil {
			return err
		}
		if len(p.Fields) == MaxFields {
			return ErrTooManyFields
		}
		switch info {
		case infoContentLength:
			if err := noteLength(&f, &p.ContentLength); err != nil {
				return err
			}
			clField = len(p.Fields)
		case infoTransferEncoding:
			f.Kind = KindHop
			if p.Chunked || !equalFold(f.Value, "chunked") {
				return ErrUnsupported
			}
			p.Chunked = true
		case infoConnection:
			f.Kind = KindHop
			tokens(f.Value, func(tok []byte) {
				switch {
				case equalFold(tok, "close"):
					p.Close = true
				case equalFold(tok, "keep-alive"):
					keepAlive = true
				default:
					p.connTokens = append(p.connTokens, tok)
				}
			})
		case infoDate:
			p.HasDate = true
		case infoHSTS:
			p.HasHSTS = true
		case infoContentType:
			p.EventStream = hasPrefixFold(f.Value, "text/event-stream")
		case infoHop, infoTE, infoUpgrade:
			f.Kind = KindHop
		case infoTrailer:
			f.Kind = KindTrailer
		}
		p.Fields = append(p.Fields, f)
	}
	if p.Chunked && clField >= 0 {
		// RFC 9112 6.3: Transfer-Encoding overrides Content-Length, which an
		// intermediary must remove.
		p.ContentLength = -1
		for i := range p.Fields {
			if classify(p.Fields[i].Name) == infoContentLength {
				p.Fields[i].Kind = KindHop
			}
		}
	}
	if p.Minor == 0 {
		if p.Chunked {
			return ErrMalformed // RFC 9112 6.1: faulty framing in HTTP/1.0
		}
		p.Close = p.Close || !keepAlive
	}
	markConnectionFields(p.Fields, p.connTokens)
	return nil
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT SP reason", the reason possibly
// empty or, with its space, missing.
func (p *Response) parseStatusLine(line []byte) error {
	if len(line) < 12 || line[8] != ' ' {
		return ErrMalformed
	}
	major, minor, ok := parseVersion(line[:8])
	if !ok || major != 1 {
		return ErrMalformed
	}
	code := line[9:12]
	for _, c := range code {
		if c < '0' || c > '9' {
			return ErrMalformed
		}
	}
	p.Minor = minor
	p.Status = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if p.Status < 100 {
		return ErrMalformed
	}
	switch {
	case len(line) == 12:
		p.Reason = nil
	case line[12] != ' ':
		return ErrMalformed
	default:
		p.Reason = line[13:]
	}
	if !validValue(p.Reason) {
		return ErrMalformed
	}
	return nil
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && equalFold(b[:len(prefix)], prefix)
}
