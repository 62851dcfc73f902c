package router

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// rawSocket reads and writes a non-blocking TCP socket with raw system calls
// through syscall.RawConn, waiting in the netpoller as net.Conn does when the
// socket is not ready. A regular net.Conn read or write tells the scheduler it
// enters a system call; when it lasts (a loopback write delivers the segment to
// the peer within the call), sysmon hands the goroutine's P to another thread,
// and the thread switches that follow cost more than the call. A read or write
// of a non-blocking socket never blocks, so the fast path makes it as a plain
// call. Measured on the 2-core bench machine with other work running
// (bench/router/run.sh, alternating builds with and without): 51 against 55 µs
// of CPU per proxied request and 0.34 against 0.63 context switches;
// BenchmarkSocketIO shows the context switches going (0.09 against 0.14 per
// round trip), wall time being the same.
//
// Each direction may have an idle timeout: the longest a read or write may
// wait without progress (a body's bytes stalling, a peer not reading what it
// is sent). It costs nothing while the socket is ready: the deadline is set
// only when a call is about to wait, and cleared after. A cut (cutRead,
// cutWrite) ends the wait at once and wins over any idle deadline set after.
//
// A read after one that drained the socket waits before it reads, not after
// a read that finds nothing (pollwait.go).
//
// Deadlines, Close and everything else are the wrapped connection's. A read
// and a write may run at the same time, as on a net.Conn.
type rawSocket struct {
	net.Conn
	rc syscall.RawConn
	r  rawOp   // the read in progress
	w  rawOp   // the write in progress
	fd int     // the socket, for probes of an idle connection only its owner makes
	pd uintptr // the runtime's poll descriptor of the socket (pollWait), or 0

	// drained: the last read found the socket with nothing more to read (it
	// filled less than its buffer), and nothing has reset its readiness since:
	// the next read may wait first (waitThenRead).
	drained     bool
	waitFn      func(fd uintptr)
	waitedFirst int // reads that waited before reading (tests count them)

	// holdWrite makes the next Write a held one (sendOnRead); send is what
	// the next Read sends once it has found the socket quiet. Only the
	// connection's owner uses them, between calls.
	holdWrite bool
	send      []byte
}

// rawOp is one direction's call state; fn is bound once, so that a call
// allocates nothing.
type rawOp struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool

	// idle bounds a wait without progress; 0: only the connection's deadline.
	// Set by the direction's user between calls.
	idle    time.Duration
	mark    int  // n when the idle deadline was last set; -1: not set in this call
	stalled bool // the call stopped before waiting, for the idle deadline to be set
	cut     atomic.Bool
}

func (op *rawOp) begin(p []byte) {
	op.p, op.n, op.err, op.mark, op.stalled = p, 0, nil, -1, false
}

// wouldWait is the EAGAIN answer of a call: wait (false), or stop so that the
// caller sets the idle deadline first, when there was progress since it was
// last set.
func (op *rawOp) wouldWait() bool {
	if op.idle > 0 && op.mark != op.n {
		op.stalled = true
		return true
	}
	return false
}

// socketOf returns the rawSocket under c, or nil.
func socketOf(c net.Conn) *rawSocket {
	s, _ := c.(*rawSocket)
	return s
}

// newRawSocket wraps c, or returns it as it is when it has no file descriptor.
func newRawSocket(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	s := &rawSocket{Conn: c, rc: rc, fd: -1, pd: pollCtxOf(c)}
	s.r.fn = s.read
	s.w.fn = s.write
	s.waitFn = s.waitAndRecv
	_ = rc.Control(func(fd uintptr) { s.fd = int(fd) })
	return s
}

