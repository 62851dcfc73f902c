// Command syscallcost prints what one system call costs on this machine: the
// kinds a proxy makes per request that carry no data (a recv that finds
// nothing, nginx's getsockopt(SO_ERROR)) and getpid as the floor. On a
// virtual machine with page-table isolation each is a microsecond or more, a
// few percent of a proxy's CPU time per request; it says what removing one is
// worth before anyone writes the code.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	calls := flag.Int("n", 1_000_000, "calls per kind")
	flag.Parse()
	fd, err := idleSocket()
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 4096)
	var soErr int32
	optLen := uint32(4)
	// Each call must fail or succeed as expected (want): a recv that found
	// bytes would time another call.
	kinds := []struct {
		name string
		want syscall.Errno
		call func() syscall.Errno
	}{
		{"getpid", 0, func() syscall.Errno {
			_, _, errno := syscall.RawSyscall(syscall.SYS_GETPID, 0, 0, 0)
			return errno
		}},
		{"recvfrom, nothing to read (EAGAIN)", syscall.EAGAIN, func() syscall.Errno {
			_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), syscall.MSG_DONTWAIT, 0, 0)
			return errno
		}},
		{"recvfrom MSG_PEEK, nothing to read", syscall.EAGAIN, func() syscall.Errno {
			_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
			return errno
		}},
		{"getsockopt SO_ERROR", 0, func() syscall.Errno {
			_, _, errno := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, fd, syscall.SOL_SOCKET, syscall.SO_ERROR, uintptr(unsafe.Pointer(&soErr)), uintptr(unsafe.Pointer(&optLen)), 0)
			return errno
		}},
	}
	for _, k := range kinds {
		start := time.Now()
		for range *calls {
			if errno := k.call(); errno != k.want {
				log.Fatalf("%s: errno %d (%v), want %d", k.name, errno, errno, k.want)
			}
		}
		fmt.Printf("%-36s %6.0f ns/call\n", k.name, float64(time.Since(start).Nanoseconds())/float64(*calls))
	}
}

// idleSocket returns the descriptor of a connected loopback TCP socket on
// which nothing arrives.
func idleSocket() (uintptr, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("listen: %w", err)
	}
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			select {}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("dial: %w", err)
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("raw conn: %w", err)
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		return 0, fmt.Errorf("descriptor: %w", err)
	}
	return fd, nil
}
