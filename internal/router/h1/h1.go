// Package h1 owns the HTTP/1.1 message syntax of the router's fast path (RFC 9112):
// request and response heads parsed in place from a connection's read buffer, the
// header fields a proxy must understand classified (framing, hop-by-hop fields,
// Host, the X-Forwarded-* family), and message bodies relayed with their framing
// checked (Content-Length, chunked, or until the connection closes). Every other
// field is passed through as received.
//
// Nothing here allocates in the common case: a parsed head's byte slices point
// into the Reader's buffer and stay valid until the Reader is filled again.
package h1

import (
	"bytes"
	"errors"
)

// Errors of parsing. A head that fails with ErrMalformed deserves a 400 from a
// server and a 502 from a proxy; ErrUnsupported marks a head that is valid HTTP
// the fast path chooses not to handle (unusual framing,
// other request-target forms), for a more general implementation to take over.
var (
	ErrMalformed     = errors.New("malformed HTTP/1.1 message")
	ErrUnsupported   = errors.New("HTTP/1.1 message the fast path does not handle")
	ErrHeadTooLarge  = errors.New("message head too large")
	ErrTooManyFields = errors.New("too many header fields")
)

// MaxFields bounds the header fields of one head, so that a head of tiny fields
// cannot make a parser grow its field list without end.
const MaxFields = 256

// Kind says what a proxy must do with a header field.
type Kind uint8

const (
	// KindOther is forwarded as received.
	KindOther Kind = iota
	// KindHop is hop-by-hop (RFC 9110 7.6.1): Connection, the fields it names,
	// Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
	// Transfer-Encoding, Upgrade. Not forwarded; the proxy sets its own framing.
	KindHop
	// KindHost is the Host field.
	KindHost
	// KindXForwardedFor is X-Forwarded-For: the proxy appends the client to it.
	KindXForwardedFor
	// KindForwarded is Forwarded, X-Forwarded-Host, -Proto or -Port: the proxy
	// replaces them with its own.
	KindForwarded
	// KindTrailer is Trailer, which announces the fields of the trailer
	// section: forwarded without the names a trailer may not carry
	// (AppendAllowedTrailerNames), as those fields are dropped from it.
	KindTrailer
)

// Field is one header field. Name and Value point into the Reader's buffer;
// Value has no leading or trailing whitespace.
type Field struct {
	Name, Value []byte
	Kind        Kind
}

// fieldInfo is what parsing learns from a field name.
type fieldInfo uint8

const (
	infoOther fieldInfo = iota
	infoHost
	infoConnection
	infoContentLength
	infoTransferEncoding
	infoUpgrade
	infoExpect
	infoTE
	infoHop // hop-by-hop with no further meaning to the parser
	infoXForwardedFor
	infoForwarded
	infoContentType
	infoDate
	infoHSTS
	infoTrailer
)

// classify looks a field name up among those the proxy understands. Names are
// compared without regard to case; the length switch keeps most lookups to one
// comparison.
func classify(name []byte) fieldInfo {
	switch len(name) {
	case 2:
		if equalFold(name, "TE") {
			return infoTE
		}
	case 4:
		if equalFold(name, "Host") {
			return infoHost
		}
		if equalFold(name, "Date") {
			return infoDate
		}
	case 6:
		if equalFold(name, "Expect") {
			return infoExpect
		}
	case 7:
		if equalFold(name, "Upgrade") {
			return infoUpgrade
		}
		if equalFold(name, "Trailer") {
			return infoTrailer
		}
	case 9:
		if equalFold(name, "Forwarded") {
			return infoForwarded
		}
	case 10:
		if equalFold(name, "Connection") {
			return infoConnection
		}
		if equalFold(name, "Keep-Alive") {
			return infoHop
		}
	case 12:
		if equalFold(name, "Content-Type") {
			return infoContentType
		}
	case 14:
		if equalFold(name, "Content-Length") {
			return infoContentLength
		}
	case 15:
		if equalFold(name, "X-Forwarded-For") {
			return infoXForwardedFor
		}
	case 16:
		if equalFold(name, "X-Forwarded-Host") || equalFold(name, "X-Forwarded-Port") {
			return infoForwarded
		}
		if equalFold(name, "Proxy-Connection") {
			return infoHop
		}
	case 17:
		if equalFold(name, "Transfer-Encoding") {
			return infoTransferEncoding
		}
		if equalFold(name, "X-Forwarded-Proto") {
			return infoForwarded
		}
	case 18:
		if equalFold(name, "Proxy-Authenticate") {
			return infoHop
		}
	case 19:
		if equalFold(name, "Proxy-Authorization") {
			return infoHop
		}
	case 25:
		if equalFold(name, "Strict-Transport-Security") {
			return infoHSTS
		}
	}
	return infoOther
}

// equalFold reports whether b equals the ASCII string s without regard to case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != lower(s[i]) {
			return false
		}
	}
	return true
}

func equalFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// isToken is the tchar set of RFC 9110 5.6.2.
var isToken = [256]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true, '*': true,
	'+': true, '-': true, '.': true, '^': true, '_': true, '`': true, '|': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true,
	'8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true,
	'I': true, 'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true,
	'Q': true, 'R': true, 'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true,
	'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true,
	'i': true, 'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true,
	'q': true, 'r': true, 's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true,
	'y': true, 'z': true,
}

func validToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isToken[c] {
			return false
		}
	}
	return true
}

// validValue reports whether a field value (or reason phrase) holds only
// visible characters, spaces, tabs and obs-text: no other control character.
func validValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength parses a Content-Length value: decimal digits only, no sign, no
// list, at most 18 digits so that it fits an int64.
func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// noteLength records a Content-Length field's value in length (-1: none yet).
// A repeated identical value is forwarded once: the repeat becomes hop-by-hop;
// a different or invalid value is malformed.
func noteLength(f *Field, length *int64) error {
	n, ok := parseLength(f.Value)
	if !ok || *length >= 0 && n != *length {
		return ErrMalformed
	}
	if *length >= 0 {
		f.Kind = KindHop
	}
	*length = n
	return nil
}

// AppendAllowedTrailerNames appends to dst the names in value, a Trailer
// field's, that a trailer section may carry, comma-separated: nothing when
// none is left.
func AppendAllowedTrailerNames(dst, value []byte) []byte {
	start := len(dst)
	for len(value) > 0 {
		var name []byte
		name, value = nextToken(value)
		if len(name) == 0 || forbiddenInTrailer(name) {
			continue
		}
		if len(dst) > start {
			dst = append(dst, ", "...)
		}
		dst = append(dst, name...)
	}
	return dst
}

// tokens calls fn with each element of a comma-separated list value (RFC 9110
// 5.6.1), trimmed, skipping empty ones.
func tokens(v []byte, fn func(tok []byte)) {
	for len(v) > 0 {
		var tok []byte
		if tok, v = nextToken(v); len(tok) > 0 {
			fn(tok)
		}
	}
}

// nextToken returns the first element of a comma-separated list, trimmed,
// and the rest of the list.
func nextToken(v []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		return trimOWS(v[:i]), v[i+1:]
	}
	return trimOWS(v), nil
}
