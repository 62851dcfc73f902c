package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// validateDefinition checks what spans sections: references between them, unique
// names and addresses, the pipeline's graph. It tolerates fields left empty by
// decoding errors, which were reported already.
func (d *decoder) validateDefinition(def *Definition) {
	if def.Pipeline != nil {
		d.validatePipeline(def)
	}
	d.validateBuildProjects(def)
	d.validateListeners(def)
	d.validateApplications(def)
	d.validateNotifications(def)
}

func (d *decoder) validateBuildProjects(def *Definition) {
	for _, name := range slices.Sorted(maps.Keys(def.BuildProjects)) {
		bp := def.BuildProjects[name]
		seen := map[string]bool{}
		for _, ev := range bp.EnvironmentVariables {
			if ev.Name != "" && seen[ev.Name] {
				d.errorf(d.at(ev, "name", ev.Pos), "name: environment variable %q is set twice", ev.Name)
			}
			seen[ev.Name] = true
			d.checkSecretRef(def, ev.Type, ev.Value, d.at(ev, "value", ev.Pos), "value")
		}
	}
}

// checkSecretRef: a secret a build reads must have a local source under secrets.
func (d *decoder) checkSecretRef(def *Definition, typ, ref string, at Pos, what string) {
	if msg := secretRefProblem(def, typ, ref); msg != "" {
		d.errorf(at, "%s: %s", what, msg)
	}
}

// secretRefProblem says why a secret reference has no local source, or "".
func secretRefProblem(def *Definition, typ, ref string) string {
	var sources map[string]*SecretSource
	var section string
	switch typ {
	case EnvSecretsManager:
		section = "secrets.secrets_manager"
		if def.Secrets != nil {
			sources = def.Secrets.SecretsManager
		}
	case EnvParameterStore:
		section = "secrets.parameter_store"
		if def.Secrets != nil {
			sources = def.Secrets.ParameterStore
		}
	default:
		return ""
	}
	id := ref
	if typ == EnvSecretsManager {
		id = ParseSecretRef(ref).ID
		if _, ok := def.Secrets.SecretsManagerSource(id); ok {
			return ""
		}
	}
	if _, ok := sources[id]; !ok && id != "" {
		return fmt.Sprintf("%s %q has no local source; map it under %s (known: %s)", strings.ToLower(typ), id, section, allowedNames(slices.Sorted(maps.Keys(sources)), "none"))
	}
	return ""
}

// SecretsManagerSource returns the local source of a secrets-manager secret id:
// mapped by the id itself or, for an ARN, by the secret's name in it
// (arn:aws:secretsmanager:region:account:secret:NAME).
func (s *Secrets) SecretsManagerSource(id string) (*SecretSource, bool) {
	if s == nil {
		return nil, false
	}
	if src, ok := s.SecretsManager[id]; ok {
		return src, true
	}
	if _, name, ok := strings.Cut(id, ":secret:"); ok && strings.HasPrefix(id, "arn:") {
		src, ok := s.SecretsManager[name]
		return src, ok
	}
	return nil, false
}

// ContainerSecretSource tells which local source a container secret's
// valueFrom reads, as ECS reads it: a Secrets Manager ARN (with an optional
// json-key, version-stage and version-id) from secrets.secrets_manager; an SSM
// parameter ARN or a parameter name from secrets.parameter_store.
func ContainerSecretSource(valueFrom string) (kind, ref string) {
	switch {
	case strings.HasPrefix(valueFrom, "arn:") && strings.Contains(valueFrom, ":secretsmanager:"):
		return EnvSecretsManager, valueFrom
	case strings.HasPrefix(valueFrom, "arn:") && strings.Contains(valueFrom, ":ssm:"):
		_, name, _ := strings.Cut(valueFrom, ":parameter")
		if strings.Count(name, "/") == 1 {
			name = strings.TrimPrefix(name, "/") // "parameter/name": a name without a path
		}
		return EnvParameterStore, name
	}
	return EnvParameterStore, valueFrom
}

// SecretRef is a secrets-manager reference as CodeBuild writes it:
// secret-id[:json-key[:version-stage[:version-id]]]. The id may be an ARN.
type SecretRef struct {
	ID, JSONKey, VersionStage, VersionID string
}

// ParseSecretRef splits a secrets-manager reference into its parts.
func ParseSecretRef(ref string) SecretRef {
	parts := strings.Split(ref, ":")
	idParts := 1
	if strings.HasPrefix(ref, "arn:") {
		idParts = min(7, len(parts)) // arn:partition:secretsmanager:region:account:secret:name
	}
	r := SecretRef{ID: strings.Join(parts[:idParts], ":")}
	rest := parts[idParts:]
	for i, dst := range []*string{&r.JSONKey, &r.VersionStage, &r.VersionID} {
		if i < len(rest) {
			*dst = rest[i]
		}
	}
	return r
}
