package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/runtime"
	"github.com/greenlight-ci/greenlight/internal/runtime/docker"
)

// named is a driver that only has a name, to see which one Select chose.
type named string

func (n named) Name() string { return string(n) }
func (named) Start(context.Context, runtime.TaskSpec) (runtime.Task, error) {
	return runtime.Task{}, nil
}
func (named) Stop(context.Context, string, time.Duration) error { return nil }
func (named) Inspect(context.Context, string) (runtime.Task, error) {
	return runtime.Task{}, runtime.ErrNotFound
}
func (named) List(context.Context, map[string]string) ([]runtime.Task, error) { return nil, nil }
func (named) Logs(context.Context, string, io.Writer, bool) error             { return nil }

func factory(d runtime.Driver, err error) runtime.Factory {
	return func(context.Context) (runtime.Driver, error) { return d, err }
}

func TestSelect(t *testing.T) {
	up := factory(named("docker"), nil)
	down := factory(nil, fmt.Errorf("no engine: %w", runtime.ErrUnavailable))
	broken := factory(nil, errors.New("bad DOCKER_HOST"))
	proc := factory(named("process"), nil)

	cases := []struct {
		name          string
		docker        runtime.Factory
		want, wantErr string
	}{
		{"auto", up, "docker", ""},
		{"", up, "docker", ""},
		{"auto", down, "process", ""},
		{"auto", broken, "", "bad DOCKER_HOST"},
		{"docker", up, "docker", ""},
		{"docker", down, "", "driver docker: no engine: runtime unavailable"},
		{"process", up, "process", ""},
		{"podman", up, "", `unknown runtime driver "podman": allowed values are auto, docker, process`},
	}
	for _, c := range cases {
		d, err := runtime.Select(t.Context(), c.name, c.docker, proc)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Select(%q) = %v, %v; want error containing %q", c.name, d, err, c.wantErr)
			}
			continue
		}
		if err != nil || d.Name() != c.want {
			t.Errorf("Select(%q) = %v, %v; want %s", c.name, d, err, c.want)
		}
	}
}

// TestSelectWithNoEngine wires the real docker.Connect against an address
// where nothing listens.
func TestSelectWithNoEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "no-docker.sock"))
	dockerFactory := func(ctx context.Context) (runtime.Driver, error) {
		return docker.Connect(ctx, docker.Options{StateDir: t.TempDir()})
	}
	d, err := runtime.Select(t.Context(), runtime.DriverAuto, dockerFactory, factory(named("process"), nil))
	if err != nil || d.Name() != "process" {
		t.Errorf("auto with no engine = %v, %v; want the process driver", d, err)
	}
	_, err = runtime.Select(t.Context(), runtime.DriverDocker, dockerFactory, factory(named("process"), nil))
	if err == nil || !strings.Contains(err.Error(), "no Docker Engine answers at unix://") {
		t.Errorf("docker with no engine = %v, want an error saying no engine answers", err)
	}
	if docker.Available(t.Context()) {
		t.Error("Available() = true with DOCKER_HOST pointing nowhere")
	}
}
