package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// servedPipeline is a pipeline whose source stage is source, with extra
// top-level keys.
func servedPipeline(name, source, extra string) string {
	return `version: 1
pipeline:
  name: ` + name + `
  stages:
    - name: Source
      actions:
        - ` + source + `
    - name: Approval
      actions:
        - {name: Review, category: Approval, provider: Manual}
` + extra
}

// serve's start-up lines say where it listens, the webhook's URL, the API, and
// what starts each pipeline: signed deliveries (and with which secret),
// polling, or only a request; a secret it cannot read is said at once.
func TestServePrintsWhereItListensAndWhatStartsEachPipeline(t *testing.T) {
	t.Setenv("GREENLIGHT_WEBHOOK_SECRET", "")
	t.Setenv("FIX2_HOOK_SECRET", "s3cret")
	git := `{name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}`
	codestar := `{name: Gh, category: Source, provider: CodeStarSourceConnection, output_artifacts: [src], configuration: {FullRepositoryId: you/x, BranchName: main, DetectChanges: "false"}}`
	dir := t.TempDir()
	var defs []*manifest.Definition
	for name, yaml := range map[string]string{
		"signed":   servedPipeline("signed", git, "webhook: {secret: {env: FIX2_HOOK_SECRET}}\n"),
		"polled":   servedPipeline("polled", git, ""),
		"manual":   servedPipeline("manual", codestar, ""),
		"unsigned": servedPipeline("unsigned", git, "webhook: {secret: {file: missing.secret}}\n"),
	} {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		def, err := manifest.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		defs = append(defs, def)
	}
	var out bytes.Buffer
	printServing(context.Background(), &out, "127.0.0.1:8099", "/state", defs, 2*time.Minute, 1)
	for _, want := range []string{
		"greenlight serving 4 pipelines on http://127.0.0.1:8099 (state /state)\n",
		"  GitHub webhook  POST http://127.0.0.1:8099/webhooks/github (",
		"  API             http://127.0.0.1:8099/api/v1 (a token: greenlight tokens create",
		"metrics http://127.0.0.1:8099/metrics",
		"signed  " + filepath.Join(dir, "signed.yaml") + "  starts on signed GitHub deliveries (secret: env FIX2_HOOK_SECRET)\n",
		"polled  " + filepath.Join(dir, "polled.yaml") + "  polls source Src every 2m0s (no webhook secret",
		"manual  " + filepath.Join(dir, "manual.yaml") + "  starts only when asked (no webhook secret, and no source to poll)\n",
		"unsigned  " + filepath.Join(dir, "unsigned.yaml") + "  takes no deliveries and is not polled: webhook secret (file missing.secret)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines lack %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "beyond loopback") || strings.Contains(out.String(), "s3cret") {
		t.Errorf("loopback start-up lines:\n%s", out.String())
	}
	out.Reset()
	printServing(context.Background(), &out, "[::]:8099", "/state", defs[:1], time.Minute, 1)
	if !strings.Contains(out.String(), "greenlight serving 1 pipeline on") || !strings.Contains(out.String(), "listening beyond loopback on [::]:8099") {
		t.Errorf("wildcard start-up lines:\n%s", out.String())
	}
}

// Beyond loopback, serve's start-up lines say that it speaks plain HTTP, so
// that tokens, session cookies and webhook payloads cross the network in the
// clear, and how to put TLS in front; without an active token they say that
// the API and the console refuse everyone until one is made.
func TestServeSaysWhatAnOpenListenerExposes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	git := `{name: Src, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}`
	if err := os.WriteFile(path, []byte(servedPipeline("p", git, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	def, err := manifest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printServing(context.Background(), &out, "0.0.0.0:8099", "/state", []*manifest.Definition{def}, time.Minute, 0)
	for _, want := range []string{
		"listening beyond loopback on 0.0.0.0:8099 over plain HTTP: API tokens, console session cookies and webhook payloads cross the network unencrypted",
		"X-Forwarded-Proto: https",
		"no active API token: the API and the console refuse everyone until one is created (greenlight tokens create NAME --role",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("start-up lines beyond loopback, without a token, lack %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	printServing(context.Background(), &out, "127.0.0.1:8099", "/state", []*manifest.Definition{def}, time.Minute, 2)
	if strings.Contains(out.String(), "plain HTTP") || strings.Contains(out.String(), "no active API token") {
		t.Errorf("start-up lines on loopback, with tokens:\n%s", out.String())
	}
}
