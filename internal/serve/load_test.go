package serve_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/serve"
)

func service(name, addr string) string {
	return `services:
  ` + name + `:
    driver: process
    listeners:
      production: "` + addr + `"
    process: {command: [./app]}
`
}

// Two services of different repositories claiming one listener address are
// refused at start-up with both positions.
func TestLoadRefusesTwoServicesOnOneListener(t *testing.T) {
	parent := t.TempDir()
	write := func(dir, yaml string) string {
		p := filepath.Join(parent, dir, "greenlight.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write("a", definition("a", service("web-a", "127.0.0.1:7301")))
	b := write("b", definition("b", service("web-b", "0.0.0.0:7301")))
	_, err := serve.Load([]string{a, b}, "")
	if err == nil {
		t.Fatal("two services on port 7301 were accepted")
	}
	msg := err.Error()
	for _, want := range []string{b + ":15:19: service web-b production listener: 0.0.0.0:7301 is already claimed by service web-a production listener at " + a + ":15:19"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if _, err := serve.Load(nil, parent); err == nil || !strings.Contains(err.Error(), "already claimed") {
		t.Errorf("--dir with the same repositories: %v", err)
	}
	c := write("c", definition("a", service("web-c", "127.0.0.1:7302")))
	if _, err := serve.Load([]string{a, c}, ""); err == nil || !strings.Contains(err.Error(), "pipeline a: a is already claimed by pipeline a at "+a) {
		t.Errorf("two pipelines named a: %v", err)
	}
	rule := "notifications:\n  - name: releases\n    event_type_ids: [codepipeline-pipeline-pipeline-execution-failed]\n    detail_type: BASIC\n    targets:\n      - webhook: {url: \"http://127.0.0.1:9/hook\"}\n"
	d := write("d", definition("d", rule))
	e := write("e", definition("e", rule))
	if _, err := serve.Load([]string{d, e}, ""); err == nil || !strings.Contains(err.Error(), e+":12:5: notification rule releases: releases is already claimed by notification rule releases at "+d+":12:5") {
		t.Errorf("two notification rules named releases: %v", err)
	}
}
