// Package routing is the contract between the data plane and whoever drives it:
// the desired routing of a service (ServiceSpec) and what the router reports about it
// (ServiceStatus). The router applies specs, the agent persists and serves them over
// its admin API, and the deploy controller writes them; none of them needs another's
// code for it.
package routing

import (
	"errors"

	"github.com/greenlight-ci/greenlight/internal/jsontime"
)

// ServiceSpec is the desired routing of one service, as the deploy controller wants
// it. The router applies a spec as one atomic change: a request sees either the old
// spec or the new one, never a mix. Specs are what the agent persists.
type ServiceSpec struct {
	Name string `json:"name"`
	// ProductionListener and TestListener are "host:port" addresses (loopback unless
	// the operator says otherwise). TestListener is optional.
	ProductionListener string `json:"production_listener"`
	TestListener       string `json:"test_listener,omitempty"`
	// Listeners are the listeners' protocols, certificates and limits
	// (listener.go); zero: plain HTTP.
	Listeners   ListenerSpecs `json:"listeners,omitzero"`
	HealthCheck HealthCheck   `json:"health_check"`
	// DeregistrationDelay bounds how long a removed target keeps its in-flight
	// requests and long-lived connections (SSE, WebSocket, other streams) before the
	// router cuts them.
	DeregistrationDelay jsontime.Duration `json:"deregistration_delay"`
	// TargetGroups has one or two groups; their names are stable for the life of the
	// service (CodeDeploy's two target groups, which swap roles every deployment).
	TargetGroups []TargetGroupSpec `json:"target_groups"`
	// ProductionWeights maps target group name to a weight 0..100; the weights sum
	// to 100. A group absent from the map gets weight 0.
	ProductionWeights map[string]int `json:"production_weights"`
	// TestTargetGroup is the group the test listener forwards to ("" = none: 503).
	TestTargetGroup string `json:"test_target_group,omitempty"`
}

// TargetGroupSpec is one target group of a service and its registered targets.
type TargetGroupSpec struct {
	Name    string       `json:"name"`
	Targets []TargetSpec `json:"targets,omitempty"`
	// LoadBalancing is the algorithm within the group, as ALB names them:
	// "round_robin" (default when empty) or "least_outstanding_requests".
	LoadBalancing string `json:"load_balancing,omitempty"`
}

// TargetSpec is one task of a revision, reachable at Address ("127.0.0.1:49152").
// A target is identified by ID; re-registering an ID with the same address keeps its
// health state.
type TargetSpec struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Revision string `json:"revision,omitempty"`
}

// HealthCheck follows an ALB target group health check.
type HealthCheck struct {
	Path               string            `json:"path"`
	Interval           jsontime.Duration `json:"interval"`
	Timeout            jsontime.Duration `json:"timeout"`
	HealthyThreshold   int               `json:"healthy_threshold"`
	UnhealthyThreshold int               `json:"unhealthy_threshold"`
	Matcher            string            `json:"matcher"` // "200", "200,204", "200-299"
}

// TargetState is the health of a registered target, as an ALB reports it.
type TargetState string

// Target states.
const (
	TargetInitial   TargetState = "initial"   // registered, not yet passed HealthyThreshold checks
	TargetHealthy   TargetState = "healthy"   // gets traffic
	TargetUnhealthy TargetState = "unhealthy" // failed UnhealthyThreshold checks in a row
	TargetDraining  TargetState = "draining"  // deregistered; finishing in-flight work
)

// ServiceStatus is what the router knows about a service now.
type ServiceStatus struct {
	Spec    ServiceSpec `json:"spec"`
	Version uint64      `json:"version"` // increments on every applied spec
	// ProductionAddress and TestAddress are the addresses the listeners are bound
	// to: the spec's, with the port filled in when the spec asked for port 0.
	ProductionAddress string              `json:"production_address,omitempty"`
	TestAddress       string              `json:"test_address,omitempty"`
	TargetGroups      []TargetGroupStatus `json:"target_groups"`
}

// TargetGroupStatus is the targets of one group as the router sees them now.
type TargetGroupStatus struct {
	Name    string         `json:"name"`
	Targets []TargetStatus `json:"targets"`
}

// TargetStatus describes one target, including targets removed from the spec that
// are still draining.
type TargetStatus struct {
	TargetSpec
	State     TargetState `json:"state"`
	Reason    string      `json:"reason,omitempty"` // last health check failure, e.g. "status 500", "connection refused"
	InFlight  int         `json:"in_flight"`        // requests and connections being served
	LongLived int         `json:"long_lived"`       // of which upgraded or streaming connections
}

// Errors of applying a spec, whoever applies it (the router, the agent's API, its
// client), for errors.Is.
var (
	// ErrInvalidSpec: the spec cannot be applied as written (400 on the agent's
	// API); the error says why.
	ErrInvalidSpec = errors.New("invalid service spec")
	// ErrStale: the spec was written against a version that is no longer the
	// service's (409): read the routing again and redo the change.
	ErrStale = errors.New("service routing changed since it was read")
	// ErrNotPersisted: the change could not be recorded, so it was undone (500).
	ErrNotPersisted = errors.New("routing change not persisted")
)
