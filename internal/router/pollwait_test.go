package router

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestPollDescriptorFound: on the Go release the project builds with, a TCP
// connection's poll descriptor is found, so reads after a drained one wait
// first. A Go upgrade that moves the fields fails here instead of quietly
// costing a system call per request.
func TestPollDescriptorFound(t *testing.T) {
	if !pollCtxOffsets.ok {
		t.Fatal("net.TCPConn's poll descriptor not found: the standard library's layout changed")
	}
	_, server := tcpPair(t)
	if pollCtxOf(server) == 0 {
		t.Fatal("no poll descriptor for a TCP connection")
	}
	if s := socketOf(newRawSocket(server)); s == nil || s.pd == 0 {
		t.Fatal("the raw socket has no poll descriptor")
	}
}

// drainedSocket returns a raw socket over server whose last read took all
// there was ("hello"), so that its next read waits first, and the peer.
func drainedSocket(t *testing.T) (*rawSocket, net.Conn) {
	t.Helper()
	client, server := tcpPair(t)
	s := socketOf(newRawSocket(server))
	if _, err := client.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("first read: %q, %v", buf[:n], err)
	}
	if !s.drained {
		t.Fatal("a read that filled less than its buffer did not mark the socket drained")
	}
	return s, client
}

// readAsync reads once on another goroutine.
func readAsync(s *rawSocket, size int) <-chan readResult {
	done := make(chan readResult, 1)
	go func() {
		buf := make([]byte, size)
		n, err := s.Read(buf)
		done <- readResult{string(buf[:n]), err}
	}()
	return done
}

type readResult struct {
	data string
	err  error
}

func await(t *testing.T, done <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("the read never returned")
		return readResult{}
	}
}

func TestWaitFirstReadGetsWhatComesLater(t *testing.T) {
	s, client := drainedSocket(t)
	done := readAsync(s, 64)
	time.Sleep(50 * time.Millisecond) // the read is waiting
	_, _ = client.Write([]byte("world"))
	if r := await(t, done); r.err != nil || r.data != "world" {
		t.Fatalf("read %q, %v", r.data, r.err)
	}
	expectWaitedFirst(t, s, 1)
}

// Bytes that came between the drained read and the next are not lost: the
// runtime noted their arrival, and the wait returns at once.
func TestWaitFirstReadGetsWhatCameBefore(t *testing.T) {
	s, client := drainedSocket(t)
	_, _ = client.Write([]byte("early"))
	time.Sleep(50 * time.Millisecond) // the poller has seen them come
	if r := await(t, readAsync(s, 64)); r.err != nil || r.data != "early" {
		t.Fatalf("read %q, %v", r.data, r.err)
	}
	expectWaitedFirst(t, s, 1)
}

// An arrival the last read took already leaves the runtime's readiness set:
// the wait returns, the read finds nothing, and the read waits the usual way.
func TestWaitFirstReadAfterStaleReadiness(t *testing.T) {
	client, server := tcpPair(t)
	s := socketOf(newRawSocket(server))
	_, _ = client.Write([]byte("a"))
	time.Sleep(20 * time.Millisecond) // noted by the poller
	_, _ = client.Write([]byte("b"))
	time.Sleep(20 * time.Millisecond)
	buf := make([]byte, 64)
	if n, err := s.Read(buf); err != nil || string(buf[:n]) != "ab" {
		t.Fatalf("first read %q, %v", buf[:n], err)
	}
	done := readAsync(s, 64)
	time.Sleep(50 * time.Millisecond)
	_, _ = client.Write([]byte("c"))
	if r := await(t, done); r.err != nil || r.data != "c" {
		t.Fatalf("read %q, %v", r.data, r.err)
	}
}

// A read that filled its buffer leaves bytes behind that no new arrival will
// announce: the next read reads first.
func TestFullReadDoesNotWaitFirst(t *testing.T) {
	client, server := tcpPair(t)
	s := socketOf(newRawSocket(server))
	_, _ = client.Write([]byte("0123456789"))
	time.Sleep(20 * time.Millisecond)
	buf := make([]byte, 4)
	if n, err := s.Read(buf); err != nil || n != 4 {
		t.Fatalf("read %d, %v", n, err)
	}
	if s.drained {
		t.Fatal("a read that filled its buffer marked the socket drained")
	}
	if r := await(t, readAsync(s, 64)); r.err != nil || r.data != "456789" {
		t.Fatalf("read %q, %v", r.data, r.err)
	}
	expectWaitedFirst(t, s, 0)
}

// A wait ends as a read's would: at the peer's end of the stream, at the
// deadline, when cut, and when the socket is closed under it.
func TestWaitFirstReadEnds(t *testing.T) {
	t.Run("end of stream", func(t *testing.T) {
		s, client := drainedSocket(t)
		done := readAsync(s, 64)
		time.Sleep(20 * time.Millisecond)
		client.Close()
		if r := await(t, done); r.err != io.EOF {
			t.Fatalf("read %q, %v, want EOF", r.data, r.err)
		}
		expectWaitedFirst(t, s, 1)
	})
	t.Run("deadline", func(t *testing.T) {
		s, _ := drainedSocket(t)
		_ = s.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if r := await(t, readAsync(s, 64)); !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("read past the deadline: %v", r.err)
		}
		expectWaitedFirst(t, s, 1)
	})
	t.Run("cut", func(t *testing.T) {
		s, _ := drainedSocket(t)
		done := readAsync(s, 64)
		time.Sleep(20 * time.Millisecond)
		s.cutRead()
		if r := await(t, done); !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("read cut: %v", r.err)
		}
		expectWaitedFirst(t, s, 1)
	})
	t.Run("closed", func(t *testing.T) {
		s, _ := drainedSocket(t)
		done := readAsync(s, 64)
		time.Sleep(20 * time.Millisecond)
		_ = s.Close()
		if r := await(t, done); !errors.Is(r.err, net.ErrClosed) {
			t.Fatalf("read on a closed socket: %v", r.err)
		}
		expectWaitedFirst(t, s, 1)
	})
}

func expectWaitedFirst(t *testing.T, s *rawSocket, want int) {
	t.Helper()
	if s.waitedFirst != want {
		t.Fatalf("%d reads waited first, want %d", s.waitedFirst, want)
	}
}
