package deploy

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/router"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// TestListenerOptionsReachTheRouterSpec: a service's HTTPS listener, written
// in greenlight.yaml, becomes the router spec the agent applies, with relative
// certificate paths made absolute from greenlight.yaml's directory.
func TestListenerOptionsReachTheRouterSpec(t *testing.T) {
	dir := t.TempDir()
	def, err := manifest.ParseDefinition(filepath.Join(dir, "greenlight.yaml"), []byte(`version: 1
pipeline:
  name: p
  stages:
    - name: Source
      actions:
        - {name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: b}}
build_projects:
  b: {}
services:
  web:
    listeners:
      production:
        address: "127.0.0.1:7443"
        protocol: HTTPS
        certificates: [{cert_file: certs/web.crt, key_file: /etc/web.key}]
        hsts: {max_age: 1h}
        max_request_body: 1KiB
      test: "127.0.0.1:7081"
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := StandardConfig(def, "web", "process", Revision{}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	spec := baseSpec(nil, cfg.Service)
	p := spec.Listeners.Production
	if p.Protocol != routing.ProtocolHTTPS || p.MaxRequestBody != 1024 || p.HSTS == nil || p.HSTS.MaxAge.D() != time.Hour {
		t.Fatalf("production listener %+v", p)
	}
	if c := p.Certificates[0]; c.CertFile != filepath.Join(dir, "certs/web.crt") || c.KeyFile != "/etc/web.key" {
		t.Fatalf("certificate paths %+v", c)
	}
	if spec.Listeners.Test.Protocol != routing.ProtocolHTTP {
		t.Fatalf("test listener %+v", spec.Listeners.Test)
	}
	if got := cfg.Service.ProductionURL(); got != "https://127.0.0.1:7443" {
		t.Fatalf("production URL %q", got)
	}
	if got := cfg.Service.TestURL(); got != "http://127.0.0.1:7081" {
		t.Fatalf("test URL %q", got)
	}
	if err := router.Validate(router.Normalize(spec)); err != nil {
		t.Fatalf("the spec deploy builds is invalid: %v", err)
	}
}
