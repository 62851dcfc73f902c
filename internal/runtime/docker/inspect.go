package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/go-connections/nat"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Labels on every container of a task, besides the task's own and the state
// directory's.
const (
	labelTask      = "greenlight.task"
	labelContainer = "greenlight.container"
	labelOrder     = "greenlight.order"     // start order within the task
	labelEssential = "greenlight.essential" // "true" or "false"
	labelPort      = "greenlight.port"      // on the network holder: the port the task's address reaches
)

// containerName is the task ID for a task of one container, <task>.<container>
// for each of several.
func containerName(taskID, name string, single bool) string {
	if single {
		return taskID
	}
	return taskID + "." + name
}

// Inspect returns the task, runtime.ErrNotFound when no container of this state
// dir belongs to it. A task whose essential container exited has the rest of
// its containers stopped.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Task, error) {
	cs, err := d.taskContainers(ctx, id)
	if err != nil {
		return runtime.Task{}, err
	}
	if len(cs) == 0 {
		return runtime.Task{}, fmt.Errorf("task %s: %w", id, runtime.ErrNotFound)
	}
	task := taskOf(id, cs)
	d.enforce(task, cs)
	return task, nil
}

// List returns this state dir's tasks whose containers carry all of labels,
// exited ones included, ordered by ID.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]runtime.Task, error) {
	byTask, err := d.containers(ctx, labels)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	tasks := []runtime.Task{}
	for _, id := range slices.Sorted(maps.Keys(byTask)) {
		task := taskOf(id, byTask[id])
		d.enforce(task, byTask[id])
		tasks = append(tasks, task)
	}
	return tasks, nil
}

// taskContainers returns the task's containers in start order (a container of
// an older version without the task label is found by its name).
func (d *Driver) taskContainers(ctx context.Context, id string) ([]container.InspectResponse, error) {
	byTask, err := d.containers(ctx, map[string]string{labelTask: id})
	if err != nil {
		return nil, fmt.Errorf("task %s: %w", id, err)
	}
	if cs := byTask[id]; len(cs) > 0 {
		return cs, nil
	}
	c, err := d.inspectOwn(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) || (err == nil && c.Config.Labels[labelTask] != "") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []container.InspectResponse{c}, nil
}

// containers inspects this state dir's containers carrying labels, grouped by
// task, each group in start order.
func (d *Driver) containers(ctx context.Context, labels map[string]string) (map[string][]container.InspectResponse, error) {
	f := filters.NewArgs(filters.Arg("label", runtime.LabelStateDir+"="+d.stateDir))
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	summaries, err := d.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, err
	}
	byTask := map[string][]container.InspectResponse{}
	for _, s := range summaries {
		// The summary lacks exit codes, OOM kills and health; inspect has them.
		c, err := d.cli.ContainerInspect(ctx, s.ID)
		if cerrdefs.IsNotFound(err) {
			continue // removed since the list
		}
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", s.ID, err)
		}
		id := cmp.Or(c.Config.Labels[labelTask], containerNameOf(c))
		byTask[id] = append(byTask[id], c)
	}
	for _, cs := range byTask {
		slices.SortFunc(cs, func(a, b container.InspectResponse) int { return orderOf(a) - orderOf(b) })
	}
	return byTask, nil
}

func orderOf(c container.InspectResponse) int {
	n, _ := strconv.Atoi(c.Config.Labels[labelOrder])
	return n
}

// taskOf reads a task from its containers, in start order.
func taskOf(id string, cs []container.InspectResponse) runtime.Task {
	task := runtime.Task{ID: id, State: runtime.TaskExited}
	specs := make([]runtime.ContainerSpec, len(cs))
	for i, c := range cs {
		st := containerStateOf(c)
		task.Containers = append(task.Containers, st)
		specs[i] = runtime.ContainerSpec{Name: st.Name, Essential: c.Config == nil || c.Config.Labels[labelEssential] != "false"}
		if c.Config != nil && c.Config.Healthcheck != nil {
			specs[i].HealthCheck = &runtime.HealthCheck{Command: c.Config.Healthcheck.Test}
		}
	}
	if len(cs) == 0 {
		return task
	}
	holder := cs[0]
	if holder.Config != nil {
		task.Labels = holder.Config.Labels
	}
	if holder.State != nil {
		task.Started, _ = time.Parse(time.RFC3339Nano, holder.State.StartedAt)
	}
	task.State, task.ExitCode, task.Error = runtime.Outcome(specs, task.Containers)
	task.Health = runtime.TaskHealth(specs, task.Containers)
	if task.State == runtime.TaskRunning {
		port, _ := strconv.Atoi(task.Labels[labelPort])
		task.Address = hostAddress(holder.NetworkSettings, port)
	}
	if len(cs) == 1 {
		task.Containers = nil // a task of one container is that container
	}
	return task
}

// containerStateOf reads one container's state.
func containerStateOf(c container.InspectResponse) runtime.ContainerState {
	st := runtime.ContainerState{Name: containerNameOf(c), State: runtime.TaskExited}
	if c.Config != nil && c.Config.Labels[labelContainer] != "" {
		st.Name = c.Config.Labels[labelContainer]
	}
	s := c.State
	switch {
	case s == nil:
	case s.Running:
		st.State = runtime.TaskRunning
	case s.OOMKilled:
		st.ExitCode, st.Error = s.ExitCode, "out of memory: killed by the kernel's OOM killer"
	default:
		st.ExitCode, st.Error = s.ExitCode, s.Error
	}
	if s != nil && s.Health != nil {
		st.Health = map[container.HealthStatus]runtime.Health{
			container.Healthy: runtime.HealthHealthy, container.Unhealthy: runtime.HealthUnhealthy,
		}[s.Health.Status]
		st.Health = cmp.Or(st.Health, runtime.HealthUnknown)
	}
	return st
}

func containerNameOf(c container.InspectResponse) string {
	if c.ContainerJSONBase == nil {
		return ""
	}
	return strings.TrimPrefix(c.Name, "/")
}

// hostAddress is the loopback host:port published for the container port
// (the first binding, ports sorted, when port is 0).
func hostAddress(ns *container.NetworkSettings, port int) string {
	if ns == nil {
		return ""
	}
	keys := slices.Sorted(maps.Keys(ns.Ports))
	if port > 0 {
		keys = []nat.Port{nat.Port(strconv.Itoa(port) + "/tcp")}
	}
	for _, p := range keys {
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
