// Package event defines what greenlight tells the world while it works: one Event
// type for pipeline executions, stages, actions, approvals, deployments and alarms.
// The engine and the deploy controller emit events; the store persists them, the CLI
// prints them (`--json`: one per line), and followers read them through the
// control surface (control.Backend.Events).
package event

import (
	"sync"
	"time"
)

// Kind is what an event is about.
type Kind string

// Kinds of events.
const (
	KindExecution  Kind = "execution"
	KindStage      Kind = "stage"
	KindAction     Kind = "action"
	KindApproval   Kind = "approval"
	KindDeployment Kind = "deployment"
	KindLifecycle  Kind = "lifecycle" // one lifecycle event of a deployment
	KindTraffic    Kind = "traffic"   // production or test traffic moved
	KindAlarm      Kind = "alarm"
	KindLog        Kind = "log" // a line of output from a build or hook
	KindProgress   Kind = "progress"
	KindTask       Kind = "task" // the service scheduler replaced (or could not replace) a production task
)

// Event is one thing that happened. Fields that do not apply are empty.
type Event struct {
	Seq          int64          `json:"seq,omitempty"` // assigned by the store
	Time         time.Time      `json:"time"`
	Kind         Kind           `json:"kind"`
	Status       string         `json:"status,omitempty"` // e.g. InProgress, Succeeded, Failed, ALARM
	Pipeline     string         `json:"pipeline,omitempty"`
	ExecutionID  string         `json:"execution_id,omitempty"`
	Stage        string         `json:"stage,omitempty"`
	Action       string         `json:"action,omitempty"`
	DeploymentID string         `json:"deployment_id,omitempty"`
	Group        string         `json:"deployment_group,omitempty"` // application/group
	Name         string         `json:"name,omitempty"`             // lifecycle event, alarm or log stream name
	Message      string         `json:"message,omitempty"`
	Data         map[string]any `json:"data,omitempty"`
}

// Query selects stored events; zero fields match everything.
type Query struct {
	ExecutionID   string
	DeploymentIDs []string // events of any of these deployments
	Kinds         []Kind
	AfterSeq      int64 // only events stored after this sequence number
	Limit         int   // 0: no limit
}

// NotificationID returns the CodeStar notification event type id for events that
// have one (codepipeline-pipeline-pipeline-execution-started,
// codedeploy-application-deployment-failed, ...), or "".
func (e Event) NotificationID() string {
	if e.Kind == KindDeployment {
		if state, ok := deploymentStates[e.Status]; ok {
			return "codedeploy-application-deployment-" + state
		}
		return ""
	}
	var what string
	switch e.Kind {
	case KindExecution:
		what = "pipeline-execution"
	case KindStage:
		what = "stage-execution"
	case KindAction:
		what = "action-execution"
	case KindApproval:
		what = "manual-approval"
	default:
		return ""
	}
	state, ok := notificationStates[e.Status]
	if !ok {
		return ""
	}
	return knownID("codepipeline-pipeline-" + what + "-" + state)
}

var notificationStates = map[string]string{
	"InProgress": "started",
	"Started":    "started",
	"Succeeded":  "succeeded",
	"Failed":     "failed",
	"Canceled":   "canceled",
	"Stopped":    "canceled",
	"Superseded": "superseded",
	"Resumed":    "resumed",
	"Needed":     "needed",
	"Approved":   "succeeded",
	"Rejected":   "failed",
}

// deploymentStates maps deployment statuses to CodeDeploy's notification states
// (a stopped deployment notifies as failed, as CodeDeploy's does).
var deploymentStates = map[string]string{
	"InProgress": "started",
	"Succeeded":  "succeeded",
	"Failed":     "failed",
	"Stopped":    "failed",
}

// Sink receives events. Emit must not block for long and must be safe for
// concurrent use.
type Sink interface {
	Emit(Event)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(Event)

// Emit calls f.
func (f SinkFunc) Emit(e Event) { f(e) }

// Discard drops every event.
var Discard Sink = SinkFunc(func(Event) {})

// Fanout sends each event to every sink, in order.
type Fanout []Sink

// Emit sends e to every sink.
func (f Fanout) Emit(e Event) {
	for _, s := range f {
		s.Emit(e)
	}
}

// Recorder keeps every event; for tests and for summaries.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

// Emit records e.
func (r *Recorder) Emit(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// Events returns a copy of what was recorded so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}
