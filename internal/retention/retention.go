// Package retention owns what greenlight keeps in its state directory and for
// how long: Collect (`greenlight gc`) removes the artifacts, logs, build
// folders, build caches and events a manifest.Retention no longer keeps, and
// never what an execution in progress or an active deployment still needs: the
// revision a deployment installs, the one production runs from and the
// original kept warm during a termination wait.
package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Kind is what a removed item was.
type Kind string

// Kinds of what gc removes.
const (
	KindArtifacts Kind = "artifacts" // artifacts/<execution>/ (or part of it)
	KindLogs      Kind = "logs"      // logs/<execution>/, logs/deployments/<id>.log
	KindBuild     Kind = "build"     // builds/<project>-<id> with its -artifacts and -secondary folders
	KindCache     Kind = "cache"     // cache/<project>/<entry>/
	KindEvents    Kind = "events"    // rows of the event log
)

// Item is one thing Collect removed (or, in a dry run, would remove).
type Item struct {
	Kind   Kind   `json:"kind"`
	Path   string `json:"path,omitempty"`  // relative to the state directory
	Bytes  int64  `json:"bytes,omitempty"` // size on disk before removal
	Count  int64  `json:"count,omitempty"` // events
	Reason string `json:"reason"`
}

// Execution is what collection needs to know of a pipeline execution.
type Execution struct {
	ID    string
	Final bool      // Succeeded, Failed, Stopped or Superseded
	Ended time.Time // zero while it runs
}

// Deployment is what collection needs to know of a deployment.
type Deployment struct {
	ID          string
	Service     string
	Done        bool // Succeeded, Failed or Stopped
	Released    bool // production served its revision (Baking or Succeeded)
	ArtifactDir string
	Created     time.Time
	Completed   time.Time
}

// State is the part of the store collection reads and prunes.
type State interface {
	// Executions returns every execution, newest first.
	Executions(ctx context.Context) ([]Execution, error)
	// Deployments returns every deployment, newest first.
	Deployments(ctx context.Context) ([]Deployment, error)
	// DeleteEvents deletes (dryRun: counts) events older than before, except
	// those of the executions and deployments named in keep.
	DeleteEvents(ctx context.Context, before time.Time, keepExecutions, keepDeployments []string, dryRun bool) (int64, error)
}

// Collector removes what the policy no longer keeps from one state directory.
type Collector struct {
	StateDir string
	Policy   manifest.Retention
	State    State
	DryRun   bool             // report what would go, remove nothing
	Now      func() time.Time // default time.Now
}

// Collect runs every pass and returns what it removed. A pass that fails does
// not stop the others; the error joins their failures.
func (c *Collector) Collect(ctx context.Context) ([]Item, error) {
	execs, err := c.State.Executions(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	deps, err := c.State.Deployments(ctx)
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	p := newPlan(c, execs, deps)
	var items []Item
	var errs []error
	for _, pass := range []func(*plan) ([]Item, error){(*plan).artifacts, (*plan).executionLogs, (*plan).deploymentLogs, (*plan).builds, (*plan).caches} {
		got, err := pass(p)
		items = append(items, got...)
		errs = append(errs, err)
	}
	got, err := p.events(ctx)
	items = append(items, got...)
	return items, joinErrors("gc", append(errs, err))
}

func (c *Collector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}
