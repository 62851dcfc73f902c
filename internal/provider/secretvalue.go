package provider

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// WebhookSecretEnv is where `greenlight serve` reads the GitHub webhook secret when
// greenlight.yaml declares none.
const WebhookSecretEnv = "GREENLIGHT_WEBHOOK_SECRET"

// ErrNoWebhookSecret means neither greenlight.yaml nor the environment gives a secret,
// so no delivery can be verified (and none is accepted).
var ErrNoWebhookSecret = errors.New("no webhook secret: set " + WebhookSecretEnv + " or webhook.secret in greenlight.yaml")

// Value reads a secret written in place in greenlight.yaml (a notification
// target's URL or signing secret, the webhook secret): an environment variable, a
// file, or a source mapped under secrets.
func (s Secrets) Value(ctx context.Context, v *manifest.SecretValue) (string, error) {
	switch {
	case v == nil:
		return "", errors.New("no secret source given")
	case v.SecretsManager != "":
		return s.SecretsManager(ctx, v.SecretsManager)
	case v.ParameterStore != "":
		return s.ParameterStore(ctx, v.ParameterStore)
	}
	value, err := s.read(&manifest.SecretSource{Env: v.Env, File: v.File, Pos: v.Pos}, "", v.String())
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return value, nil
}

// WebhookSecret returns the secret GitHub deliveries for this definition are
// signed with: webhook.secret when greenlight.yaml declares it, else
// GREENLIGHT_WEBHOOK_SECRET. An empty secret counts as none: HMAC with an empty key
// would accept anyone who guesses that.
func (s Secrets) WebhookSecret(ctx context.Context) (string, error) {
	var secret string
	if s.Def != nil && s.Def.Webhook != nil {
		v, err := s.Value(ctx, s.Def.Webhook.Secret)
		if err != nil {
			return "", fmt.Errorf("webhook secret (%s): %w", s.Def.Webhook.Secret, err)
		}
		secret = v
	} else {
		secret = os.Getenv(WebhookSecretEnv)
	}
	if secret == "" {
		return "", ErrNoWebhookSecret
	}
	return secret, nil
}
