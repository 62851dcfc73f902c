package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// ImageNotFoundError is a task whose image the engine does not have. Nothing
// is ever pulled: images are built on this machine.
type ImageNotFoundError struct{ Image string }

func (e *ImageNotFoundError) Error() string {
	return fmt.Sprintf("image %s not found locally: build it first (greenlight never pulls images)", e.Image)
}

// launchPoll is how often a start looks at the conditions its containers wait for.
const launchPoll = 200 * time.Millisecond

// Start runs the task's containers, in dependency order, the first one holding
// the task's network (every container's ports published on loopback) and the
// others joining it. A running task of that ID is returned as it is; an exited
// or partial one is removed and started anew.
func (d *Driver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	if err := checkSpec(spec); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	if task, running, err := d.reuse(ctx, spec); err != nil || running {
		return task, err
	}
	for _, c := range spec.ContainerSpecs() {
		if err := d.ensureImage(ctx, c.Image); err != nil {
			return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
		}
	}
	r := &runner{d: d, spec: spec}
	if err := runtime.Launch(ctx, spec, r, launchPoll); err != nil {
		if errors.Is(err, errNameTaken) {
			// Another Start of the same task won the name: its containers are the task.
			if task, running, rerr := d.reuse(ctx, spec); rerr == nil && running {
				return task, nil
			}
		}
		d.removeTask(context.WithoutCancel(ctx), spec.ID)
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	task, err := d.Inspect(ctx, spec.ID)
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	if task.State != runtime.TaskRunning {
		// Left in place so that its logs say why; Stop removes it.
		return runtime.Task{}, fmt.Errorf("start task %s: container exited at once with code %d%s",
			spec.ID, task.ExitCode, reasonSuffix(task.Error))
	}
	d.watch(spec.ID)
	d.logger.Info("started task", "task", spec.ID, "containers", len(spec.ContainerSpecs()), "address", task.Address)
	return task, nil
}

// checkSpec is what the engine needs of a spec beyond the contract's checks.
func checkSpec(spec runtime.TaskSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.ContainerPort < 0 || spec.ContainerPort > math.MaxUint16 {
		return fmt.Errorf("container port %d: want 1-65535, or 0 for none", spec.ContainerPort)
	}
	for _, c := range spec.ContainerSpecs() {
		if c.Image == "" {
			return fmt.Errorf("container %s: no image: the docker driver needs the task definition's image", c.Name)
		}
		for _, p := range c.Ports {
			if p < 1 || p > math.MaxUint16 {
				return fmt.Errorf("container %s: container port %d: want 1-65535", c.Name, p)
			}
		}
	}
	return nil
}

// reuse looks for the task's containers: when every one runs, they are the
// task; anything else of it (exited, partial) is removed so that it starts
// anew. A container of one of its names that this state dir does not own is an
// error.
func (d *Driver) reuse(ctx context.Context, spec runtime.TaskSpec) (task runtime.Task, running bool, err error) {
	cs, err := d.taskContainers(ctx, spec.ID)
	if err != nil {
		return runtime.Task{}, false, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	all := len(cs) == len(spec.ContainerSpecs()) && !slices.ContainsFunc(cs, func(c container.InspectResponse) bool {
		return c.State == nil || !c.State.Running
	})
	if all {
		d.watch(spec.ID)
		return taskOf(spec.ID, cs), true, nil
	}
	for _, c := range cs {
		if err := d.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			return runtime.Task{}, false, fmt.Errorf("start task %s: remove exited container: %w", spec.ID, err)
		}
	}
	return runtime.Task{}, false, d.namesFree(ctx, spec)
}

// namesFree checks that no container of another state dir holds a name the
// task's containers need.
func (d *Driver) namesFree(ctx context.Context, spec runtime.TaskSpec) error {
	single := len(spec.ContainerSpecs()) == 1
	for _, c := range spec.ContainerSpecs() {
		name := containerName(spec.ID, c.Name, single)
		other, err := d.cli.ContainerInspect(ctx, name)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("start task %s: inspect container: %w", spec.ID, err)
		}
		if !d.owns(other) {
			return fmt.Errorf("start task %s: a container named %s exists that this state dir (%s) does not own: remove it or pick another ID",
				spec.ID, name, d.stateDir)
		}
	}
	return nil
}

