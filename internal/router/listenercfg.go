package router

import (
	"strconv"
	"strings"
)

// listenerConfig is what a listener does with its connections, built from a
// ListenerSpec when a spec is applied and swapped atomically: a connection
// keeps the config it was accepted with.
type listenerConfig struct {
	spec    ListenerSpec
	tls     *tlsSetup // nil: plain HTTP
	proto   []byte    // X-Forwarded-Proto: "http" or "https"
	protoHS []string  // the same, as net/http header values
	hsts    []byte    // "Strict-Transport-Security: ...\r\n", or nil
	// hstsHeader is the HSTS value alone, for responses net/http writes.
	hstsHeader string
}

// newListenerConfig prepares a listener's config: certificates read, ACME
// set up. An error leaves nothing behind.
func newListenerConfig(spec ListenerSpec, prev *listenerConfig) (*listenerConfig, error) {
	cfg := &listenerConfig{spec: spec, proto: []byte("http"), protoHS: []string{"http"}}
	if !spec.IsHTTPS() {
		return cfg, nil
	}
	var prevTLS *tlsSetup
	if prev != nil {
		prevTLS = prev.tls
	}
	t, err := newTLSSetup(spec, prevTLS)
	if err != nil {
		return nil, err
	}
	cfg.tls = t
	cfg.proto, cfg.protoHS = []byte("https"), []string{"https"}
	if spec.HSTS != nil {
		cfg.hstsHeader = hstsValue(*spec.HSTS)
		cfg.hsts = []byte("Strict-Transport-Security: " + cfg.hstsHeader + "\r\n")
	}
	return cfg, nil
}

func hstsValue(h HSTSSpec) string {
	parts := []string{"max-age=" + strconv.FormatInt(int64(h.MaxAge.D().Seconds()), 10)}
	if h.IncludeSubdomains {
		parts = append(parts, "includeSubDomains")
	}
	if h.Preload {
		parts = append(parts, "preload")
	}
	return strings.Join(parts, "; ")
}
