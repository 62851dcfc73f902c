// Command evloop is the bound of an event-loop fast path, not a proxy to use:
// one edge-triggered epoll loop per GOMAXPROCS on a locked thread, each with
// its own SO_REUSEPORT listener and pool of target connections, relaying
// GET requests without bodies to one target and Content-Length responses
// back, nginx's architecture in Go. It makes the request the router and the
// benchmark's nginx send (the X-Forwarded fields) and no check the router
// makes: no quiet check of a pooled connection, no deadlines, no limits, no
// metrics. bench/router/run.sh measures it as a BASELINE: what the router
// could reach at most if its fast path left Go's goroutine per connection.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listener address")
	target := flag.String("target", "", "backend address host:port")
	flag.Parse()
	taddr, err := sockaddr(*target)
	if err != nil {
		log.Fatalf("target: %v", err)
	}
	laddr, err := sockaddr(*listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	loops := runtime.GOMAXPROCS(0)
	errs := make(chan error, loops)
	for i := range loops {
		l, err := newLoop(laddr, taddr)
		if err != nil {
			log.Fatalf("loop: %v", err)
		}
		if i == 0 {
			// The others bind the port the first was given.
			laddr.Port = l.port
			fmt.Printf("127.0.0.1:%d\n", l.port)
		}
		go func() { errs <- l.run() }()
	}
	log.Print(<-errs)
	os.Exit(1)
}

func sockaddr(hostport string) (*unix.SockaddrInet4, error) {
	a, err := net.ResolveTCPAddr("tcp4", hostport)
	if err != nil {
		return nil, err
	}
	sa := &unix.SockaddrInet4{Port: a.Port}
	copy(sa.Addr[:], a.IP.To4())
	return sa, nil
}

// conn is a client or a target socket of one loop.
type conn struct {
	fd     int
	client bool
	buf    []byte // bytes read and not yet relayed
	peer   *conn  // a client's target during an exchange, a target's client
	want   int    // a target's response length once its head is read, else 0
}

type loop struct {
	ep       int
	listener int
	target   *unix.SockaddrInet4
	port     int // the listener's, for X-Forwarded-Port
	conns    map[int]*conn
	idle     []*conn
	rbuf     []byte
	out      []byte
}

func newLoop(listen, target *unix.SockaddrInet4) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return nil, fmt.Errorf("reuseport: %w", err)
	}
	if err := unix.Bind(fd, listen); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := unix.Listen(fd, 4096); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	port := sa.(*unix.SockaddrInet4).Port
	l := &loop{ep: ep, listener: fd, target: target, port: port, conns: map[int]*conn{}, rbuf: make([]byte, 16<<10)}
	return l, l.watch(fd)
}

func (l *loop) watch(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	return unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev)
}

func (l *loop) run() error {
	runtime.LockOSThread()
	events := make([]unix.EpollEvent, 256)
	for {
		n, err := unix.EpollWait(l.ep, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("epoll_wait: %w", err)
		}
		for _, ev := range events[:n] {
			fd := int(ev.Fd)
			if fd == l.listener {
				l.accept()
				continue
			}
			if c := l.conns[fd]; c != nil {
				l.readable(c)
			}
		}
	}
}

func (l *loop) accept() {
	for {
		fd, _, err := unix.Accept4(l.listener, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			return
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		l.conns[fd] = &conn{fd: fd, client: true}
		if l.watch(fd) != nil {
			l.close(l.conns[fd])
		}
	}
}

// readable reads until a read fills less than the buffer: that one drained
// the socket, and edge-triggered epoll reports the next arrival.
func (l *loop) readable(c *conn) {
	for {
		n, err := unix.Read(c.fd, l.rbuf)
		if err == unix.EAGAIN {
			break
		}
		if err != nil || n == 0 {
			l.close(c)
			return
		}
		c.buf = append(c.buf, l.rbuf[:n]...)
		if n < len(l.rbuf) {
			break
		}
	}
	if c.client {
		l.request(c)
	} else {
		l.response(c)
	}
}

var forwarded = []byte("X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Port: ")

// request sends a complete request head to a target.
func (l *loop) request(c *conn) {
	end := bytes.Index(c.buf, []byte("\r\n\r\n"))
	if end < 0 || c.peer != nil {
		return
	}
	t := l.takeTarget()
	if t == nil {
		l.close(c)
		return
	}
	c.peer, t.peer = t, c
	host := field(c.buf[:end], "\nHost: ")
	out := append(l.out[:0], c.buf[:end+2]...)
	out = append(out, forwarded...)
	out = strconv.AppendInt(out, int64(l.port), 10)
	out = append(out, "\r\nX-Forwarded-Host: "...)
	out = append(out, host...)
	out = append(out, "\r\n\r\n"...)
	l.out = out
	c.buf = c.buf[:copy(c.buf, c.buf[end+4:])]
	if _, err := unix.SendmsgN(t.fd, out, nil, nil, unix.MSG_NOSIGNAL); err != nil {
		l.close(t)
	}
}

// response relays a target's complete response to its client.
func (l *loop) response(t *conn) {
	if t.want == 0 {
		end := bytes.Index(t.buf, []byte("\r\n\r\n"))
		if end < 0 {
			return
		}
		length, err := strconv.Atoi(string(field(t.buf[:end], "\nContent-Length: ")))
		if err != nil {
			l.close(t)
			return
		}
		t.want = end + 4 + length
	}
	if len(t.buf) < t.want {
		return
	}
	c := t.peer
	if c != nil {
		if _, err := unix.SendmsgN(c.fd, t.buf[:t.want], nil, nil, unix.MSG_NOSIGNAL); err != nil {
			l.close(c)
		}
		c.peer = nil
	}
	t.buf, t.want, t.peer = t.buf[:0], 0, nil
	l.idle = append(l.idle, t)
	if c != nil && len(c.buf) > 0 {
		l.request(c)
	}
}

func (l *loop) takeTarget() *conn {
	if n := len(l.idle); n > 0 {
		t := l.idle[n-1]
		l.idle = l.idle[:n-1]
		return t
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	// A blocking connect on loopback, then non-blocking: the bound measures
	// the pooled exchange, not dials.
	if unix.Connect(fd, l.target) != nil || unix.SetNonblock(fd, true) != nil {
		unix.Close(fd)
		return nil
	}
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	t := &conn{fd: fd}
	l.conns[fd] = t
	if l.watch(fd) != nil {
		l.close(t)
		return nil
	}
	return t
}

func (l *loop) close(c *conn) {
	delete(l.conns, c.fd)
	unix.Close(c.fd)
	if p := c.peer; p != nil {
		p.peer = nil
		if !c.client {
			l.close(p) // a client whose target went away mid-exchange
		}
	}
	for i, t := range l.idle {
		if t == c {
			l.idle = append(l.idle[:i], l.idle[i+1:]...)
			break
		}
	}
}

// field returns the value of the header field named by prefix ("\nName: ").
func field(head []byte, prefix string) []byte {
	i := bytes.Index(head, []byte(prefix))
	if i < 0 {
		return nil
	}
	v := head[i+len(prefix):]
	if j := bytes.IndexByte(v, '\r'); j >= 0 {
		v = v[:j]
	}
	return v
}
