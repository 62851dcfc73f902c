package webhook

import (
	"context"
	"fmt"
	"time"
)

// Outcome is what came of a delivery.
type Outcome string

// Outcomes of a delivery.
const (
	OutcomeClaimed Outcome = "claimed" // being acted upon (or the server stopped while it was)
	OutcomeStarted Outcome = "started" // an execution started
	OutcomeIgnored Outcome = "ignored" // accepted; nothing to start (no matching pipeline or filter, unknown event)
	OutcomePing    Outcome = "ping"
	OutcomeFailed  Outcome = "failed" // acting on it failed after it was finished (recorded, not retried)
)

// Record is a remembered delivery.
type Record struct {
	ID       string    `json:"id"`
	Event    string    `json:"event"`
	Received time.Time `json:"received"`
	Outcome  Outcome   `json:"outcome"`
	Detail   string    `json:"detail,omitempty"`
	Finished time.Time `json:"finished,omitzero"`
}

// Store remembers delivery ids. Implementations are safe for concurrent use and
// make ClaimDelivery atomic: of two concurrent claims of one id, one wins.
type Store interface {
	// ClaimDelivery records rec (Outcome claimed) unless its id is known; a known
	// id is returned as prev, except an unfinished claim received before
	// staleBefore, which rec takes over.
	ClaimDelivery(ctx context.Context, rec Record, staleBefore time.Time) (prev *Record, err error)
	// FinishDelivery records the outcome of a claimed delivery.
	FinishDelivery(ctx context.Context, id string, outcome Outcome, detail string, at time.Time) error
	// ReleaseDelivery forgets an unfinished claim.
	ReleaseDelivery(ctx context.Context, id string) error
	// RecentDeliveries returns the newest deliveries first.
	RecentDeliveries(ctx context.Context, limit int) ([]Record, error)
}

func (r *Receiver) claim(ctx context.Context, d *Delivery) error {
	timeout := r.ClaimTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	rec := Record{ID: d.ID, Event: d.Event, Received: d.Received, Outcome: OutcomeClaimed, Detail: d.Summary()}
	prev, err := r.Store.ClaimDelivery(ctx, rec, d.Received.Add(-timeout))
	if err != nil {
		return fmt.Errorf("remember delivery %s: %w", d.ID, err)
	}
	if prev != nil {
		return refuse(CodeRedelivery, "delivery %s was already received at %s (%s): a redelivery starts nothing twice",
			d.ID, prev.Received.UTC().Format(time.RFC3339), prev.Outcome)
	}
	return nil
}

// Finish records what came of a delivery Receive returned.
func (r *Receiver) Finish(ctx context.Context, d *Delivery, outcome Outcome, detail string) error {
	if err := r.Store.FinishDelivery(ctx, d.ID, outcome, detail, r.now()); err != nil {
		return fmt.Errorf("record delivery %s: %w", d.ID, err)
	}
	return nil
}

// Release forgets a delivery whose processing failed, so that GitHub's
// redelivery of it is acted upon.
func (r *Receiver) Release(ctx context.Context, d *Delivery) error {
	if err := r.Store.ReleaseDelivery(ctx, d.ID); err != nil {
		return fmt.Errorf("release delivery %s: %w", d.ID, err)
	}
	return nil
}
