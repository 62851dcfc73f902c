package router

import (
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// The spec and status types are the routing contract (internal/routing), shared
// with the agent and the deploy controller; these names keep the router's code
// reading as it did.
type (
	ServiceSpec       = routing.ServiceSpec
	TargetGroupSpec   = routing.TargetGroupSpec
	TargetSpec        = routing.TargetSpec
	HealthCheck       = routing.HealthCheck
	TargetState       = routing.TargetState
	ServiceStatus     = routing.ServiceStatus
	TargetGroupStatus = routing.TargetGroupStatus
	TargetStatus      = routing.TargetStatus
	Duration          = jsontime.Duration
)

// Target states (see routing.TargetState).
const (
	TargetInitial   = routing.TargetInitial
	TargetHealthy   = routing.TargetHealthy
	TargetUnhealthy = routing.TargetUnhealthy
	TargetDraining  = routing.TargetDraining
)
