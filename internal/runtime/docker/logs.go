package docker

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs copies the container's output to w, stdout and stderr demultiplexed
// from the engine's stream into one. With follow it returns nil when the
// container stops and ctx.Err() when ctx ends first.
func (d *Driver) Logs(ctx context.Context, id string, w io.Writer, follow bool) error {
	c, err := d.inspectOwn(ctx, id)
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	rc, err := d.cli.ContainerLogs(ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow})
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	defer rc.Close()
	if c.Config != nil && c.Config.Tty {
		_, err = io.Copy(w, rc) // a TTY stream is not multiplexed
	} else {
		_, err = stdcopy.StdCopy(w, w, rc)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	return nil
}
