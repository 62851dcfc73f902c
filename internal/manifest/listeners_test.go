package manifest

import (
	"testing"
	"time"
)

func TestListenerLongForm(t *testing.T) {
	def, err := ParseDefinition("greenlight.yaml", []byte(minimal+`services:
  web:
    listeners:
      production:
        address: "0.0.0.0:7443"
        protocol: HTTPS
        certificates:
          - {cert_file: certs/web.crt, key_file: certs/web.key}
          - {cert_file: certs/api.crt, key_file: certs/api.key}
        redirect_http: "0.0.0.0:7080"
        hsts: {max_age: 1h, include_subdomains: true}
        max_request_body: 10MiB
      test: {address: "127.0.0.1:7081", h2c: true, max_request_body: 1000}
  public:
    listeners:
      production:
        address: "0.0.0.0:443"
        protocol: HTTPS
        acme: {domains: [www.example.com], email: ops@example.com}
  short:
    listeners: {production: "127.0.0.1:7090"}
`))
	if err != nil {
		t.Fatal(err)
	}
	l := def.Services["web"].Listeners
	p := l.ProductionOptions
	if l.Production != "0.0.0.0:7443" || p.Protocol != ProtocolHTTPS || len(p.Certificates) != 2 ||
		p.Certificates[1].KeyFile != "certs/api.key" || p.RedirectHTTP != "0.0.0.0:7080" || p.MaxRequestBody != 10<<20 {
		t.Fatalf("production listener %q %+v", l.Production, p)
	}
	if p.HSTS == nil || p.HSTS.MaxAge.D() != time.Hour || !p.HSTS.IncludeSubdomains || p.HSTS.Preload {
		t.Fatalf("hsts %+v", p.HSTS)
	}
	if l.Test != "127.0.0.1:7081" || !l.TestOptions.H2C || l.TestOptions.MaxRequestBody != 1000 || l.TestOptions.Protocol != ProtocolHTTP {
		t.Fatalf("test listener %q %+v", l.Test, l.TestOptions)
	}
	if a := def.Services["public"].Listeners.ProductionOptions.ACME; a == nil || a.Domains[0] != "www.example.com" || a.Email != "ops@example.com" {
		t.Fatalf("acme %+v", a)
	}
	if s := def.Services["short"].Listeners; s.Production != "127.0.0.1:7090" || s.ProductionOptions.Protocol != ProtocolHTTP {
		t.Fatalf("short form %+v", s)
	}
}

func TestListenerLongFormErrors(t *testing.T) {
	src := minimal + `services:
  a:
    listeners:
      production: {address: "127.0.0.1:7443", protocol: HTTP2, h2c: yes}
      test: {protocol: HTTPS, certificates: [], hsts: {max_age: -1s}, redirect_http: "127.0.0.1:7443"}
  b:
    listeners:
      production: {address: "127.0.0.1:8443", protocol: HTTPS, h2c: true, max_request_body: 10 parsecs}
      test: {address: "127.0.0.1:8081", certificates: [{cert_file: a.crt}], acme: {domains: [localhost]}, tls: on}
`
	_, err := ParseDefinition("greenlight.yaml", []byte(src))
	assertErrors(t, src, err,
		`greenlight.yaml:16:57: protocol: unknown "HTTP2" (allowed: HTTP, HTTPS)`,
		`greenlight.yaml:16:69: h2c: expected true or false, got the string "yes"`,
		`greenlight.yaml:17:13: test listener: missing required key "address"`,
		"greenlight.yaml:17:24: test: protocol HTTPS needs certificates or acme",
		"greenlight.yaml:17:45: certificates: want at least one {cert_file, key_file}",
		"greenlight.yaml:17:65: max_age: duration must not be negative",
		`greenlight.yaml:17:86: redirect_http: 127.0.0.1:7443 is already taken by the service "a" production listener (line 16)`,
		"greenlight.yaml:20:57: production: protocol HTTPS needs certificates or acme",
		"greenlight.yaml:20:69: h2c: only for protocol HTTP (HTTPS negotiates HTTP/2 by ALPN)",
		`greenlight.yaml:20:93: max_request_body: invalid size "10 parsecs" (write bytes, or a number with KB, MB, GB, KiB, MiB or GiB)`,
		"greenlight.yaml:21:55: certificates: only for protocol HTTPS (add protocol: HTTPS)",
		`greenlight.yaml:21:56: certificates[0]: missing required key "key_file"`,
		"greenlight.yaml:21:83: acme: only for protocol HTTPS (add protocol: HTTPS)",
		`greenlight.yaml:21:94: domains: "localhost" is not a public host name (like www.example.com)`,
		`greenlight.yaml:21:107: test listener: unknown key "tls" (allowed: address, protocol, certificates, acme, redirect_http, hsts, h2c, max_request_body)`,
	)
}
