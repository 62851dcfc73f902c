package router

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// localACME is pebble, Let's Encrypt's ACME test server, run in-process on
// loopback: its validation authority resolves every name to 127.0.0.1 through
// a DNS responder of the test's own, and connects to the given ports for the
// HTTP-01 and TLS-ALPN-01 challenges, as Let's Encrypt connects to 80 and 443.
type localACME struct {
	directory string // the ACME directory URL
	caFile    string // PEM of the API's TLS certificate, for ACMESpec.CAFile
	issuer    *ca.CAImpl
}

func startLocalACME(t *testing.T, httpPort, tlsPort int) *localACME {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	logger := log.New(io.Discard, "", 0)
	if os.Getenv("ROUTER_TEST_LOG") != "" {
		logger = log.New(os.Stderr, "pebble ", log.LstdFlags)
	}
	store := db.NewMemoryStore()
	issuer := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, tlsPort, false, startLoopbackDNS(t), store)
	front := wfe.New(logger, store, validator, issuer, []string{"pebble.letsencrypt.org"}, false, false, 0, 0)
	srv := httptest.NewTLSServer(front.Handler())
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "acme-api.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return &localACME{directory: srv.URL + wfe.DirectoryPath, caFile: caFile, issuer: issuer}
}

// roots trusts the certificates the CA issues.
func (a *localACME) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	root, err := x509.ParseCertificate(a.issuer.GetRootCert(0).DER)
	if err == nil {
		pool.AddCert(root)
	}
	return pool
}

// startLoopbackDNS answers every A question with 127.0.0.1 (and nothing
// else), over TCP as pebble asks; it returns its address.
func startLoopbackDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{Listener: ln, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, question := range q.Question {
			if question.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: question.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.IPv4(127, 0, 0, 1),
				})
			}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(testnet.FreeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// TestACMECertificates obtains certificates from a local ACME CA: by
// TLS-ALPN-01 on the HTTPS listener itself, and by HTTP-01 on the redirect
// listener when the CA cannot reach the HTTPS port. Clients that trust the CA
// then talk HTTPS to the service.
func TestACMECertificates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		challenge string
	}{{"TLS-ALPN-01", "tls-alpn-01"}, {"HTTP-01", "http-01"}} {
		t.Run(tc.name, func(t *testing.T) {
			httpsPort, httpPort := freePort(t), freePort(t)
			vaTLSPort := httpsPort
			if tc.challenge == "http-01" {
				vaTLSPort = freePort(t) // nothing there: TLS-ALPN-01 fails, HTTP-01 is next
			}
			acme := startLocalACME(t, httpPort, vaTLSPort)
			b := startBackend(t, "b")
			r := newTestRouter(t)
			spec := twoGroupSpec("acme", []TargetSpec{b.target("b1")}, nil)
			spec.ProductionListener = "127.0.0.1:" + strconv.Itoa(httpsPort)
			spec.Listeners.Production = ListenerSpec{
				Protocol:     ProtocolHTTPS,
				ACME:         &ACMESpec{Domains: []string{"shop.example.com"}, DirectoryURL: acme.directory, CacheDir: t.TempDir(), CAFile: acme.caFile},
				RedirectHTTP: "127.0.0.1:" + strconv.Itoa(httpPort),
			}
			st := mustApply(t, r, spec)
			waitState(t, r, "acme", "b1", TargetHealthy)
			client := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{RootCAs: acme.roots(), ServerName: "shop.example.com"},
			}}
			resp, err := client.Get("https://" + st.ProductionAddress + "/")
			if err != nil {
				t.Fatalf("HTTPS with an ACME certificate: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "b" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if names := resp.TLS.PeerCertificates[0].DNSNames; len(names) != 1 || names[0] != "shop.example.com" {
				t.Fatalf("certificate for %v", names)
			}
		})
	}
}
