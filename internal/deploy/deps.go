package deploy

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
	"github.com/greenlight-ci/greenlight/internal/routing"
	"github.com/greenlight-ci/greenlight/internal/runtime"
)

// Router is the data plane as the controller drives it (the agent client).
type Router interface {
	// Service returns the service's routing, or nil when the router does not know it.
	Service(ctx context.Context, name string) (*routing.ServiceStatus, error)
	// Apply replaces the service's routing in one atomic change. With ifVersion
	// > 0 only if the service is still at that version: an error wrapping
	// routing.ErrStale when it changed since. An invalid spec wraps
	// routing.ErrInvalidSpec, a change the router could not record
	// routing.ErrNotPersisted.
	Apply(ctx context.Context, spec routing.ServiceSpec, ifVersion uint64) (*routing.ServiceStatus, error)
	// Series returns the service's metrics slots after sinceMs (alarm evaluation).
	Series(ctx context.Context, service string, sinceMs int64) ([]metrics.Series, error)
}

// Drivers gives the runtime driver a deployment recorded (docker or process).
type Drivers interface {
	Driver(ctx context.Context, name string) (runtime.Driver, error)
}

// Store persists deployments, shared by every process of a state directory
// (internal/store implements it on SQLite). Implementations make each call one
// transaction and are safe for concurrent use; a missing deployment is an error
// wrapping ErrNotFound.
type Store interface {
	// CreateDeployment records a new deployment. It fails with ErrServiceBusy when
	// another deployment of the same service is active and not Baking.
	CreateDeployment(ctx context.Context, d *Deployment) error
	SaveDeployment(ctx context.Context, d *Deployment) error
	// CreateRollback saves the deployment being rolled back and creates its rollback
	// deployment in one transaction.
	CreateRollback(ctx context.Context, rolledBack, rollback *Deployment) error
	Deployment(ctx context.Context, id string) (*Deployment, error)
	// ActiveDeployments returns deployments that are not Done, oldest first.
	ActiveDeployments(ctx context.Context) ([]*Deployment, error)
	// LatestDeployments returns the newest deployments first (all services when
	// service is "").
	LatestDeployments(ctx context.Context, service string, limit int) ([]*Deployment, error)
	// Services returns the names of the services that have deployments.
	Services(ctx context.Context) ([]string, error)
	// LastReleased returns the newest deployment of the service that reached
	// production (Baking or Succeeded), or nil.
	LastReleased(ctx context.Context, service string) (*Deployment, error)
	// AddCommand queues a command for a deployment (from any process).
	AddCommand(ctx context.Context, deploymentID string, c Command) error
	// TakeCommands returns and deletes the queued commands of a deployment.
	TakeCommands(ctx context.Context, deploymentID string) ([]Command, error)
}

// Errors of a Store.
var (
	// ErrServiceBusy means the service already has an active deployment.
	ErrServiceBusy = errors.New("an active deployment exists")
	// ErrNotFound means no deployment has the id asked for.
	ErrNotFound = errors.New("deployment not found")
)

// Command is a request from outside the controller.
type Command struct {
	Name   CommandName `json:"name"`
	Reason string      `json:"reason,omitempty"`
	Who    string      `json:"who,omitempty"`
	Time   time.Time   `json:"time"`
}

// CommandName is what a Command asks for.
type CommandName string

// Commands a deployment takes.
const (
	CommandContinue     CommandName = "continue"      // STOP_DEPLOYMENT: reroute traffic now
	CommandStop         CommandName = "stop"          // stop; roll back when DEPLOYMENT_STOP_ON_REQUEST is set
	CommandRollback     CommandName = "rollback"      // roll back now, whatever the configuration
	CommandFinishBaking CommandName = "finish-baking" // end the termination wait now (a newer deployment waits)
)

// HookRunner runs a lifecycle hook.
type HookRunner interface {
	Run(ctx context.Context, call HookCall) error
}

// HookCall is one hook execution.
type HookCall struct {
	Event       StepName // lifecycle event
	ExecutionID string   // LifecycleEventHookExecutionId
	Hook        *manifest.Hook
	Deployment  *Deployment
	Env         []string // GREENLIGHT_* context
	Dir         string   // the revision's artifact directory
	Log         io.Writer
}

// AlarmWatcher evaluates a deployment's alarms until its context ends.
type AlarmWatcher interface {
	Run(ctx context.Context) error
	// States returns the latest evaluation of every alarm; safe to call from any
	// goroutine while Run runs.
	States() []alarm.Evaluation
}

// WatcherFactory starts watching alarms on one target group from a time on.
type WatcherFactory func(service, targetGroup string, alarms []*manifest.Alarm, from time.Time, onChange func(alarm.Transition)) AlarmWatcher