// idleOpen reports whether an idle connection is still open and quiet: no
// byte has come that nobody asked for, and the peer has not closed it. A
// target may close a pooled connection at any time (Node.js does after 5 s),
// and a misbehaving one may send more than its answer (a body after a HEAD or
// 204 answer, more than its Content-Length, in a later send): such a
// connection must never carry another request, or the next client gets the
// stray bytes as its response. It peeks at one byte without waiting: nothing
// to read (EAGAIN) means open and quiet; a byte, the end of the stream or an
// error mean unusable. The caller owns the connection (it is in no one
// else's hands), so the descriptor cannot be closed under the call. A
// connection that cannot be probed is taken as open.
func idleOpen(c net.Conn) bool {
	s, ok := c.(*rawSocket)
	if !ok || s.fd < 0 {
		return true
	}
	var b [1]byte
	for {
		_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(s.fd), uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if errno != syscall.EINTR {
			return errno == syscall.EAGAIN
		}
	}
}

// errNotQuiet is a held request not sent: the connection had bytes nobody
// asked for, or was closed by the peer, when the read that sends it began.
var errNotQuiet = errors.New("pooled connection not quiet: closed by the target or holding stray bytes")

// sendOnRead holds the next Write, which must be the one and only write of a
// request (a flush of its whole head and body): instead of writing at once, the
// next Read sends it within the same wait, after a read has found the socket
// quiet (nothing to read, not closed) and before it waits for the answer. That
// read is the check idleOpen makes, and the one that would have found the
// answer not there yet: a reused connection's exchange costs one read fewer
// than a probe, a write and a read would. The bytes held are the caller's
// buffer, which must not change until that Read. A Read that finds the socket
// not quiet sends nothing and fails with errNotQuiet.
func (s *rawSocket) sendOnRead() { s.holdWrite = true }

// dropHeld forgets a held write that no Read sent.
func (s *rawSocket) dropHeld() {
	if s != nil {
		s.holdWrite, s.send = false, nil
	}
}

// recv and send are recv(2) and send(2) as recvfrom and sendto: a socket's
// own calls skip the file layer read(2) and write(2) go through (file
// position lock, iterator setup), which was about 4% of the router's CPU time
// in a perf profile of bench/router. MSG_NOSIGNAL: a peer gone is an EPIPE
// error, never a signal.
func recv(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), 0, 0, 0)
	return int(n), errno
}

func send(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)), syscall.MSG_NOSIGNAL, 0, 0)
	return int(n), errno
}

func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	s.r.begin(p)
	waitFirst := s.drained && s.send == nil && s.r.idle == 0 && s.pd != 0
	s.drained = false
	if waitFirst {
		if n, err, done := s.waitThenRead(); done {
			return n, err
		}
	}
	err := s.rc.Read(s.r.fn)
	if err == nil && s.send != nil && s.r.err == nil && s.r.n == 0 {
		// The socket could not take the whole request at once (rare: a full
		// send buffer): the rest is written the usual way, then read again.
		err = s.finishSend()
	}
	for err == nil && s.r.stalled {
		s.armIdle(&s.r, true)
		err = s.rc.Read(s.r.fn)
	}
	s.disarmIdle(&s.r, true)
	n := s.r.n
	if err == nil {
		err = s.r.err
	}
	s.r.p = nil
	return n, err
}

// finishSend writes what a held send left, then reads as Read does.
func (s *rawSocket) finishSend() error {
	rest := s.send
	s.send = nil
	if _, err := s.Write(rest); err != nil {
		return err
	}
	return s.rc.Read(s.r.fn)
}

// armIdle sets the idle deadline of a call about to wait.
func (s *rawSocket) armIdle(op *rawOp, read bool) {
	op.stalled = false
	op.mark = op.n
	s.setDeadline(op, read, time.Now().Add(op.idle))
}

// disarmIdle clears the idle deadline a call set, so that it cannot fail a
// later call that does not wait.
func (s *rawSocket) disarmIdle(op *rawOp, read bool) {
	if op.mark >= 0 {
		s.setDeadline(op, read, time.Time{})
	}
}

