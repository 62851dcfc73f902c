package routing

import "github.com/greenlight-ci/greenlight/internal/jsontime"

// ListenerSpecs are the options of a service's production and test listeners
// beyond their addresses (ServiceSpec.ProductionListener, TestListener). The
// zero value is a plain HTTP listener without limits.
type ListenerSpecs struct {
	Production ListenerSpec `json:"production,omitzero"`
	Test       ListenerSpec `json:"test,omitzero"`
}

// Listener protocols, as an ALB names them.
const (
	ProtocolHTTP  = "HTTP"
	ProtocolHTTPS = "HTTPS"
)

// ListenerSpec is how one listener speaks to its clients.
type ListenerSpec struct {
	// Protocol is "HTTP" (default) or "HTTPS".
	Protocol string `json:"protocol,omitempty"`
	// Certificates are PEM files for HTTPS, chosen by the client's server name
	// (SNI); the first is the default. Files are read again when they change.
	Certificates []CertificateSpec `json:"certificates,omitempty"`
	// ACME obtains and renews certificates for HTTPS from an ACME CA.
	ACME *ACMESpec `json:"acme,omitempty"`
	// RedirectHTTP is an address ("0.0.0.0:80") where the router answers plain
	// HTTP requests with a permanent redirect to this HTTPS listener (and ACME
	// HTTP-01 challenges, when ACME is on).
	RedirectHTTP string `json:"redirect_http,omitempty"`
	// HSTS adds Strict-Transport-Security to HTTPS responses that lack it.
	HSTS *HSTSSpec `json:"hsts,omitempty"`
	// H2C accepts cleartext HTTP/2 with prior knowledge on an HTTP listener
	// (off by default; HTTPS listeners negotiate HTTP/2 by ALPN).
	H2C bool `json:"h2c,omitempty"`
	// MaxRequestBody is the largest request body in bytes (413 beyond); 0 is
	// no limit, as an ALB has none.
	MaxRequestBody int64 `json:"max_request_body,omitempty"`
}

// CertificateSpec is a certificate chain and its private key, PEM files.
type CertificateSpec struct {
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
}

// ACMESpec obtains certificates from an ACME CA (RFC 8555) for Domains,
// answering TLS-ALPN-01 challenges on the HTTPS listener and HTTP-01
// challenges on the RedirectHTTP listener.
type ACMESpec struct {
	Domains []string `json:"domains"`
	Email   string   `json:"email,omitempty"`
	// DirectoryURL is the CA's directory; default Let's Encrypt's.
	DirectoryURL string `json:"directory_url,omitempty"`
	// CacheDir keeps the account key and certificates across restarts.
	CacheDir string `json:"cache_dir"`
	// CAFile is a PEM bundle to trust for the CA's API instead of the
	// system's roots (a private or test CA).
	CAFile string `json:"ca_file,omitempty"`
}

// HSTSSpec is a Strict-Transport-Security policy (RFC 6797).
type HSTSSpec struct {
	MaxAge            jsontime.Duration `json:"max_age"`
	IncludeSubdomains bool              `json:"include_subdomains,omitempty"`
	Preload           bool              `json:"preload,omitempty"`
}

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = "https://acme-v02.api.letsencrypt.org/directory"

// IsHTTPS reports a listener that speaks TLS.
func (l ListenerSpec) IsHTTPS() bool { return l.Protocol == ProtocolHTTPS }

// Normalized fills the defaults of a listener's zero fields.
func (l ListenerSpec) Normalized() ListenerSpec {
	if l.Protocol == "" {
		l.Protocol = ProtocolHTTP
	}
	if l.ACME != nil {
		acme := *l.ACME
		if acme.DirectoryURL == "" {
			acme.DirectoryURL = DefaultACMEDirectory
		}
		acme.Domains = append([]string(nil), acme.Domains...)
		l.ACME = &acme
	}
	l.Certificates = append([]CertificateSpec(nil), l.Certificates...)
	return l
}
