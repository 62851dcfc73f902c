package router

import (
	"net"
	"net/http"
	"strings"
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

// newGRPCTransport is the RoundTripper of one target for gRPC requests, which
// need HTTP/2 end to end (trailers carry their status): HTTP/2 over cleartext
// with prior knowledge, as gRPC servers listen without TLS behind a load
// balancer (an ALB target group with protocol version gRPC).
func newGRPCTransport(address string, ts transportSettings) *http.Transport {
	t := newTargetTransport(address, ts)
	t.Protocols = &http.Protocols{}
	t.Protocols.SetUnencryptedHTTP2(true)
	return t
}

// isGRPC reports a gRPC request (not gRPC-Web, which works over HTTP/1.1).
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	return r.ProtoMajor >= 2 && strings.HasPrefix(ct, "application/grpc") && !strings.HasPrefix(ct, "application/grpc-web")
}
