package router

import (
	"net"
	"os"
	"reflect"
	"unsafe"
)

// The Go runtime's poller resets a socket's readiness each time a read
// begins (internal/poll's prepareRead), so a goroutine that wants to wait for
// bytes must first read and be told EAGAIN: one system call per wait that
// finds nothing, and on the fast path every request's head is such a wait
// (the client sends it after it has the previous answer). epoll here is
// edge-triggered: the runtime notes every arrival of bytes in the socket's
// poll descriptor, whether anyone waits or not, and only that reset forgets
// it. So a reader that knows the socket had nothing more when its last read
// returned (the read filled less than its buffer) and has not reset it since
// may wait first and read after: what came since has been noted, and the
// wait returns at once. pollWait is the runtime's wait without the reset;
// the runtime marks it for such use (a push linkname), which Go's linker
// checks: a release that stops allowing it fails the build, not a request.
//
//go:linkname pollWait internal/poll.runtime_pollWait
func pollWait(ctx uintptr, mode int) int

// The runtime's answers to pollWait (runtime/netpoll.go).
const (
	pollNoError    = 0
	pollErrClosing = 1
	pollErrTimeout = 2
)

// pollCtxOffsets locate a TCP connection's poll descriptor: the offset of
// net.conn's *netFD in net.TCPConn, and of poll.FD's pd.runtimeCtx in netFD.
// They are found by name and type at start; when the standard library's layout
// is not the one expected, pollCtxOf finds none and every read resets and
// reads first, as before (TestPollDescriptorFound fails, so that a Go upgrade
// that changes the layout is noticed).
var pollCtxOffsets = findPollCtxOffsets()

type pollOffsets struct {
	ok      bool
	fd, ctx uintptr
}

func findPollCtxOffsets() pollOffsets {
	conn, ok := reflect.TypeOf(net.TCPConn{}).FieldByName("conn")
	if !ok || conn.Type.Kind() != reflect.Struct {
		return pollOffsets{}
	}
	fd, ok := conn.Type.FieldByName("fd")
	if !ok || fd.Type.Kind() != reflect.Pointer || fd.Type.Elem().Name() != "netFD" {
		return pollOffsets{}
	}
	pfd, ok := fd.Type.Elem().FieldByName("pfd")
	if !ok || pfd.Type.String() != "poll.FD" {
		return pollOffsets{}
	}
	pd, ok := pfd.Type.FieldByName("pd")
	if !ok || pd.Type.Kind() != reflect.Struct {
		return pollOffsets{}
	}
	ctx, ok := pd.Type.FieldByName("runtimeCtx")
	if !ok || ctx.Type.Kind() != reflect.Uintptr {
		return pollOffsets{}
	}
	return pollOffsets{ok: true, fd: conn.Offset + fd.Offset, ctx: pfd.Offset + pd.Offset + ctx.Offset}
}

// pollCtxOf returns c's runtime poll descriptor, or 0.
func pollCtxOf(c net.Conn) uintptr {
	tc, isTCP := c.(*net.TCPConn)
	if !isTCP || !pollCtxOffsets.ok {
		return 0
	}
	fd := *(*unsafe.Pointer)(unsafe.Add(unsafe.Pointer(tc), pollCtxOffsets.fd))
	if fd == nil {
		return 0
	}
	return *(*uintptr)(unsafe.Add(fd, pollCtxOffsets.ctx))
}

// waitThenRead waits for the socket to become readable, then reads: done is
// false when the wait was for bytes the last read had taken already (the
// runtime had noted them), and the read must take the usual path.
func (s *rawSocket) waitThenRead() (n int, err error, done bool) {
	s.waitedFirst++
	if err := s.rc.Control(s.waitFn); err != nil {
		return 0, err, true
	}
	if s.r.n == 0 && s.r.err == nil {
		return 0, nil, false
	}
	n, err = s.r.n, s.r.err
	s.r.p = nil
	return n, err, true
}

// waitAndRecv runs under Control, which keeps the descriptor (and the
// runtime's poll descriptor with it) from being closed under the wait: a
// Close wakes the wait with pollErrClosing.
func (s *rawSocket) waitAndRecv(fd uintptr) {
	switch pollWait(s.pd, 'r') {
	case pollNoError:
	case pollErrClosing:
		s.r.err = &net.OpError{Op: "read", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: net.ErrClosed}
		return
	case pollErrTimeout:
		s.r.err = &net.OpError{Op: "read", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: os.ErrDeadlineExceeded}
		return
	default:
		return // not pollable: the usual path tells
	}
	s.read(fd)
}
