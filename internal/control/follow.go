package control

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// DefaultPoll is how often followers read again.
const DefaultPoll = 100 * time.Millisecond

// DeploymentSource is what following a deployment needs of a Backend.
type DeploymentSource interface {
	GetDeployment(ctx context.Context, id string) (*Deployment, error)
	Events
}

// Follow says what following a deployment does.
type Follow struct {
	// Until ends the follow once it holds for the deployment as read (required).
	Until func(*Deployment) bool
	// OnEvent receives the events of the deployment, and of the rollback that
	// replaces it, in order from the first; nil reads no events.
	OnEvent func(event.Event)
	// OnRead receives the deployment at every read; nil: nothing.
	OnRead func(*Deployment)
	// Poll is the time between reads (default DefaultPoll).
	Poll time.Duration
}

// deploymentKinds are the events a deployment's follower shows.
var deploymentKinds = []event.Kind{event.KindDeployment, event.KindLifecycle, event.KindTraffic, event.KindAlarm, event.KindProgress}

// FollowDeployment reads deployment id every Poll until f.Until holds, handing
// what happened to f's callbacks, and returns the deployment as last read. With
// OnEvent set it reads once more after Until holds, so that the events recorded
// with that state are delivered too. It is the one way every caller follows a
// deployment (the CLI's deploy and rollback, the pipeline's deploy actions), on
// any backend.
func FollowDeployment(ctx context.Context, src DeploymentSource, id string, f Follow) (*Deployment, error) {
	poll := f.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	ids := []string{id}
	var afterSeq int64
	settled := false
	for {
		d, err := src.GetDeployment(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("follow deployment %s: %w", id, err)
		}
		if f.OnRead != nil {
			f.OnRead(d)
		}
		if d.RolledBackBy != "" && !slices.Contains(ids, d.RolledBackBy) {
			ids = append(ids, d.RolledBackBy)
		}
		if f.OnEvent != nil {
			if afterSeq, err = deliver(ctx, src, event.Query{DeploymentIDs: ids, Kinds: deploymentKinds, AfterSeq: afterSeq}, f.OnEvent); err != nil {
				return nil, fmt.Errorf("follow deployment %s: %w", id, err)
			}
		}
		if settled {
			return d, nil
		}
		settled = f.Until(d)
		if settled && f.OnEvent == nil {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Tail hands every event q selects to on, in order, and keeps reading new ones
// every poll until done reports true or ctx ends. done is asked before each read,
// so the events recorded up to the moment it turned true are delivered.
func Tail(ctx context.Context, src Events, q event.Query, poll time.Duration, on func(event.Event), done func() bool) error {
	if poll <= 0 {
		poll = DefaultPoll
	}
	for {
		finished := done()
		var err error
		if q.AfterSeq, err = deliver(ctx, src, q, on); err != nil {
			return err
		}
		if finished {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// deliver hands the events q selects to on and returns the last sequence number.
func deliver(ctx context.Context, src Events, q event.Query, on func(event.Event)) (int64, error) {
	evs, err := src.Events(ctx, q)
	if err != nil {
		return q.AfterSeq, err
	}
	for _, e := range evs {
		on(e)
		q.AfterSeq = e.Seq
	}
	return q.AfterSeq, nil
}
