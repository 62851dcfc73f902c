package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Driver names an environment can choose in greenlight.yaml.
const (
	DriverAuto    = "auto"
	DriverDocker  = "docker"
	DriverProcess = "process"
)

// DriverNames lists the allowed driver names, for validation and error messages.
func DriverNames() []string { return []string{DriverAuto, DriverDocker, DriverProcess} }

// ErrUnavailable is wrapped by a Factory whose runtime does not answer on this
// machine (no Docker Engine, no agent), as opposed to one that is misconfigured.
var ErrUnavailable = errors.New("runtime unavailable")

// Factory builds a driver, checking that its runtime answers. It returns an error
// wrapping ErrUnavailable when it does not.
type Factory func(ctx context.Context) (Driver, error)

// Select returns the driver an environment asked for: "docker" or "process" by
// name, or "auto": Docker when an engine answers, else the process driver. Asking
// for docker where no engine answers is an error that says so, never a silent
// fallback, so that a pipeline does not deploy something else than it declares.
func Select(ctx context.Context, name string, docker, process Factory) (Driver, error) {
	switch name {
	case DriverDocker:
		return build(ctx, name, docker)
	case DriverProcess:
		return build(ctx, name, process)
	case DriverAuto, "":
		d, err := build(ctx, DriverDocker, docker)
		if err == nil {
			return d, nil
		}
		if !errors.Is(err, ErrUnavailable) {
			return nil, fmt.Errorf("driver auto: %w", err)
		}
		return build(ctx, DriverProcess, process)
	default:
		return nil, fmt.Errorf("unknown runtime driver %q: allowed values are %s",
			name, strings.Join(DriverNames(), ", "))
	}
}

func build(ctx context.Context, name string, factory Factory) (Driver, error) {
	if factory == nil {
		return nil, fmt.Errorf("driver %s: %w: not supported here", name, ErrUnavailable)
	}
	d, err := factory(ctx)
	if err != nil {
		return nil, fmt.Errorf("driver %s: %w", name, err)
	}
	return d, nil
}
