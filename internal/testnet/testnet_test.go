package testnet_test

import (
	"net"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// Many addresses in a row are all different, and each can be listened on.
func TestFreeAddrNeverRepeats(t *testing.T) {
	seen := map[string]bool{}
	for range 500 {
		addr := testnet.FreeAddr(t)
		if seen[addr] {
			t.Fatalf("%s handed out twice", addr)
		}
		seen[addr] = true
	}
	addr := testnet.FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
}
