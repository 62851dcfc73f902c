// Package docker is the runtime driver that runs each task as Docker Engine
// containers, through the official Go client. It owns turning a TaskSpec into
// containers (images that must exist locally, env and secrets, entrypoint and
// command, user, workdir, health checks, labels, no restart policy; the first
// container holds the task's network and publishes every port on a random
// loopback port, the others join it), and reading containers back as tasks.
// Containers are named after the task ID (<task>.<container> for a task of
// several) and labelled with the state directory, which scopes what a driver
// sees. While it is open, the driver that started a task stops its other
// containers when an essential one exits.
package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// pingTimeout bounds the check that an engine answers: a missing engine must
// not hold up choosing the process driver.
const pingTimeout = 2 * time.Second

// Options configure a Driver.
type Options struct {
	// StateDir is labelled (greenlight.state-dir) on every container; the driver
	// only sees containers carrying its own. Required.
	StateDir string
	Logger   *slog.Logger
}

// Driver implements runtime.Driver on a Docker Engine. It is safe for
// concurrent use; the engine arbitrates between drivers in several processes.
type Driver struct {
	cli      *client.Client
	stateDir string
	logger   *slog.Logger

	watching  sync.Map // task ID -> true while watch runs for it
	stopping  sync.Map // task ID -> true while the rest of an exited task is stopped
	done      chan struct{}
	closeOnce sync.Once
	watchers  sync.WaitGroup
}

var _ runtime.Driver = (*Driver)(nil)

// New returns a driver for the engine named by the environment (DOCKER_HOST and
// friends, else the local socket), negotiating the API version. It does not
// contact the engine; Connect does.
func New(opts Options) (*Driver, error) {
	if opts.StateDir == "" {
		return nil, errors.New("docker driver: StateDir is required")
	}
	stateDir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("docker driver: state dir: %w", err)
	}
	cli, err := newClient()
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{cli: cli, stateDir: stateDir, logger: logger.With("driver", runtime.DriverDocker), done: make(chan struct{})}, nil
}

func newClient() (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	return cli, nil
}

// Connect returns a driver whose engine answered a ping; when none answers the
// error wraps runtime.ErrUnavailable, which runtime.Select reads as "use the
// process driver".
func Connect(ctx context.Context, opts Options) (*Driver, error) {
	d, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := d.Ping(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// Ping checks, within a short timeout, that the engine answers.
func (d *Driver) Ping(ctx context.Context) error {
	return ping(ctx, d.cli)
}

func ping(ctx context.Context, cli *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		return fmt.Errorf("no Docker Engine answers at %s: %w (%w)", cli.DaemonHost(), runtime.ErrUnavailable, err)
	}
	return nil
}

// Available reports whether a Docker Engine answers, within a short timeout.
func Available(ctx context.Context) bool {
	cli, err := newClient()
	if err != nil {
		return false
	}
	defer cli.Close()
	return ping(ctx, cli) == nil
}

// Close ends the watches and releases the client's connections.
func (d *Driver) Close() error {
	d.closeOnce.Do(func() { close(d.done) })
	d.watchers.Wait()
	return d.cli.Close()
}

// Name returns "docker".
func (d *Driver) Name() string { return runtime.DriverDocker }

// inspectOwn returns the container named id when it belongs to this driver's
// state dir; anything else is runtime.ErrNotFound.
func (d *Driver) inspectOwn(ctx context.Context, id string) (container.InspectResponse, error) {
	c, err := d.cli.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return c, fmt.Errorf("task %s: %w", id, runtime.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("inspect container %s: %w", id, err)
	}
	// Inspect also matches container IDs; a task is only ever its name.
	if containerNameOf(c) != id || !d.owns(c) {
		return c, fmt.Errorf("task %s: %w", id, runtime.ErrNotFound)
	}
	return c, nil
}

func (d *Driver) owns(c container.InspectResponse) bool {
	return c.Config != nil && c.Config.Labels[runtime.LabelStateDir] == d.stateDir
}
