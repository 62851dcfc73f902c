package router

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// tlsSetup is an HTTPS listener's TLS: certificates from PEM files, chosen by
// SNI and read again when the files change, and certificates from ACME.
type tlsSetup struct {
	config *tls.Config
	files  *certStore        // nil without certificate files
	acme   *autocert.Manager // nil without ACME
	acmeOf ACMESpec          // what acme was made for
	hosts  map[string]bool   // the ACME domains
}

// modernCiphers are the TLS 1.2 suites kept (TLS 1.3's are not configurable
// and all modern): forward secrecy and AEAD only, as Mozilla's "intermediate"
// profile has them.
var modernCiphers = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// ALPN protocols an HTTPS listener offers.
const (
	alpnH2    = "h2"
	alpnHTTP1 = "http/1.1"
)

// newTLSSetup reads the spec's certificates and sets up ACME. prev, the
// listener's current setup, lends its ACME manager when ACME is unchanged, so
// that a new spec does not start over with the CA.
func newTLSSetup(spec ListenerSpec, prev *tlsSetup) (*tlsSetup, error) {
	t := &tlsSetup{}
	if len(spec.Certificates) > 0 {
		store, err := newCertStore(spec.Certificates)
		if err != nil {
			return nil, err
		}
		t.files = store
	}
	if spec.ACME != nil {
		m, err := acmeManager(*spec.ACME, prev)
		if err != nil {
			return nil, err
		}
		t.acme, t.acmeOf, t.hosts = m, *spec.ACME, map[string]bool{}
		for _, d := range spec.ACME.Domains {
			t.hosts[strings.ToLower(d)] = true
		}
	}
	t.config = &tls.Config{
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   modernCiphers,
		NextProtos:     []string{alpnH2, alpnHTTP1},
		GetCertificate: t.certificate,
	}
	if t.acme != nil {
		t.config.NextProtos = append(t.config.NextProtos, acme.ALPNProto)
	}
	return t, nil
}

// certificate picks the certificate for a handshake: ACME's for its domains
// (and its TLS-ALPN-01 challenges), else the files' by server name.
func (t *tlsSetup) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if t.acme != nil && t.hosts[strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))] {
		return t.acme.GetCertificate(hello)
	}
	if t.files == nil {
		return nil, fmt.Errorf("no certificate for server name %q", hello.ServerName)
	}
	return t.files.certificate(hello.ServerName), nil
}

// sameACME reports whether a manager set up for a can serve b.
func sameACME(a, b *ACMESpec) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.DirectoryURL == b.DirectoryURL && a.CacheDir == b.CacheDir && a.Email == b.Email &&
		a.CAFile == b.CAFile && strings.Join(a.Domains, ",") == strings.Join(b.Domains, ",")
}

func acmeManager(spec ACMESpec, prev *tlsSetup) (*autocert.Manager, error) {
	if prev != nil && prev.acme != nil && sameACME(&prev.acmeOf, &spec) {
		return prev.acme, nil
	}
	client := &acme.Client{DirectoryURL: spec.DirectoryURL}
	if spec.CAFile != "" {
		pool, err := readCAFile(spec.CAFile)
		if err != nil {
			return nil, err
		}
		client.HTTPClient = &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		}
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(spec.Domains...),
		Cache:      autocert.DirCache(spec.CacheDir),
		Email:      spec.Email,
		Client:     client,
	}
	return m, nil
}

func readCAFile(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ACME CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ACME CA file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// certStore holds the certificates of PEM files, indexed by the names they
// are for, and reads the files again when they change: a handshake at most
// once per certCheckInterval looks at their modification times and sizes. A
// pair that does not load (a certificate written before its key) keeps the
// old one in service until it does.
type certStore struct {
	specs []CertificateSpec
	set   atomic.Pointer[certSet]

	mu        sync.Mutex // one reload at a time
	nextCheck atomic.Int64
}

// certCheckInterval bounds how often the files are looked at.
const certCheckInterval = time.Second

// certSet is one loaded generation of the files.
type certSet struct {
	certs  []*tls.Certificate // in spec order; the first is the default
	byName map[string]*tls.Certificate
	stamps []fileStamp
}

type fileStamp struct {
	cert, key fileInfo
}

type fileInfo struct {
	mod  time.Time
	size int64
}

func newCertStore(specs []CertificateSpec) (*certStore, error) {
	s := &certStore{specs: specs}
	set, err := loadCerts(specs, nil)
	if err != nil {
		return nil, err
	}
	s.set.Store(set)
	s.nextCheck.Store(time.Now().Add(certCheckInterval).UnixNano())
	return s, nil
}

// certificate returns the certificate for serverName: an exact name, then a
// wildcard one level up, then the default.
func (s *certStore) certificate(serverName string) *tls.Certificate {
	s.maybeReload()
	set := s.set.Load()
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if c := set.byName[name]; c != nil {
		return c
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if c := set.byName["*"+name[i:]]; c != nil {
			return c
		}
	}
	return set.certs[0]
}

func (s *certStore) maybeReload() {
	now := time.Now().UnixNano()
	next := s.nextCheck.Load()
	if now < next || !s.nextCheck.CompareAndSwap(next, now+int64(certCheckInterval)) {
		return
	}
	s.reload()
}

// reload reads the files again if any changed; errors keep the old set.
func (s *certStore) reload() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.set.Load()
	set, err := loadCerts(s.specs, old)
	if err != nil || set == old {
		return false
	}
	s.set.Store(set)
	return true
}

// loadCerts loads every pair; with old, it returns old itself when no file
// changed since it was loaded.
func loadCerts(specs []CertificateSpec, old *certSet) (*certSet, error) {
	stamps := make([]fileStamp, len(specs))
	for i, c := range specs {
		var err error
		if stamps[i].cert, err = stat(c.CertFile); err != nil {
			return nil, err
		}
		if stamps[i].key, err = stat(c.KeyFile); err != nil {
			return nil, err
		}
	}
	if old != nil && sameStamps(old.stamps, stamps) {
		return old, nil
	}
	set := &certSet{byName: map[string]*tls.Certificate{}, stamps: stamps}
	for i, c := range specs {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("certificates[%d]: load %s and %s: %w", i, c.CertFile, c.KeyFile, err)
		}
		set.certs = append(set.certs, &cert)
		for _, name := range cert.Leaf.DNSNames {
			if key := strings.ToLower(name); set.byName[key] == nil {
				set.byName[key] = &cert
			}
		}
	}
	return set, nil
}

func stat(path string) (fileInfo, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileInfo{}, fmt.Errorf("certificate file: %w", err)
	}
	return fileInfo{mod: fi.ModTime(), size: fi.Size()}, nil
}

func sameStamps(a, b []fileStamp) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].cert.mod.Equal(b[i].cert.mod) || a[i].cert.size != b[i].cert.size ||
			!a[i].key.mod.Equal(b[i].key.mod) || a[i].key.size != b[i].key.size {
			return false
		}
	}
	return true
}