func (d *Driver) ensureImage(ctx context.Context, image string) error {
	_, err := d.cli.ImageInspect(ctx, image)
	if cerrdefs.IsNotFound(err) {
		return &ImageNotFoundError{Image: image}
	}
	if err != nil {
		return fmt.Errorf("inspect image %s: %w", image, err)
	}
	return nil
}

// errNameTaken is a container name another Start of the same task took first.
var errNameTaken = errors.New("container name taken by a concurrent start")

// runner creates and starts the containers of one task for runtime.Launch.
type runner struct {
	d       *Driver
	spec    runtime.TaskSpec
	network string // ID of the container holding the task's network, once started
	order   int
}

func (r *runner) StartContainer(ctx context.Context, c runtime.ContainerSpec) error {
	name := containerName(r.spec.ID, c.Name, len(r.spec.ContainerSpecs()) == 1)
	cfg, host := containerConfig(r.spec, c, r.d.stateDir, r.order, r.network)
	created, err := r.d.cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if cerrdefs.IsConflict(err) {
		return fmt.Errorf("create container %s: %w", name, errNameTaken)
	}
	if err != nil {
		return fmt.Errorf("create container %s: %w", name, err)
	}
	r.order++
	if err := r.d.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container %s: %w", name, err)
	}
	if r.network == "" {
		r.network = created.ID
	}
	return nil
}

func (r *runner) ContainerStates(ctx context.Context) ([]runtime.ContainerState, error) {
	cs, err := r.d.taskContainers(ctx, r.spec.ID)
	if err != nil {
		return nil, err
	}
	states := make([]runtime.ContainerState, len(cs))
	for i, c := range cs {
		states[i] = containerStateOf(c)
	}
	return states, nil
}

// Docker's health check defaults are not ECS's; these are ECS's.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 5 * time.Second
	defaultHealthRetries  = 3
)

// containerConfig translates one container of spec into the engine's terms.
// The container that holds the task's network (network "") publishes every
// port of the task on loopback; the others join its network namespace.
func containerConfig(spec runtime.TaskSpec, c runtime.ContainerSpec, stateDir string, order int, network string) (*container.Config, *container.HostConfig) {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelStateDir], labels[labelTask], labels[labelContainer] = stateDir, spec.ID, c.Name
	labels[labelOrder], labels[labelEssential] = strconv.Itoa(order), strconv.FormatBool(c.Essential)
	cfg := &container.Config{
		Image: c.Image, Env: slices.Concat(c.Env, c.Secrets), User: c.User, WorkingDir: c.WorkingDir,
		Labels: labels, Entrypoint: c.EntryPoint, Cmd: c.Command,
	}
	if c.StopTimeout > 0 {
		cfg.StopTimeout = ptr(seconds(c.StopTimeout))
	}
	if hc := c.HealthCheck; hc != nil {
		cfg.Healthcheck = &container.HealthConfig{Test: hc.Command, Interval: cmp.Or(hc.Interval, defaultHealthInterval),
			Timeout: cmp.Or(hc.Timeout, defaultHealthTimeout), Retries: cmp.Or(hc.Retries, defaultHealthRetries), StartPeriod: hc.StartPeriod}
	}
	host := &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled}}
	if network != "" {
		host.NetworkMode = container.NetworkMode("container:" + network)
		return cfg, host
	}
	cfg.ExposedPorts, host.PortBindings = nat.PortSet{}, nat.PortMap{}
	for _, p := range taskPorts(spec) {
		port := nat.Port(strconv.Itoa(p) + "/tcp")
		cfg.ExposedPorts[port] = struct{}{}
		// An empty HostPort lets the engine pick a free one; read back by inspect.
		host.PortBindings[port] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: ""}}
	}
	if p := spec.TargetPort(); p > 0 {
		labels[labelPort] = strconv.Itoa(p)
	}
	return cfg, host
}

// taskPorts lists every container port of the task, ContainerPort included.
func taskPorts(spec runtime.TaskSpec) []int {
	var ports []int
	if spec.ContainerPort > 0 {
		ports = append(ports, spec.ContainerPort)
	}
	for _, c := range spec.ContainerSpecs() {
		ports = append(ports, c.Ports...)
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// seconds rounds up: the engine counts whole seconds, and a grace period must
// not shrink to nothing.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

func ptr[T any](v T) *T { return &v }

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return " (" + reason + ")"
}
