// Package runtime runs the tasks of a revision: Docker Engine containers or
// supervised local processes, behind one Driver interface. It owns the contract
// of a task (every container of a task definition, their dependencies, health
// checks and essential flag, one network per task) and the logic every driver
// shares (start order, dependency conditions, task state and health); it knows
// nothing of traffic or deployments.
package runtime

import (
	"context"
	"errors"
	"io"
	"time"
)

// Driver starts and stops tasks. A task is every container of a task
// definition, run as ECS runs them (see TaskSpec.Containers).
//
// Contract, for every implementation:
//   - Start returns once every container of the task has started, in dependency
//     order (each after the containers it depends on met their condition, within
//     that container's StartTimeout), and the task's Address is known; it does
//     not wait for the application to be healthy (the router's health checks,
//     and the containers' own, decide). A container that cannot start, or a
//     dependency that can never be met, fails Start and stops what started.
//   - The containers of a task share one network: Docker joins every container
//     to the first one's network namespace (it publishes every container's ports
//     on loopback); the process driver gives each task its own loopback address
//     (127.x.y.z, in HOST) on which every container listens on its own ports (the
//     first in PORT). A sidecar reaches the application at localhost (Docker) or
//     $HOST (process) on the application's container port.
//   - Task IDs are chosen by the caller and are unique per state directory. Start
//     with the ID of a task that already runs returns that task (so a controller that
//     crashed and re-runs a step does not start a second copy).
//   - A task runs while its essential containers run: when one exits, the driver
//     stops the others and the task is exited with that container's exit code and
//     a reason naming it. A non-essential container may exit; the task runs on.
//   - Task.Health is the containers' health checks, combined as ECS does:
//     UNHEALTHY when an essential container is, HEALTHY when every essential
//     container with a health check is, UNKNOWN otherwise (none has one, or a
//     check has not decided yet).
//   - Stop is idempotent: stopping a task that is gone or never existed returns nil.
//     It stops the containers in reverse start order, each with SIGTERM, then
//     SIGKILL after its StopTimeout (grace when it has none).
//   - List returns every task this driver runs for the given labels (all when
//     labels is empty), including ones that exited and were not removed yet.
//   - Logs of a task with several containers prefix each line with the
//     container's name ("sidecar | ...").
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

// TaskSpec is one task of a revision: every container of its task definition
// in Containers, or, when Containers is empty, the one container the
// single-container fields describe (the form older callers and state files use).
type TaskSpec struct {
	ID     string            // unique, e.g. "orders-service-production-d-7f3a2c-0"
	Labels map[string]string // service, deployment, revision: for List and cleanup

	// Containers of the task, in task definition order.
	Containers []ContainerSpec
	// TargetContainer is the container whose ContainerPort the task's Address
	// reaches (LoadBalancerInfo's container); default the first with a port.
	TargetContainer string
	// ContainerPort is the port the target container listens on.
	ContainerPort int

	// One container, when Containers is empty (see ContainerSpec).
	Image      string
	EntryPoint []string
	Command    []string
	Env        []string
	User       string
	WorkingDir string
	// StopTimeout of the single container.
	StopTimeout time.Duration
	// ProcessCommand of the single container (process driver).
	ProcessCommand []string

	// Process driver: where commands run (relative ProcessCommand paths resolve
	// here) and where output goes: LogPath for a single container, else
	// LogPath's name with ".<container>" before its extension per container
	// (default <state>/tasks/<task>[.<container>].log).
	ProcessDir string
	LogPath    string
}

// ContainerSpec is one container of a task definition.
type ContainerSpec struct {
	Name       string
	Image      string   // docker: image reference, must exist locally
	EntryPoint []string // docker: overrides the image's ENTRYPOINT when set
	Command    []string // docker: overrides the image's CMD when set
	Env        []string // KEY=VALUE, in order
	// Secrets are KEY=VALUE pairs from the local secret sources, added to the
	// environment after Env; drivers never log them.
	Secrets    []string
	Ports      []int // container ports it listens on (portMappings)
	User       string
	WorkingDir string
	// Essential: when it exits, the task stops (ECS's default is true).
	Essential   bool
	DependsOn   []Dependency
	HealthCheck *HealthCheck
	// StartTimeout bounds how long containers that depend on this one wait for
	// its condition (0: DefaultStartTimeout).
	StartTimeout time.Duration
	// StopTimeout is the grace between SIGTERM and SIGKILL (0: Stop's grace).
	StopTimeout time.Duration
	// ProcessCommand is the argv the process driver runs (default EntryPoint
	// followed by Command). The driver sets HOST to the task's loopback address
	// and PORT to the container's first port.
	ProcessCommand []string
}

// DefaultStartTimeout is how long a container waits for a dependency's
// condition when the dependency sets no StartTimeout (the ECS agent's default).
const DefaultStartTimeout = 3 * time.Minute

// Dependency is a container's dependsOn entry: Container must reach Condition
// before this one starts.
type Dependency struct {
	Container string
	Condition Condition
}

// Condition is a dependsOn condition, with ECS's names.
type Condition string

// dependsOn conditions.
const (
	ConditionStart    Condition = "START"    // the dependency has started
	ConditionComplete Condition = "COMPLETE" // it has exited, whatever its status
	ConditionSuccess  Condition = "SUCCESS"  // it has exited with status 0
	ConditionHealthy  Condition = "HEALTHY"  // its health check passed
)

// HealthCheck is a container's own health check, as ECS and Docker take it.
type HealthCheck struct {
	// Command is ["CMD", program, args...] or ["CMD-SHELL", "shell command"].
	Command     []string
	Interval    time.Duration // default 30s
	Timeout     time.Duration // default 5s
	Retries     int           // consecutive failures that make it UNHEALTHY; default 3
	StartPeriod time.Duration // failures in it do not count; default 0
}

// Health is a container's or a task's health, with ECS's names.
type Health string

// Health statuses.
const (
	HealthUnknown   Health = "UNKNOWN"
	HealthHealthy   Health = "HEALTHY"
	HealthUnhealthy Health = "UNHEALTHY"
)

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
	Error    string            `json:"error,omitempty"` // why it exited, when known (OOM, signal, an essential container)
	Labels   map[string]string `json:"labels,omitempty"`
	Started  time.Time         `json:"started"`
	Health   Health            `json:"health,omitempty"`
	// Containers are the states of the task's containers, in start order.
	Containers []ContainerState `json:"containers,omitempty"`
}

// ContainerState is where one container of a task stands.
type ContainerState struct {
	Name     string    `json:"name"`
	State    TaskState `json:"state"` // "" until it starts
	ExitCode int       `json:"exit_code,omitempty"`
	Error    string    `json:"error,omitempty"`
	Health   Health    `json:"health,omitempty"` // UNKNOWN without a health check
}

// Label keys the drivers attach to every task.
const (
	LabelStateDir   = "greenlight.state-dir"
	LabelService    = "greenlight.service"
	LabelDeployment = "greenlight.deployment"
	LabelRevision   = "greenlight.revision"
)
