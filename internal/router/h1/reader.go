package h1

import (
	"bytes"
	"io"
)

// Reader is one connection's read buffer. Unlike a bufio.Reader it can grow, up
// to a limit, so that a whole message head is always contiguous in it, and it
// counts what it has read, so that a proxy knows whether a peer said anything.
type Reader struct {
	src   io.Reader
	buf   []byte
	r, w  int   // buffered bytes are buf[r:w]
	limit int   // the buffer may grow to this size to hold one head
	read  int64 // bytes read from src since Reset
}

// NewReader returns a reader of src that uses buf and may grow it to limit bytes.
func NewReader(src io.Reader, buf []byte, limit int) *Reader {
	r := &Reader{}
	r.Reset(src, buf, limit)
	return r
}

// Reset makes r read src into buf, forgetting what it held.
func (r *Reader) Reset(src io.Reader, buf []byte, limit int) {
	*r = Reader{src: src, buf: buf[:cap(buf)], limit: max(limit, cap(buf))}
}

// Buf returns the buffer, for its owner to recycle once r is done with.
func (r *Reader) Buf() []byte { return r.buf }

// Buffered returns the bytes read but not consumed yet.
func (r *Reader) Buffered() []byte { return r.buf[r.r:r.w] }

// Discard consumes n buffered bytes.
func (r *Reader) Discard(n int) { r.r += n }

// BytesRead returns how many bytes came from the source since Reset or
// ResetCount.
func (r *Reader) BytesRead() int64 { return r.read }

// ResetCount restarts the count of BytesRead.
func (r *Reader) ResetCount() { r.read = 0 }

// Fill reads from the source once, into the buffer's free space; it compacts or
// grows the buffer first when it has none. It returns ErrHeadTooLarge when the
// buffer is full and at its limit. Slices into the buffer taken before Fill may
// be invalid after it.
func (r *Reader) Fill() error {
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	if r.w == len(r.buf) {
		switch {
		case r.r > 0:
			r.w = copy(r.buf, r.buf[r.r:r.w])
			r.r = 0
		case len(r.buf) < r.limit:
			grown := make([]byte, min(max(2*len(r.buf), 4<<10), r.limit))
			r.w = copy(grown, r.buf[r.r:r.w])
			r.r = 0
			r.buf = grown
		default:
			return ErrHeadTooLarge
		}
	}
	n, err := r.src.Read(r.buf[r.w:])
	r.w += n
	r.read += int64(n)
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// Read reads buffered bytes, or from the source when none are buffered.
func (r *Reader) Read(p []byte) (int, error) {
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.r += n
		return n, nil
	}
	n, err := r.src.Read(p)
	r.read += int64(n)
	return n, err
}

// Append adds p to the buffered bytes, as if just read.
func (r *Reader) Append(p []byte) {
	if r.r == r.w {
		r.r, r.w = 0, 0
	}
	if len(r.buf)-r.w < len(p) {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if len(r.buf)-r.w < len(p) {
		grown := make([]byte, r.w+len(p))
		copy(grown, r.buf[:r.w])
		r.buf = grown
	}
	r.w += copy(r.buf[r.w:], p)
}

// ReadHead fills r until its buffered bytes begin with a complete message head
// (through the empty line that ends it) and returns the head's length. Empty
// lines before the head are consumed, as RFC 9112 2.2 allows. before, when not
// nil, runs before every read from the source with the number of bytes of the
// head buffered so far (the caller's chance to flush output it owes or to set a
// deadline); its error stops ReadHead.
func ReadHead(r *Reader, before func(buffered int) error) (int, error) {
	scanned := 0 // the head's end is not in Buffered()[:scanned]
	for {
		b := r.Buffered()
		for scanned == 0 && len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
			if b[0] == '\r' && (len(b) < 2 || b[1] != '\n') {
				break // a lone CR: malformed, which the parser will say
			}
			skip := 1
			if b[0] == '\r' {
				skip = 2
			}
			r.Discard(skip)
			b = r.Buffered()
		}
		if n := headEnd(b, scanned); n > 0 {
			return n, nil
		}
		scanned = max(0, len(b)-3)
		if before != nil {
			if err := before(len(b)); err != nil {
				return 0, err
			}
		}
		if err := r.Fill(); err != nil {
			if err == io.EOF && len(r.Buffered()) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

// headEnd returns the length of the head at the start of b, through the empty
// line ending it (CRLF CRLF, or bare LFs, which RFC 9112 2.2 lets a recipient
// accept), or 0 when b holds no complete head. The search starts at from.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return 0
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
	}
	return 0
}
