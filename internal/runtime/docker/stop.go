package docker

import (
	"context"
	"fmt"
	"slices"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
)

// defaultGrace is the stop grace of an exited task's other containers when
// they set no stop timeout (Docker's own default).
const defaultGrace = 10 * time.Second

// Stop stops the task's containers, the last started first, each with its stop
// signal (SIGTERM by default) and SIGKILL after its stop timeout or grace
// (rounded up to whole seconds), and removes them. A task that is gone, or
// containers this state dir does not own, are left alone and nil returned.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	cs, err := d.taskContainers(ctx, id)
	if err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	if err := d.stopContainers(ctx, cs, grace); err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	for _, c := range cs {
		if err := d.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil &&
			!cerrdefs.IsNotFound(err) && !cerrdefs.IsConflict(err) { // conflict: a removal is already in progress
			return fmt.Errorf("stop task %s: remove container: %w", id, err)
		}
	}
	if len(cs) > 0 {
		d.logger.Info("stopped task", "task", id, "grace", grace)
	}
	return nil
}

// stopContainers stops the running ones of cs (in start order), last first.
func (d *Driver) stopContainers(ctx context.Context, cs []container.InspectResponse, grace time.Duration) error {
	for _, c := range slices.Backward(cs) {
		if c.State == nil || !c.State.Running {
			continue
		}
		timeout := seconds(max(grace, 0))
		if c.Config != nil && c.Config.StopTimeout != nil {
			timeout = *c.Config.StopTimeout
		}
		if err := d.cli.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &timeout}); err != nil && !cerrdefs.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// removeTask deletes the containers of a task that failed to start, logging
// what it cannot do: the caller already has a better error to return.
func (d *Driver) removeTask(ctx context.Context, id string) {
	cs, err := d.taskContainers(ctx, id)
	for _, c := range cs {
		if err == nil {
			err = d.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.logger.Warn("remove the containers of a task that failed to start", "task", id, "err", err)
	}
}
