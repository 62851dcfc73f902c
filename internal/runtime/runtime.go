// Package runtime runs the tasks of a revision: a Docker Engine container or a
// supervised local process, behind one Driver interface. It owns turning a task
// definition's container into something running on a loopback port; it knows
// nothing of traffic, health or deployments.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Driver starts and stops tasks.
//
// Contract, for every implementation:
//   - Start returns once the task is running and its Address is known; it does not
//     wait for the application to be healthy (the router's health checks decide).
//   - Task IDs are chosen by the caller and are unique per state directory. Start
//     with the ID of a task that already runs returns that task (so a controller that
//     crashed and re-runs a step does not start a second copy).
//   - Stop is idempotent: stopping a task that is gone or never existed returns nil.
//     It sends SIGTERM, waits up to grace, then kills.
//   - List returns every task this driver runs for the given labels (all when
//     labels is empty), including ones that exited and were not removed yet.
//   - All methods are safe for concurrent use.
type Driver interface {
	Name() string
	Start(ctx context.Context, spec TaskSpec) (Task, error)
	Stop(ctx context.Context, id string, grace time.Duration) error
	Inspect(ctx context.Context, id string) (Task, error) // ErrNotFound when unknown
	List(ctx context.Context, labels map[string]string) ([]Task, error)
	// Logs copies the task's output (stdout and stderr interleaved) to w; with
	// follow it keeps copying until ctx ends or the task exits.
	Logs(ctx context.Context, id string, w io.Writer, follow bool) error
}

// ErrNotFound is returned for a task ID the driver does not know.
var ErrNotFound = errors.New("task not found")

// TaskSpec is one task of a revision: the load-balanced container of a task
// definition, plus how to run it as a process.
type TaskSpec struct {
	ID     string            // unique, e.g. "orders-service-production-d-7f3a2c-0"
	Labels map[string]string // service, deployment, revision: for List and cleanup

	// Container, from the task definition.
	Image         string   // docker: image reference, must exist locally
	EntryPoint    []string // docker: overrides the image's ENTRYPOINT when set
	Command       []string // docker: overrides the image's CMD when set
	Env           []string // KEY=VALUE, in order
	ContainerPort int      // the port the application listens on inside the container
	User          string
	WorkingDir    string
	StopTimeout   time.Duration

	// Process driver: the command to run (argv), its working directory and where its
	// output goes. The driver sets PORT (and keeps Env) so that the process listens
	// on a free loopback port instead of ContainerPort.
	ProcessCommand []string
	ProcessDir     string
	LogPath        string
}

// TaskState is whether a task is running.
type TaskState string

// Task states.
const (
	TaskRunning TaskState = "running"
	TaskExited  TaskState = "exited"
)

// Task is a started task.
type Task struct {
	ID       string            `json:"id"`
	Address  string            `json:"address"` // loopback host:port that reaches ContainerPort
	State    TaskState         `json:"state"`
	ExitCode int               `json:"exit_code,omitempty"`
	Error    string            `json:"error,omitempty"` // why it exited, when known (OOM, signal)
	Labels   map[string]string `json:"labels,omitempty"`
	Started  time.Time         `json:"started"`
}

// Label keys the drivers attach to every task.
const (
	LabelStateDir   = "greenlight.state-dir"
	LabelService    = "greenlight.service"
	LabelDeployment = "greenlight.deployment"
	LabelRevision   = "greenlight.revision"
)
