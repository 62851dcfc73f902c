package deploy

import (
	"path/filepath"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// routerListeners turns a service's listener options into the router's, with
// relative file paths made absolute from dir, the directory of
// greenlight.yaml (the agent runs elsewhere).
func routerListeners(l manifest.Listeners, dir string) routing.ListenerSpecs {
	return routing.ListenerSpecs{
		Production: routerListener(l.ProductionOptions, dir),
		Test:       routerListener(l.TestOptions, dir),
	}
}

func routerListener(l manifest.Listener, dir string) routing.ListenerSpec {
	out := routing.ListenerSpec{
		Protocol:       l.Protocol,
		RedirectHTTP:   l.RedirectHTTP,
		H2C:            l.H2C,
		MaxRequestBody: l.MaxRequestBody,
	}
	for _, c := range l.Certificates {
		out.Certificates = append(out.Certificates, routing.CertificateSpec{
			CertFile: abs(dir, c.CertFile), KeyFile: abs(dir, c.KeyFile),
		})
	}
	if a := l.ACME; a != nil {
		cache := a.CacheDir
		if cache == "" {
			cache = filepath.Join(".greenlight", "acme")
		}
		out.ACME = &routing.ACMESpec{
			Domains: append([]string(nil), a.Domains...), Email: a.Email, DirectoryURL: a.DirectoryURL,
			CacheDir: abs(dir, cache), CAFile: abs(dir, a.CAFile),
		}
	}
	if h := l.HSTS; h != nil {
		out.HSTS = &routing.HSTSSpec{MaxAge: jsontime.Duration(h.MaxAge.D()), IncludeSubdomains: h.IncludeSubdomains, Preload: h.Preload}
	}
	return out
}

func abs(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// ProductionURL is the base URL of the service's production listener.
func (c ServiceConfig) ProductionURL() string {
	return listenerURL(c.Listeners.Production, c.ProductionListener)
}

// TestURL is the base URL of the service's test listener, "" without one.
func (c ServiceConfig) TestURL() string {
	if c.TestListener == "" {
		return ""
	}
	return listenerURL(c.Listeners.Test, c.TestListener)
}

func listenerURL(l routing.ListenerSpec, addr string) string {
	if l.IsHTTPS() {
		return "https://" + addr
	}
	return "http://" + addr
}
