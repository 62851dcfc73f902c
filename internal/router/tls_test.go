package router

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/testnet"
)

// testCA issues certificates for HTTPS tests; clients trust its root.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
	dir  string
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "greenlight test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool, dir: t.TempDir()}
}

var serial atomicCounter

// issue writes a certificate for names and its key to PEM files named after
// file, replacing them when they exist, and returns their spec and serial.
func (ca *testCA) issue(t testing.TB, file string, names ...string) (CertificateSpec, *big.Int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sn := big.NewInt(serial.next() + 100)
	tmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	spec := CertificateSpec{CertFile: filepath.Join(ca.dir, file+".crt"), KeyFile: filepath.Join(ca.dir, file+".key")}
	writePEM(t, spec.KeyFile, "PRIVATE KEY", keyDER)
	writePEM(t, spec.CertFile, "CERTIFICATE", der)
	return spec, sn
}

// writePEM replaces path atomically, as a certificate renewal tool does.
func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// client returns an HTTP client trusting ca that speaks HTTP/2 when h2 is set
// and HTTP/1.1 only otherwise.
func (ca *testCA) client(h2 bool) *http.Client {
	tr := &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: ca.pool}, MaxIdleConnsPerHost: 64}
	tr.Protocols = &http.Protocols{}
	tr.Protocols.SetHTTP1(!h2)
	tr.Protocols.SetHTTP2(h2)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }

// httpsSpec is twoGroupSpec with an HTTPS production listener.
func httpsSpec(name string, blue []TargetSpec, certs ...CertificateSpec) ServiceSpec {
	spec := twoGroupSpec(name, blue, nil)
	spec.Listeners.Production = ListenerSpec{Protocol: ProtocolHTTPS, Certificates: certs}
	return spec
}

// httpsService applies a service whose HTTPS production listener has a
// certificate for host, waits until its first target is healthy, and returns
// the CA that clients trust and the status.
func httpsService(t *testing.T, r *Router, service, host string, targets ...TargetSpec) (*testCA, ServiceStatus) {
	t.Helper()
	ca := newTestCA(t)
	cert, _ := ca.issue(t, service, host)
	st := mustApply(t, r, httpsSpec(service, targets, cert))
	waitState(t, r, service, targets[0].ID, TargetHealthy)
	return ca, st
}

