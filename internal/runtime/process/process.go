// Package process is the runtime driver that runs tasks as local processes
// supervised by the agent: it owns the client side of the supervisor's HTTP API
// (/v1/processes), so that tasks outlive the CLI that started them.
package process

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Driver implements runtime.Driver against the agent's supervisor.
type Driver struct {
	client  *http.Client
	baseURL string
	token   string
}

var _ runtime.Driver = (*Driver)(nil)

// New returns a driver that calls the supervisor at baseURL (such as
// "http://agent" for a client that dials the agent's unix socket) with
// Authorization: Bearer token. The client must not have a total timeout, as
// followed logs stream for as long as the task runs.
func New(client *http.Client, baseURL, token string) *Driver {
	return &Driver{client: client, baseURL: strings.TrimSuffix(baseURL, "/"), token: token}
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
	body, err := json.Marshal(spec)
	if err != nil {
		return runtime.Task{}, fmt.Errorf("start task %s: encode spec: %w", spec.ID, err)
	}
	var task runtime.Task
	if err := d.do(ctx, http.MethodPost, "/v1/processes", bytes.NewReader(body), &task); err != nil {
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
	resp, err := d.send(ctx, http.MethodGet, path, nil)
	if err != nil {
		return fmt.Errorf("logs of task %s: %w", id, err)
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

// do sends a request and decodes a JSON answer into out (when not nil).
func (d *Driver) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	resp, err := d.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s answer: %w", method, path, err)
	}
	return nil
}

// send sends a request and returns the response when its status is 2xx; else
// it returns the supervisor's error, wrapping runtime.ErrNotFound for a 404.
func (d *Driver) send(ctx context.Context, method, path string, body io.Reader) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call supervisor: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, responseError(resp)
}

func responseError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("supervisor: %s: %w", msg, runtime.ErrNotFound)
	}
	return fmt.Errorf("supervisor answered %s: %s", resp.Status, msg)
}
