package h1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Body relays copy one message body from a Reader to a bufio.Writer with its
// framing checked. They flush the writer before every read that may block, so
// that a stream (server-sent events, a slow download) reaches the other side
// as soon as it arrives while data that is already there is sent in one write.
// They do not flush at the end: the caller decides.
//
// A relay's error is a *ReadError when reading the source failed (or the body
// was malformed), else it is the writer's.

// ReadError is a relay's failure on its source side.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "read body: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// maxChunkLine bounds a chunk-size line, extensions included, as net/http does.
const maxChunkLine = 4096

// maxTrailer bounds a chunked body's trailer section.
const maxTrailer = 64 << 10

// CopyFixed relays a body of exactly n bytes.
func CopyFixed(dst *bufio.Writer, src *Reader, n int64) error {
	for n > 0 {
		b := src.Buffered()
		if len(b) == 0 {
			m, err := readThrough(dst, src, n)
			n -= int64(m)
			if err != nil {
				return err
			}
			continue
		}
		if int64(len(b)) > n {
			b = b[:n]
		}
		if _, err := dst.Write(b); err != nil {
			return err
		}
		src.Discard(len(b))
		n -= int64(len(b))
	}
	return nil
}

// readThrough reads from src, which has nothing buffered, straight into dst's
// free buffer space (at most limit bytes) and commits what it read: one copy
// fewer than going through src's buffer.
func readThrough(dst *bufio.Writer, src *Reader, limit int64) (int, error) {
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return 0, err
		}
	}
	buf := dst.AvailableBuffer()
	buf = buf[:min(int64(cap(buf)), limit)]
	n, err := src.Read(buf)
	if n > 0 {
		if _, werr := dst.Write(buf[:n]); werr != nil {
			return n, werr
		}
	}
	switch {
	case err == io.EOF:
		return n, &ReadError{io.ErrUnexpectedEOF}
	case err != nil:
		return n, &ReadError{err}
	case n == 0:
		return 0, &ReadError{io.ErrNoProgress}
	}
	return n, nil
}

// fill flushes dst, then reads more into src.
func fill(dst *bufio.Writer, src *Reader) error {
	if dst.Buffered() > 0 {
		if err := dst.Flush(); err != nil {
			return err
		}
	}
	if err := src.Fill(); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return &ReadError{err}
	}
	return nil
}

// CopyChunked relays a chunked body as a chunked body: each chunk as it comes,
// chunk extensions dropped, the trailer section passed on.
func CopyChunked(dst *bufio.Writer, src *Reader) error {
	for {
		line, err := readLine(dst, src, maxChunkLine)
		if err != nil {
			return err
		}
		size, ok := parseChunkSize(line)
		src.Discard(len(line))
		if !ok {
			return &ReadError{ErrMalformed}
		}
		if size == 0 {
			return copyTrailer(dst, src)
		}
		if err := writeChunkSize(dst, size); err != nil {
			return err
		}
		if err := CopyFixed(dst, src, size); err != nil {
			return err
		}
		if err := expectCRLF(dst, src); err != nil {
			return err
		}
		if _, err := dst.WriteString("\r\n"); err != nil {
			return err
		}
	}
}

// readLine returns the next line in src, LF included, without consuming it.
func readLine(dst *bufio.Writer, src *Reader, limit int) ([]byte, error) {
	scanned := 0
	for {
		b := src.Buffered()
		if i := bytes.IndexByte(b[scanned:], '\n'); i >= 0 {
			return b[:scanned+i+1], nil
		}
		if len(b) >= limit {
			return nil, &ReadError{ErrMalformed}
		}
		scanned = len(b)
		if err := fill(dst, src); err != nil {
			return nil, err
		}
	}
}

// parseChunkSize parses "hex-size [BWS ; extensions] CRLF". A bare LF is
// refused, as net/http refuses it: parsers that differ on line ends are how
// requests get smuggled. At most 15 hex digits, so that the size fits an int64.
func parseChunkSize(line []byte) (int64, bool) {
	if !bytes.HasSuffix(line, []byte("\r\n")) {
		return 0, false
	}
	line = bytes.TrimRight(line[:len(line)-2], " \t")
	var size int64
	digits := 0
	for ; digits < len(line); digits++ {
		c := line[digits]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			goto rest
		}
		size = size<<4 | int64(v)
	}
