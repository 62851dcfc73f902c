package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Stop asks the engine to stop the container (its stop signal, SIGTERM by
// default; SIGKILL after grace, rounded up to whole seconds) and removes it.
// A task that is gone, or a container this state dir does not own, is left
// alone and nil returned.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	c, err := d.inspectOwn(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	if c.State != nil && c.State.Running {
		timeout := seconds(max(grace, 0))
		err := d.cli.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &timeout})
		if err != nil && !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("stop task %s: %w", id, err)
		}
	}
	if err := d.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil &&
		!cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) { // conflict: a removal is already in progress
		return fmt.Errorf("stop task %s: remove container: %w", id, err)
	}
	d.logger.Info("stopped container", "task", id, "grace", grace)
	return nil
}

// remove deletes a container that failed to start, logging what it cannot do:
// the caller already has a better error to return.
func (d *Driver) remove(ctx context.Context, containerID string) {
	err := d.cli.ContainerRemove(ctx, containerID, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.logger.Warn("remove container that failed to start", "container", containerID, "err", err)
	}
}
