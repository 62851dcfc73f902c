package awsnotify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// url returns the webhook URL src keeps, read once.
func (h *Handler) url(ctx context.Context, src Source) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u, ok := h.urls[src]; ok {
		return u, nil
	}
	var u string
	var err error
	switch {
	case src.SecretsManager != "":
		u, err = h.secret(ctx, src.SecretsManager)
	case src.ParameterStore != "":
		u, err = h.parameter(ctx, src.ParameterStore)
	default:
		err = fmt.Errorf("a Slack webhook without a source: set secrets_manager or parameter_store")
	}
	if err != nil {
		return "", err
	}
	if h.urls == nil {
		h.urls = map[Source]string{}
	}
	h.urls[src] = strings.TrimSpace(u)
	return h.urls[src], nil
}

// secret reads a Secrets Manager reference "id[:json-key[:version-stage]]".
func (h *Handler) secret(ctx context.Context, ref string) (string, error) {
	r := manifest.ParseSecretRef(ref)
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.ID)}
	if r.VersionStage != "" {
		in.VersionStage = aws.String(r.VersionStage)
	}
	out, err := h.Secrets.GetSecretValue(ctx, in)
	if err != nil {
		return "", fmt.Errorf("read the Slack webhook URL from secret %s (the function's role needs secretsmanager:GetSecretValue on it): %w", r.ID, err)
	}
	value := aws.ToString(out.SecretString)
	if r.JSONKey == "" {
		return value, nil
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(value), &fields); err != nil {
		return "", fmt.Errorf("secret %s: json-key %q asked, but the secret is not a JSON object", r.ID, r.JSONKey)
	}
	s, ok := fields[r.JSONKey].(string)
	if !ok {
		return "", fmt.Errorf("secret %s has no string field %q", r.ID, r.JSONKey)
	}
	return s, nil
}

// parameter reads a Parameter Store parameter, decrypted.
func (h *Handler) parameter(ctx context.Context, name string) (string, error) {
	out, err := h.Parameters.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return "", fmt.Errorf("read the Slack webhook URL from parameter %s (the function's role needs ssm:GetParameter on it): %w", name, err)
	}
	if out.Parameter == nil {
		return "", fmt.Errorf("parameter %s: empty answer", name)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// FromEnvironment reads the routes and the console URL the stack sets.
func FromEnvironment(getenv func(string) string) (Routes, string, error) {
	var routes Routes
	if err := json.Unmarshal([]byte(getenv(EnvRoutes)), &routes); err != nil {
		return nil, "", fmt.Errorf("%s: want JSON {\"<rule ARN>\": [{\"secrets_manager\": \"id\"}]}: %w", EnvRoutes, err)
	}
	console := getenv(EnvConsoleURL)
	if console == "" && getenv("AWS_REGION") != "" {
		console = "https://" + getenv("AWS_REGION") + ".console.aws.amazon.com/codesuite/codepipeline/"
	}
	return routes, console, nil
}
