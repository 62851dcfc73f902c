package router

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		tb.Fatal("accept failed")
	}
	tb.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestRawSocketReadsWritesAndWaits(t *testing.T) {
	client, server := tcpPair(t)
	raw := newRawSocket(server)
	if _, ok := raw.(*rawSocket); !ok {
		t.Fatalf("a TCP connection was not wrapped: %T", raw)
	}
	// A write bigger than the socket buffers completes: the raw write waits for
	// the socket to drain, as net.Conn does.
	big := strings.Repeat("x", 8<<20)
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, client, int64(len(big)))
		done <- err
	}()
	if n, err := raw.Write([]byte(big)); err != nil || n != len(big) {
		t.Fatalf("write: %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// A read waits for data, reading and writing at once works, and deadlines
	// apply.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = client.Write([]byte("ping"))
	}()
	buf := make([]byte, 16)
	if n, err := raw.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("read: %q, %v", buf[:n], err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = raw.Write([]byte("pong")) })
	_ = raw.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := raw.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past its deadline: %v", err)
	}
	wg.Wait()
	_ = raw.SetReadDeadline(time.Time{})
	if n, err := io.ReadFull(client, buf[:4]); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}
	// The end of the stream is io.EOF; a closed socket is net.ErrClosed.
	client.Close()
	if _, err := raw.Read(buf); err != io.EOF {
		t.Fatalf("read after the peer closed: %v, want EOF", err)
	}
	raw.Close()
	if _, err := raw.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v, want net.ErrClosed", err)
	}
}

// cpuUsage measures the process's CPU time and context switches over a
// benchmark, which say more than wall time on a machine shared with others.
type cpuUsage struct{ start syscall.Rusage }

func startCPU(b *testing.B) *cpuUsage {
	b.Helper()
	u := &cpuUsage{}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u.start); err != nil {
		b.Fatal(err)
	}
	return u
}

// report adds cpu-ns/op and ctxsw/op to the benchmark's results.
func (u *cpuUsage) report(b *testing.B) {
	b.Helper()
	var end syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &end); err != nil {
		b.Fatal(err)
	}
	cpu := func(r *syscall.Rusage) int64 { return r.Utime.Nano() + r.Stime.Nano() }
	switches := func(r *syscall.Rusage) int64 { return r.Nvcsw + r.Nivcsw }
	b.ReportMetric(float64(cpu(&end)-cpu(&u.start))/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(switches(&end)-switches(&u.start))/float64(b.N), "ctxsw/op")
}

// TestHelperEchoServer is not a test: BenchmarkSocketIO runs the test binary
// with ROUTER_ECHO_SERVER set to have a peer in another process, which prints
// its address and echoes 64-byte messages until its stdin closes.
func TestHelperEchoServer(t *testing.T) {
	if os.Getenv("ROUTER_ECHO_SERVER") == "" {
		t.Skip("helper process for BenchmarkSocketIO")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr())
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			buf := make([]byte, 64)
			for {
				if _, err := io.ReadFull(c, buf); err != nil {
					return
				}
				if _, err := c.Write(buf); err != nil {
					return
				}
			}
		}()
	}
}

// echoServer starts TestHelperEchoServer in another process.
func echoServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperEchoServer$")
	cmd.Env = append(os.Environ(), "ROUTER_ECHO_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("echo server: %v", err)
	}
	return strings.TrimSpace(addr)
}

// BenchmarkSocketIO ping-pongs 64-byte messages over many loopback TCP
// connections to a peer in another process (as the router's peers are), with
// net.Conn's reads and writes and with rawSocket's. The difference shows in
// CPU time and context switches (cpu-ns/op, ctxsw/op) more than in wall time.
func BenchmarkSocketIO(b *testing.B) {
	addr := echoServer(b)
	for _, bc := range []struct {
		name string
		wrap func(net.Conn) net.Conn
	}{
		{"net.Conn", func(c net.Conn) net.Conn { return c }},
		{"rawSocket", newRawSocket},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32)
			cpu := startCPU(b)
			defer cpu.report(b)
			b.RunParallel(func(pb *testing.PB) {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Error(err)
					return
				}
				defer c.Close()
				client := bc.wrap(c)
				msg := make([]byte, 64)
				for pb.Next() {
					if _, err := client.Write(msg); err != nil {
						b.Error(err)
						return
					}
					if _, err := io.ReadFull(client, msg); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkIdleOpen is the price of the check every pooled target connection
// gets when taken (one non-blocking peek).
func BenchmarkIdleOpen(b *testing.B) {
	client, _ := tcpPair(b)
	raw := newRawSocket(client)
	b.ReportAllocs()
	for b.Loop() {
		if !idleOpen(raw) {
			b.Fatal("an open, quiet connection probed as unusable")
		}
	}
}

func TestIdleOpenSeesStrayBytesAndClose(t *testing.T) {
	client, server := tcpPair(t)
	raw := newRawSocket(client)
	if !idleOpen(raw) {
		t.Fatal("open and quiet: probed unusable")
	}
	_, _ = server.Write([]byte("x"))
	eventually(t, 5*time.Second, "the stray byte seen", func() bool { return !idleOpen(raw) })
	client2, server2 := tcpPair(t)
	raw2 := newRawSocket(client2)
	server2.Close()
	eventually(t, 5*time.Second, "the close seen", func() bool { return !idleOpen(raw2) })
}
