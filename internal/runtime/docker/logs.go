package docker

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Logs copies the output of the task's containers to w, stdout and stderr
// demultiplexed from the engine's stream into one; with several containers each
// line is prefixed with its container's name. With follow it returns nil when
// the containers stop and ctx.Err() when ctx ends first.
func (d *Driver) Logs(ctx context.Context, id string, w io.Writer, follow bool) error {
	cs, err := d.taskContainers(ctx, id)
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	if len(cs) == 0 {
		return fmt.Errorf("logs of task %s: %w", id, runtime.ErrNotFound)
	}
	if len(cs) == 1 {
		return d.containerLogs(ctx, id, cs[0], w, follow)
	}
	sw := &syncWriter{w: w}
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		out := runtime.PrefixLines(sw, containerStateOf(c).Name)
		if !follow {
			errs[i] = d.containerLogs(ctx, id, c, out, false)
			continue
		}
		wg.Go(func() { errs[i] = d.containerLogs(ctx, id, c, out, true) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *Driver) containerLogs(ctx context.Context, id string, c container.InspectResponse, w io.Writer, follow bool) error {
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

// syncWriter lets the followers of several containers share one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
