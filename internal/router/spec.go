package router

import (
	"encoding/json"
	"fmt"
	"time"
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
	// (listener_spec.go); zero: plain HTTP.
	Listeners   ListenerSpecs `json:"listeners,omitzero"`
	HealthCheck HealthCheck   `json:"health_check"`
	// DeregistrationDelay bounds how long a removed target keeps its in-flight
	// requests and long-lived connections (SSE, WebSocket, other streams) before the
	// router cuts them.
	DeregistrationDelay Duration `json:"deregistration_delay"`
	// TargetGroups has one or two groups; their names are stable for the life of the
	// service (CodeDeploy's two target groups, which swap roles every deployment).
	TargetGroups []TargetGroupSpec `json:"target_groups"`
	// ProductionWeights maps target group name to a weight 0..100; the weights sum
	// to 100. A group absent from the map gets weight 0.
	ProductionWeights map[string]int `json:"production_weights"`
	// TestTargetGroup is the group the test listener forwards to ("" = none: 503).
	TestTargetGroup string `json:"test_target_group,omitempty"`
}

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
	Path               string   `json:"path"`
	Interval           Duration `json:"interval"`
	Timeout            Duration `json:"timeout"`
	HealthyThreshold   int      `json:"healthy_threshold"`
	UnhealthyThreshold int      `json:"unhealthy_threshold"`
	Matcher            string   `json:"matcher"` // "200", "200,204", "200-299"
}

// TargetState is the health of a registered target, as an ALB reports it.
type TargetState string

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

// Duration marshals as a Go duration string.
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}
