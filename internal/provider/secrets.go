package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Secrets resolves the secrets a build asks for from the sources greenlight.yaml
// maps them to: an environment variable of greenlight, or a file.
type Secrets struct{ Def *manifest.Definition }

// SecretsManager resolves "secret-id[:json-key[:version-stage[:version-id]]]"
// (the id may be an ARN, as validation reads it); with a json-key the secret's
// value is read as a JSON object. Local sources have one version: the stage and
// id are not checked.
func (s Secrets) SecretsManager(_ context.Context, ref string) (string, error) {
	r := manifest.ParseSecretRef(ref)
	src, _ := s.Def.Secrets.SecretsManagerSource(r.ID)
	value, err := s.read(src, "secrets_manager", r.ID)
	if err != nil || r.JSONKey == "" {
		return value, err
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(value), &fields); err != nil {
		return "", fmt.Errorf("secret %s: json-key %q asked, but the secret is not a JSON object", r.ID, r.JSONKey)
	}
	v, ok := fields[r.JSONKey]
	if !ok {
		return "", fmt.Errorf("secret %s has no key %q", r.ID, r.JSONKey)
	}
	if str, ok := v.(string); ok {
		return str, nil
	}
	b, _ := json.Marshal(v)
	return string(b), nil
}

// ParameterStore resolves a parameter-store name from the definition's local
// secret sources.
func (s Secrets) ParameterStore(_ context.Context, name string) (string, error) {
	var sources map[string]*manifest.SecretSource
	if s.Def.Secrets != nil {
		sources = s.Def.Secrets.ParameterStore
	}
	return s.read(sources[name], "parameter_store", name)
}

func (s Secrets) read(src *manifest.SecretSource, section, id string) (string, error) {
	if src == nil {
		return "", fmt.Errorf("%q is not mapped under secrets.%s in %s", id, section, s.Def.Path)
	}
	if src.Env != "" {
		v, ok := os.LookupEnv(src.Env)
		if !ok {
			return "", fmt.Errorf("%s: environment variable %s%s is not set", id, src.Env, mappedAt(src.Pos))
		}
		return v, nil
	}
	path := src.File
	if strings.HasPrefix(path, "~/") {
		home, _ := os.UserHomeDir()
		path = filepath.Join(home, path[2:])
	} else if !filepath.IsAbs(path) {
		path = filepath.Join(s.Def.Dir, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: read secret file%s: %w", id, mappedAt(src.Pos), err)
	}
	return strings.TrimRight(string(b), "\n"), nil
}

// mappedAt says where greenlight.yaml maps a secret, or nothing when that is
// not known (a reference kept without its position).
func mappedAt(pos manifest.Pos) string {
	if pos == (manifest.Pos{}) {
		return ""
	}
	return " (mapped at " + pos.String() + ")"
}

// ContainerSecret is the deploy.SecretResolver of this machine: a container
// secret's valueFrom read from the local sources a deployment snapshotted
// (deploy.SecretSources). An env source is read from this process's
// environment: the controller's.
func ContainerSecret(ctx context.Context, sources *manifest.Secrets, valueFrom string) (string, error) {
	s := Secrets{Def: &manifest.Definition{Path: "greenlight.yaml (as the deployment snapshotted it)", Secrets: sources}}
	kind, ref := manifest.ContainerSecretSource(valueFrom)
	if kind == manifest.EnvSecretsManager {
		return s.SecretsManager(ctx, ref)
	}
	return s.ParameterStore(ctx, ref)
}
