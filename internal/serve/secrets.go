package serve

import (
	"context"
	"errors"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/provider"
)

// definitionSecrets reads a notification target's secret from the local sources
// of the definitions served, as builds do. A queued delivery keeps the secret's
// reference, not which file declared it, so each definition's sources are tried
// in order and the first that has it answers.
type definitionSecrets []*manifest.Definition

// secretEnv names, sorted and once each, the variables every definition reads
// secrets from: a build of one repository inherits none of them, whichever
// definition reads them.
func secretEnv(defs []*manifest.Definition) []string {
	var all []string
	for _, def := range defs {
		all = append(all, def.SecretEnv()...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

func (ds definitionSecrets) Value(ctx context.Context, v *manifest.SecretValue) (string, error) {
	var errs []error
	for _, def := range ds {
		value, err := provider.Secrets{Def: def}.Value(ctx, v)
		if err == nil {
			return value, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}
