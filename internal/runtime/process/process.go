// Package process is the runtime driver that runs tasks as local processes
// supervised by the agent: it owns the client side of the supervisor's HTTP API
// (/v1/processes), so that tasks outlive the CLI that started them.
package process

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/greenlight-ci/greenlight/internal/jsonapi"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Driver implements runtime.Driver against the agent's supervisor.
type Driver struct {
	api *jsonapi.Client
}

var _ runtime.Driver = (*Driver)(nil)

// New returns a driver that calls the supervisor through api (the agent's API
// client). Its http.Client must not have a total timeout, as followed logs stream
// for as long as the task runs.
func New(api *jsonapi.Client) *Driver {
	return &Driver{api: api}
}

// Name returns "process".
func (d *Driver) Name() string { return runtime.DriverProcess }

// Start asks the supervisor to run spec. Relative ProcessDir and LogPath are
// made absolute here, against this process's working directory, as the agent
// runs in another one.
func (d *Driver) Start(ctx context.Context, spec runtime.TaskSpec) (runtime.Task, error) {
	var err error
	if spec.ProcessDir, err = absolute(spec.ProcessDir); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: process dir: %w", spec.ID, err)
	}
	if spec.LogPath, err = absolute(spec.LogPath); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: log path: %w", spec.ID, err)
	}
	var task runtime.Task
	if err := d.do(ctx, http.MethodPost, "/v1/processes", spec, &task); err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: %w", spec.ID, err)
	}
	return task, nil
}

func absolute(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	return filepath.Abs(path)
}

// Stop asks the supervisor to stop the task: SIGTERM, grace, SIGKILL.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	path := taskPath(id) + "?grace=" + url.QueryEscape(grace.String())
	if err := d.do(ctx, http.MethodDelete, path, nil, nil); err != nil {
		return fmt.Errorf("stop task %s: %w", id, err)
	}
	return nil
}

// Inspect returns the task, runtime.ErrNotFound when the supervisor does not
// know it.
func (d *Driver) Inspect(ctx context.Context, id string) (runtime.Task, error) {
	var task runtime.Task
	if err := d.do(ctx, http.MethodGet, taskPath(id), nil, &task); err != nil {
		return runtime.Task{}, fmt.Errorf("inspect task %s: %w", id, err)
	}
	return task, nil
}

// List returns the supervised tasks carrying all of labels.
func (d *Driver) List(ctx context.Context, labels map[string]string) ([]runtime.Task, error) {
	q := url.Values{}
	for k, v := range labels {
		q.Add("label", k+"="+v)
	}
	path := "/v1/processes"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var tasks []runtime.Task
	if err := d.do(ctx, http.MethodGet, path, nil, &tasks); err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	return tasks, nil
}

// Logs copies the task's output to w; with follow until the task exits (nil)
// or ctx ends (ctx.Err()).
func (d *Driver) Logs(ctx context.Context, id string, w io.Writer, follow bool) error {
	path := taskPath(id) + "/logs"
	if follow {
		path += "?follow=1"
	}
	resp, err := d.api.Stream(ctx, path)
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, supervisorError(err))
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("logs of task %s: %w", id, err)
	}
	return nil
}

func taskPath(id string) string {
	return "/v1/processes/" + url.PathEscape(id)
}

// do calls the supervisor; a 404 wraps runtime.ErrNotFound.
func (d *Driver) do(ctx context.Context, method, path string, in, out any) error {
	return supervisorError(d.api.Do(ctx, method, path, nil, in, out))
}

func supervisorError(err error) error {
	if jsonapi.Code(err) == http.StatusNotFound {
		return fmt.Errorf("supervisor: %w: %w", runtime.ErrNotFound, err)
	}
	return err
}
