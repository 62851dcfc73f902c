package docker

import (
	"context"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Inspect returns the task, runtime.ErrNotFound when no container of this state
// dir has that name.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Task, error) {
	c, err := d.inspectOwn(ctx, id)
	if err != nil {
		return runtime.Task{}, err
	}
	return taskOf(c), nil
}

// List returns this state dir's containers carrying all of labels, exited ones
// included, ordered by ID.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]runtime.Task, error) {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelStateDir+"="+d.stateDir))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	summaries, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	tasks := []runtime.Task{}
	for _, s := range summaries {
		// The summary lacks exit codes and OOM kills; inspect has them.
		c, err := d.cli.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list
		}
		if err != nil {
			return nil, fmt.Errorf("list containers: inspect %s: %w", s.ID, err)
		}
		tasks = append(tasks, taskOf(c))
	}
	slices.SortFunc(tasks, func(a, b runtime.Task) int { return strings.Compare(a.ID, b.ID) })
	return tasks, nil
}

// taskOf reads a container as a task.
func taskOf(c container.InspectResponse) runtime.Task {
	task := runtime.Task{ID: containerName(c), State: runtime.TaskExited}
	if c.Config != nil {
		task.Labels = c.Config.Labels
	}
	if st := c.State; st != nil {
		task.Started, _ = time.Parse(time.RFC3339Nano, st.StartedAt)
		switch {
		case st.Running:
			task.State = runtime.TaskRunning
			task.Address = hostAddress(c.NetworkSettings)
		case st.OOMKilled:
			task.ExitCode, task.Error = st.ExitCode, "out of memory: killed by the kernel's OOM killer"
		default:
			task.ExitCode, task.Error = st.ExitCode, st.Error
		}
	}
	return task
}

func containerName(c container.InspectResponse) string {
	return strings.TrimPrefix(c.Name, "/")
}

// hostAddress is the loopback host:port published for the container's port.
// The driver publishes one port, so the first binding is it; sorting keeps the
// answer stable for images that expose more.
func hostAddress(ns *container.NetworkSettings) string {
	if ns == nil {
		return ""
	}
	for _, p := range slices.Sorted(maps.Keys(ns.Ports)) {
		for _, b := range ns.Ports[p] {
			if b.HostPort == "" {
				continue
			}
			ip := b.HostIP
			if ip == "" || ip == "0.0.0.0" {
				ip = "127.0.0.1"
			}
			return net.JoinHostPort(ip, b.HostPort)
		}
	}
	return ""
}