// TestHTTPSListenerSpeaksHTTP1AndHTTP2: the fast path serves HTTP/1.1 over
// TLS, HTTP/2 is negotiated by ALPN, and both tell the target the request came
// over HTTPS on the listener's port.
func TestHTTPSListenerSpeaksHTTP1AndHTTP2(t *testing.T) {
	ca, st := httpsService(t, newTestRouter(t), "https", "site.test", startBackend(t, "b").target("b1"))
	_, port, _ := net.SplitHostPort(st.ProductionAddress)
	url := "https://site.test:" + port + "/"
	for _, h2 := range []bool{false, true} {
		c := ca.client(h2)
		c.Transport.(*http.Transport).DialContext = dialTo(st.ProductionAddress)
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("h2=%v: %v", h2, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantProto := "HTTP/1.1"
		if h2 {
			wantProto = "HTTP/2.0"
		}
		if resp.StatusCode != 200 || string(body) != "b" || resp.Proto != wantProto {
			t.Fatalf("h2=%v: %d %q %s", h2, resp.StatusCode, body, resp.Proto)
		}
		if got := resp.Header.Get("Echo-X-Forwarded-Proto"); got != "https" {
			t.Errorf("h2=%v: X-Forwarded-Proto %q, want https", h2, got)
		}
		if got := resp.Header.Get("Echo-X-Forwarded-Port"); got != port {
			t.Errorf("h2=%v: X-Forwarded-Port %q, want %s", h2, got, port)
		}
		if got := resp.Header.Get("Echo-Host"); got != "site.test:"+port {
			t.Errorf("h2=%v: Host %q", h2, got)
		}
	}
}

// dialTo makes a client connect to addr whatever the URL's host: the test
// names (site.test) resolve nowhere.
func dialTo(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

// handshake connects to addr over TLS with serverName and returns the
// certificate the router chose.
func handshake(t testing.TB, ca *testCA, addr, serverName string, cfg *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.RootCAs, cfg.ServerName = ca.pool, serverName
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

func TestHTTPSCertificatesBySNIAndReload(t *testing.T) {
	ca := newTestCA(t)
	a, serialA := ca.issue(t, "a", "a.test")
	wild, serialW := ca.issue(t, "wild", "*.b.test")
	b := startBackend(t, "b")
	r := newTestRouter(t)
	st := mustApply(t, r, httpsSpec("sni", []TargetSpec{b.target("b1")}, a, wild))
	addr := st.ProductionAddress
	for _, tc := range []struct {
		name string
		want *big.Int
	}{{"a.test", serialA}, {"x.b.test", serialW}, {"A.TEST", serialA}} {
		cert, err := handshake(t, ca, addr, tc.name, nil)
		if err != nil || cert.SerialNumber.Cmp(tc.want) != 0 {
			t.Fatalf("SNI %s: serial %v (%v), want %v", tc.name, cert, err, tc.want)
		}
	}
	// An unknown name gets the default (first) certificate, which does not
	// match it: the client refuses it.
	if _, err := handshake(t, ca, addr, "other.test", nil); err == nil {
		t.Fatal("a certificate for an unknown name was accepted")
	}

	// A connection open before the files change keeps working after.
	waitState(t, r, "sni", "b1", TargetHealthy)
	c := ca.client(false)
	c.Transport.(*http.Transport).DialContext = dialTo(addr)
	_, port, _ := net.SplitHostPort(addr)
	if code, _ := get(t, c, "https://a.test:"+port+"/"); code != 200 {
		t.Fatalf("before reload: %d", code)
	}
	_, renewed := ca.issue(t, "a", "a.test")
	eventually(t, 10*time.Second, "the renewed certificate served", func() bool {
		cert, err := handshake(t, ca, addr, "a.test", nil)
		return err == nil && cert.SerialNumber.Cmp(renewed) == 0
	})
	if code, _ := get(t, c, "https://a.test:"+port+"/"); code != 200 {
		t.Fatalf("on the connection opened before the reload: %d", code)
	}
	// A broken file (a key that does not match) keeps the last good pair.
	if err := os.WriteFile(a.KeyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if cert, err := handshake(t, ca, addr, "a.test", nil); err != nil || cert.SerialNumber.Cmp(renewed) != 0 {
		t.Fatalf("after a broken key file: %v %v, want the last good certificate", cert, err)
	}
}

func TestHTTPSOnlyModernTLS(t *testing.T) {
	ca, st := httpsService(t, newTestRouter(t), "modern", "m.test", startBackend(t, "b").target("b1"))
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.1":              {MaxVersion: tls.VersionTLS11},
		"TLS 1.2 CBC":          {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
		"TLS 1.2 no forward s": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_GCM_SHA256}},
	} {
		if _, err := handshake(t, ca, st.ProductionAddress, "m.test", cfg); err == nil {
			t.Errorf("%s: handshake succeeded", name)
		}
	}
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.2 GCM": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		"TLS 1.3":     {MinVersion: tls.VersionTLS13},
	} {
		if _, err := handshake(t, ca, st.ProductionAddress, "m.test", cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHTTPRedirectAndHSTS(t *testing.T) {
	ca := newTestCA(t)
	cert, _ := ca.issue(t, "h", "h.test")
	b := startBackend(t, "b")
	r := newTestRouter(t)
	spec := httpsSpec("hsts", []TargetSpec{b.target("b1")}, cert)
	redirect := testnet.FreeAddr(t)
	spec.Listeners.Production.RedirectHTTP = redirect
	spec.Listeners.Production.HSTS = &HSTSSpec{MaxAge: Duration(365 * 24 * time.Hour), IncludeSubdomains: true}
	st := mustApply(t, r, spec)
	waitState(t, r, "hsts", "b1", TargetHealthy)
	_, port, _ := net.SplitHostPort(st.ProductionAddress)

	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := plain.Get("http://" + redirect + "/path?q=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "https://127.0.0.1:" + port + "/path?q=1"
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	for _, h2 := range []bool{false, true} {
		c := ca.client(h2)
		c.Transport.(*http.Transport).DialContext = dialTo(st.ProductionAddress)
		resp, err := c.Get("https://h.test:" + port + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
			t.Errorf("h2=%v: HSTS %q", h2, got)
		}
	}
}

func TestH2CIsOffByDefault(t *testing.T) {
	r := newTestRouter(t)
	b := startBackend(t, "b")
	addr := fastRouter(t, r, b)
	rc := dialRaw(t, addr)
	rc.send("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	resp, _ := rc.read(http.MethodGet)
	if resp.StatusCode != http.StatusHTTPVersionNotSupported {
		t.Fatalf("h2c preface on an HTTP listener: %d, want 505", resp.StatusCode)
	}

	spec := twoGroupSpec("h2c", []TargetSpec{b.target("b1")}, nil)
	spec.Listeners.Production.H2C = true
	st := mustApply(t, r, spec)
	waitState(t, r, "h2c", "b1", TargetHealthy)
	tr := &http.Transport{Protocols: &http.Protocols{}}
	tr.Protocols.SetUnencryptedHTTP2(true)
	resp, err := (&http.Client{Transport: tr}).Get("http://" + st.ProductionAddress + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Proto != "HTTP/2.0" || string(body) != "b" || !strings.Contains(resp.Header.Get("Echo-X-Forwarded-Proto"), "http") {
		t.Fatalf("h2c: %s %q", resp.Proto, body)
	}
}

// protocolVariant is one way clients reach a listener: plain HTTP/1.1, or
// HTTPS with HTTP/1.1 or with HTTP/2.
type protocolVariant struct {
	name      string
	https, h2 bool
}

var protocolVariants = []protocolVariant{{"http", false, false}, {"https", true, false}, {"h2", true, true}}

// prepare makes spec's production listener speak v and returns a client
// factory and the scheme for URLs.
func (v protocolVariant) prepare(t testing.TB, spec *ServiceSpec) (func() *http.Client, string) {
	if !v.https {
		return newClient, "http://"
	}
	ca := newTestCA(t)
	cert, _ := ca.issue(t, "zero", "zero.test")
	spec.Listeners.Production = ListenerSpec{Protocol: ProtocolHTTPS, Certificates: []CertificateSpec{cert}}
	return func() *http.Client {
		c := ca.client(v.h2)
		c.Transport.(*http.Transport).TLSClientConfig.ServerName = "zero.test"
		return c
	}, "https://"
}

// The router's own answers carry the listener's HSTS field too, on HTTP/1.1 as
// on HTTP/2: a 503 when no target serves, and a 400 to a malformed request.
func TestHSTSOnTheRoutersOwnAnswers(t *testing.T) {
	ca := newTestCA(t)
	cert, _ := ca.issue(t, "own", "own.test")
	r := newTestRouter(t)
	spec := httpsSpec("own", nil, cert)
	spec.Listeners.Production.HSTS = &HSTSSpec{MaxAge: Duration(time.Hour)}
	st := mustApply(t, r, spec)
	const want = "max-age=3600"
	for _, h2 := range []bool{false, true} {
		c := ca.client(h2)
		c.Transport.(*http.Transport).DialContext = dialTo(st.ProductionAddress)
		resp, err := c.Get("https://own.test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Strict-Transport-Security") != want {
			t.Errorf("h2=%v: %d with HSTS %q, want 503 with %q", h2, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"), want)
		}
	}
	conn, err := tls.Dial("tcp", st.ProductionAddress, &tls.Config{RootCAs: ca.pool, ServerName: "own.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: own.test\r\nBad Field\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Strict-Transport-Security") != want {
		t.Errorf("malformed request: %d with HSTS %q, want 400 with %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"), want)
	}
}
