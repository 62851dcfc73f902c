package router

import (
	"net"
	"net/http"
	"time"
)

// newTargetTransport is the RoundTripper of one target for the requests the fast
// path hands over to net/http (see package doc): protocol upgrades, Expect,
// HTTP/1.0 and unusual framings. They are rare, so net/http's Transport, tuned,
// serves them; everything common takes the fast path's own pool (upstream.go).
func newTargetTransport(address string, ts transportSettings) *http.Transport {
	dialer := &net.Dialer{Timeout: ts.dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil, // never a proxy from the environment
		DialContext:           dialer.DialContext,
		MaxIdleConns:          ts.maxIdleConns,
		MaxIdleConnsPerHost:   ts.maxIdleConns,
		IdleConnTimeout:       ts.idleTimeout,
		ResponseHeaderTimeout: ts.responseHeaderTimeout,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // pass the target's encoding through untouched
		WriteBufferSize:       32 << 10,
		ReadBufferSize:        32 << 10,
	}
}