rest:
	if digits == 0 || digits > 15 {
		return 0, false
	}
	ext := trimOWS(line[digits:])
	if len(ext) > 0 && (ext[0] != ';' || !validValue(ext)) {
		return 0, false
	}
	return size, true
}

func writeChunkSize(dst *bufio.Writer, size int64) error {
	if dst.Available() < 18 { // room for the size line, so that appending stays in the buffer
		if err := dst.Flush(); err != nil {
			return err
		}
	}
	b := strconv.AppendInt(dst.AvailableBuffer(), size, 16)
	b = append(b, '\r', '\n')
	_, err := dst.Write(b)
	return err
}

// expectCRLF consumes the CRLF that ends a chunk's data.
func expectCRLF(dst *bufio.Writer, src *Reader) error {
	for len(src.Buffered()) < 2 {
		if err := fill(dst, src); err != nil {
			return err
		}
	}
	if b := src.Buffered(); b[0] != '\r' || b[1] != '\n' {
		return &ReadError{ErrMalformed}
	}
	src.Discard(2)
	return nil
}

// copyTrailer relays the last chunk's trailer section, through its empty line.
func copyTrailer(dst *bufio.Writer, src *Reader) error {
	if _, err := dst.WriteString("0\r\n"); err != nil {
		return err
	}
	total := 0
	for {
		line, err := readLine(dst, src, maxChunkLine)
		if err != nil {
			return err
		}
		src.Discard(len(line))
		total += len(line)
		if !bytes.HasSuffix(line, []byte("\r\n")) {
			return &ReadError{ErrMalformed}
		}
		field := line[:len(line)-2]
		if len(field) == 0 {
			_, err := dst.WriteString("\r\n")
			return err
		}
		if total > maxTrailer {
			return &ReadError{ErrMalformed}
		}
		f, _, err := parseField(field)
		if err != nil {
			return &ReadError{ErrMalformed}
		}
		if forbiddenInTrailer(f.Name) {
			continue
		}
		if _, err := dst.Write(field); err != nil {
			return err
		}
		if _, err := dst.WriteString("\r\n"); err != nil {
			return err
		}
	}
}

// notInTrailers are the fields RFC 9110 6.5.1 forbids in a trailer section,
// as they control framing, routing, authentication, request modifiers or
// response control, which a recipient must have before the content; with the
// hop-by-hop fields and those a proxy sets itself. A relay drops them: a
// recipient that merged them into the header section would be misled.
var notInTrailers = []string{
	"Age", "Authorization", "Cache-Control", "Connection", "Content-Encoding",
	"Content-Length", "Content-Range", "Content-Type", "Cookie", "Date", "Expect",
	"Expires", "Forwarded", "Host", "If-Match", "If-Modified-Since", "If-None-Match",
	"If-Range", "If-Unmodified-Since", "Keep-Alive", "Location", "Max-Forwards",
	"Pragma", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Range", "Retry-After", "Set-Cookie", "TE", "Trailer", "Transfer-Encoding",
	"Upgrade", "Vary", "WWW-Authenticate", "X-Forwarded-For", "X-Forwarded-Host",
	"X-Forwarded-Port", "X-Forwarded-Proto",
}

func forbiddenInTrailer(name []byte) bool {
	for _, n := range notInTrailers {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}

// ChunkUntilEOF relays a body delimited by the end of the connection as a
// chunked body, each read as one chunk.
func ChunkUntilEOF(dst *bufio.Writer, src *Reader) error {
	for {
		b := src.Buffered()
		if len(b) == 0 {
			err := fill(dst, src)
			var re *ReadError
			if errors.As(err, &re) && re.Err == io.ErrUnexpectedEOF {
				_, err = dst.WriteString("0\r\n\r\n")
				return err
			}
			if err != nil {
				return err
			}
			continue
		}
		if err := writeChunkSize(dst, int64(len(b))); err != nil {
			return err
		}
		if _, err := dst.Write(b); err != nil {
			return err
		}
		src.Discard(len(b))
		if _, err := dst.WriteString("\r\n"); err != nil {
			return err
		}
	}
}
