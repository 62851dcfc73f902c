// Package testnet gives tests loopback addresses to listen on. It owns one
// thing: that no two calls in a test process hand out the same port. The
// kernel may give a port it has just given (and seen closed) to the next bind
// of port 0, so a test that takes two addresses one after the other, for a
// production and a test listener say, could get the same one twice.
package testnet

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// FreeAddr returns a 127.0.0.1 address nothing listened on a moment ago and
// that no earlier call in this process returned.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	mu.Lock()
	defer mu.Unlock()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("free address: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !given[port] {
			given[port] = true
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
	}
	tb.Fatal("free address: the kernel gave only ports handed out before")
	return ""
}
