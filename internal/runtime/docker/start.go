package docker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
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

// Start runs spec as a container named spec.ID. A running container of that
// name is returned as it is; an exited one is removed and created anew.
func (d *Driver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	cfg, host, err := containerConfig(spec, d.stateDir)
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	if task, running, err := d.reuse(ctx, spec.ID); err != nil || running {
		return task, err
	}
	if err := d.ensureImage(ctx, spec.Image); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	created, err := d.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.ID)
	if cerrdefs.IsConflict(err) {
		// Another Start of the same task won the name: its container is the task.
		if task, running, rerr := d.reuse(ctx, spec.ID); rerr == nil && running {
			return task, nil
		}
	}
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: create container: %w", spec.ID, err)
	}
	if err := d.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		d.remove(context.WithoutCancel(ctx), created.ID)
		return runtime.Task{}, fmt.Errorf("start task %s: start container: %w", spec.ID, err)
	}
	c, err := d.inspectOwn(ctx, spec.ID)
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	task := taskOf(c)
	if task.State != runtime.TaskRunning {
		// Left in place so that its logs say why; Stop removes it.
		return runtime.Task{}, fmt.Errorf("start task %s: container exited at once with code %d%s",
			spec.ID, task.ExitCode, reasonSuffix(task.Error))
	}
	d.logger.Info("started container", "task", spec.ID, "container", created.ID[:12],
		"image", spec.Image, "address", task.Address)
	return task, nil
}

// reuse looks for a container already named id: a running one of ours is the
// task; an exited one is removed so that the name is free again.
func (d *Driver) reuse(ctx context.Context, id string) (task runtime.Task, running bool, err error) {
	c, err := d.cli.ContainerInspect(ctx, id)
	if cerrdefs.IsNotFound(err) {
		return runtime.Task{}, false, nil
	}
	if err != nil {
		return runtime.Task{}, false, fmt.Errorf("start task %s: inspect container: %w", id, err)
	}
	if !d.owns(c) {
		return runtime.Task{}, false, fmt.Errorf("start task %s: a container of that name exists that this state dir (%s) does not own: remove it or pick another ID",
			id, d.stateDir)
	}
	if c.State != nil && c.State.Running {
		return taskOf(c), true, nil
	}
	if err := d.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		return runtime.Task{}, false, fmt.Errorf("start task %s: remove exited container: %w", id, err)
	}
	return runtime.Task{}, false, nil
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

// containerConfig translates spec into the engine's terms.
func containerConfig(spec runtime.TaskSpec, stateDir string) (*container.Config, *container.HostConfig, error) {
	if err := runtime.ValidateID(spec.ID); err != nil {
		return nil, nil, err
	}
	if spec.Image == "" {
		return nil, nil, errors.New("no image: the docker driver needs the task definition's image")
	}
	if spec.ContainerPort < 0 || spec.ContainerPort > math.MaxUint16 {
		return nil, nil, fmt.Errorf("container port %d: want 1-65535, or 0 for none", spec.ContainerPort)
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[runtime.LabelStateDir] = stateDir

	cfg := &container.Config{
		Image:      spec.Image,
		Env:        spec.Env,
		User:       spec.User,
		WorkingDir: spec.WorkingDir,
		Labels:     labels,
		Entrypoint: spec.EntryPoint,
		Cmd:        spec.Command,
	}
	if spec.StopTimeout > 0 {
		cfg.StopTimeout = ptr(seconds(spec.StopTimeout))
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
	}
	if spec.ContainerPort > 0 {
		port := nat.Port(strconv.Itoa(spec.ContainerPort) + "/tcp")
		cfg.ExposedPorts = nat.PortSet{port: {}}
		// An empty HostPort lets the engine pick a free one; read back by inspect.
		host.PortBindings = nat.PortMap{port: {{HostIP: "127.0.0.1", HostPort: ""}}}
	}
	return cfg, host, nil
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