// setDeadline sets one direction's deadline, unless it is cut: the cut's
// deadline in the past stays (cutRead sets the flag before the deadline, this
// checks it after, so one of the two sees the other).
func (s *rawSocket) setDeadline(op *rawOp, read bool, t time.Time) {
	set := s.SetWriteDeadline
	if read {
		set = s.SetReadDeadline
	}
	_ = set(t)
	if op.cut.Load() {
		_ = set(aLongTimeAgo)
	}
}

// setReadIdle and setWriteIdle set the idle timeouts of reads and writes; 0
// turns one off. Only between calls of that direction; s may be nil (a
// connection without a socket: no idle timeouts).
func (s *rawSocket) setReadIdle(d time.Duration) {
	if s != nil {
		s.r.idle = d
	}
}

func (s *rawSocket) setWriteIdle(d time.Duration) {
	if s != nil {
		s.w.idle = d
	}
}

// cutRead ends the read in progress, if any, and every read until uncutRead.
func (s *rawSocket) cutRead() {
	s.r.cut.Store(true)
	_ = s.SetReadDeadline(aLongTimeAgo)
}

// cutWrite is cutRead for writes.
func (s *rawSocket) cutWrite() {
	s.w.cut.Store(true)
	_ = s.SetWriteDeadline(aLongTimeAgo)
}

// uncutRead lets reads go on after a cut, with no deadline.
func (s *rawSocket) uncutRead() {
	if s != nil && s.r.cut.Swap(false) {
		_ = s.SetReadDeadline(time.Time{})
	}
}

// read makes one read(2); false asks RawConn to wait until the socket is
// readable. With a held send, the read that finds nothing sends it before the
// wait: an answer that comes after sets the poller's readiness, which this
// wait sees, as RawConn reset it before the first read.
func (s *rawSocket) read(fd uintptr) bool {
	for {
		n, errno := recv(fd, s.r.p)
		switch errno {
		case 0:
			s.r.n = int(n)
			s.drained = n > 0 && n < len(s.r.p)
			switch {
			case s.send != nil:
				// Bytes or the end of the stream before the request: not quiet.
				s.r.n, s.r.err, s.send = 0, errNotQuiet, nil
			case n == 0:
				s.r.err = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if s.send != nil && !s.sendHeld(fd) {
				return true
			}
			return s.r.wouldWait()
		}
		if s.send != nil {
			s.r.err, s.send = fmt.Errorf("%w: %w", errNotQuiet, errno), nil
			return true
		}
		s.r.err = &net.OpError{Op: "read", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: errno}
		return true
	}
}

// sendHeld writes the held send; false stops the read: the socket took only
// part (Read writes the rest), or the write failed (the read's error).
func (s *rawSocket) sendHeld(fd uintptr) bool {
	for len(s.send) > 0 {
		n, errno := send(fd, s.send)
		switch errno {
		case 0:
			s.send = s.send[n:]
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			s.send = nil
			s.r.err = &net.OpError{Op: "write", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: errno}
			return false
		}
	}
	s.send = nil
	return true
}

func (s *rawSocket) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if s.holdWrite {
		s.holdWrite, s.send = false, p
		return len(p), nil
	}
	s.w.begin(p)
	err := s.rc.Write(s.w.fn)
	for err == nil && s.w.stalled {
		s.armIdle(&s.w, false)
		err = s.rc.Write(s.w.fn)
	}
	s.disarmIdle(&s.w, false)
	n := s.w.n
	if err == nil {
		err = s.w.err
	}
	s.w.p = nil
	return n, err
}

// write writes until all is written or the socket is full (false: RawConn
// waits until it is writable and calls again).
func (s *rawSocket) write(fd uintptr) bool {
	for s.w.n < len(s.w.p) {
		rest := s.w.p[s.w.n:]
		n, errno := send(fd, rest)
		switch errno {
		case 0:
			s.w.n += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return s.w.wouldWait()
		default:
			s.w.err = &net.OpError{Op: "write", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: errno}
			return true
		}
	}
	return true
}

// CloseWrite half-closes the connection (lingering close).
func (s *rawSocket) CloseWrite() error {
	if cw, ok := s.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
