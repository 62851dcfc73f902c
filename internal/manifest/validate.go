package manifest

import (
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
		return
	}
	id := ref
	if typ == EnvSecretsManager {
		id = ParseSecretRef(ref).ID
	}
	if _, ok := sources[id]; !ok && id != "" {
		d.errorf(at, "%s: %s %q has no local source; map it under %s (known: %s)", what, strings.ToLower(typ), id, section, allowedNames(slices.Sorted(maps.Keys(sources)), "none"))
	}
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
