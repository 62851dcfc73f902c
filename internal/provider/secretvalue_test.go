package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestSecretValueSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.secret"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GL_TEST_SLACK", "https://hooks.slack.test/T/B/x")
	t.Setenv("GL_TEST_JSON", `{"webhook":"from-json"}`)
	def := &manifest.Definition{Dir: dir, Secrets: &manifest.Secrets{
		SecretsManager: map[string]*manifest.SecretSource{"ci/github": {Env: "GL_TEST_JSON"}},
	}}
	s := Secrets{Def: def}
	for _, c := range []struct {
		v    *manifest.SecretValue
		want string
	}{
		{&manifest.SecretValue{Env: "GL_TEST_SLACK"}, "https://hooks.slack.test/T/B/x"},
		{&manifest.SecretValue{File: "hook.secret"}, "from-file"},
		{&manifest.SecretValue{SecretsManager: "ci/github:webhook"}, "from-json"},
	} {
		got, err := s.Value(context.Background(), c.v)
		if err != nil || got != c.want {
			t.Errorf("Value(%s) = %q, %v; want %q", c.v, got, err, c.want)
		}
	}
	_, err := s.Value(context.Background(), &manifest.SecretValue{Env: "GL_TEST_UNSET"})
	if err == nil || !strings.Contains(err.Error(), "GL_TEST_UNSET") || strings.Contains(err.Error(), "mapped at") {
		t.Errorf("unset variable, position unknown: %v", err)
	}
	at := manifest.Pos{File: "greenlight.yaml", Line: 40, Column: 23}
	_, err = s.Value(context.Background(), &manifest.SecretValue{Env: "GL_TEST_UNSET", Pos: at})
	if err == nil || !strings.Contains(err.Error(), "GL_TEST_UNSET (mapped at greenlight.yaml:40:23) is not set") {
		t.Errorf("unset variable mapped at %s: %v", at, err)
	}
}

func TestWebhookSecretPrefersTheDefinition(t *testing.T) {
	t.Setenv(WebhookSecretEnv, "from-env")
	t.Setenv("GL_TEST_HOOK", "from-definition")
	ctx := context.Background()
	if got, err := (Secrets{Def: &manifest.Definition{}}).WebhookSecret(ctx); got != "from-env" || err != nil {
		t.Errorf("without webhook.secret: %q, %v", got, err)
	}
	def := &manifest.Definition{Webhook: &manifest.WebhookConfig{Secret: &manifest.SecretValue{Env: "GL_TEST_HOOK"}}}
	if got, err := (Secrets{Def: def}).WebhookSecret(ctx); got != "from-definition" || err != nil {
		t.Errorf("with webhook.secret: %q, %v", got, err)
	}
	t.Setenv(WebhookSecretEnv, "")
	if _, err := (Secrets{Def: &manifest.Definition{}}).WebhookSecret(ctx); !errors.Is(err, ErrNoWebhookSecret) {
		t.Errorf("no secret anywhere: %v", err)
	}
}
