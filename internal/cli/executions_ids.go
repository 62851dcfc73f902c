package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// resolveExecution accepts a full execution id or a unique prefix of a recent one.
func resolveExecution(ctx context.Context, b control.Backend, arg string) (string, error) {
	page, err := b.ListExecutions(ctx, control.ExecutionQuery{Limit: 200})
	if err != nil {
		return "", err
	}
	var match []string
	for _, ex := range page.Executions {
		if ex.ID == arg {
			return arg, nil
		}
		if strings.HasPrefix(ex.ID, arg) {
			match = append(match, ex.ID)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return "", fmt.Errorf("no execution %q (see `greenlight history`)", arg)
	}
	return "", fmt.Errorf("%q matches several executions: %s", arg, strings.Join(match, ", "))
}

// withExecution runs fn on the backend for the execution arg names.
func (a *app) withExecution(ctx context.Context, arg string, fn func(b control.Backend, id string) error) error {
	return a.withBackend(ctx, true, func(b control.Backend) error {
		id, err := resolveExecution(ctx, b, arg)
		if err != nil {
			return err
		}
		return fn(b, id)
	})
}
