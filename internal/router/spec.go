package router

import (
	"github.com/greenlight-ci/greenlight/internal/jsontime"
	"github.com/greenlight-ci/greenlight/internal/routing"
)

// The spec and status types are the routing contract (internal/routing), shared
// with the agent and the deploy controller; these names keep the router's code
// reading as it did.
type (
	// ServiceSpec is routing.ServiceSpec.
	ServiceSpec = routing.ServiceSpec
	// TargetGroupSpec is routing.TargetGroupSpec.
	TargetGroupSpec = routing.TargetGroupSpec
	// TargetSpec is routing.TargetSpec.
	TargetSpec = routing.TargetSpec
	// HealthCheck is routing.HealthCheck.
	HealthCheck = routing.HealthCheck
	// TargetState is routing.TargetState.
	TargetState = routing.TargetState
	// ServiceStatus is routing.ServiceStatus.
	ServiceStatus = routing.ServiceStatus
	// TargetGroupStatus is routing.TargetGroupStatus.
	TargetGroupStatus = routing.TargetGroupStatus
	// TargetStatus is routing.TargetStatus.
	TargetStatus = routing.TargetStatus
	// Duration is jsontime.Duration.
	Duration = jsontime.Duration
	// ListenerSpecs is routing.ListenerSpecs.
	ListenerSpecs = routing.ListenerSpecs
	// ListenerSpec is routing.ListenerSpec.
	ListenerSpec = routing.ListenerSpec
	// CertificateSpec is routing.CertificateSpec.
	CertificateSpec = routing.CertificateSpec
	// ACMESpec is routing.ACMESpec.
	ACMESpec = routing.ACMESpec
	// HSTSSpec is routing.HSTSSpec.
	HSTSSpec = routing.HSTSSpec
)

// Listener protocols (see routing).
const (
	ProtocolHTTP  = routing.ProtocolHTTP
	ProtocolHTTPS = routing.ProtocolHTTPS
)

// Target states (see routing.TargetState).
const (
	TargetInitial   = routing.TargetInitial
	TargetHealthy   = routing.TargetHealthy
	TargetUnhealthy = routing.TargetUnhealthy
	TargetDraining  = routing.TargetDraining
)
