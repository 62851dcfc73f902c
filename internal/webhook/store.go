package webhook

import (
	"context"
	"encoding/hex"
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
	// OutcomePayload marks the record of a push's or pull request's signed
	// payload (id "payload-<MAC>", detail the delivery that brought it), kept
	// so that the payload starts nothing under another delivery id.
	OutcomePayload Outcome = "payload"
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
	// RecentDeliveries returns the newest deliveries first, without the
	// records of payloads (OutcomePayload).
	RecentDeliveries(ctx context.Context, limit int) ([]Record, error)
}

func (r *Receiver) claim(ctx context.Context, d *Delivery) error {
	if d.Trigger != nil {
		if err := r.claimPayload(ctx, d); err != nil {
			return err
		}
	}
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

// claimPayload remembers the signed payload of a push or a pull request by its
// MAC. X-GitHub-Delivery is not signed: whoever saw a delivery (a proxy's log,
// GitHub's list of recent deliveries, plain HTTP on the way) could send it
// again under a new id, and start its commit, an old one, once more. GitHub
// sends each event once, with its own id; its redeliveries keep the id. So a
// payload already received under another id is a replay, refused. The record
// is never taken over nor released: the payload stays known.
func (r *Receiver) claimPayload(ctx context.Context, d *Delivery) error {
	rec := Record{ID: "payload-" + hex.EncodeToString(d.mac[:min(len(d.mac), 20)]), Event: d.Event, Received: d.Received,
		Outcome: OutcomePayload, Detail: d.ID}
	prev, err := r.Store.ClaimDelivery(ctx, rec, time.Time{})
	if err != nil {
		return fmt.Errorf("remember the payload of delivery %s: %w", d.ID, err)
	}
	if prev != nil && prev.Detail != d.ID {
		return refuse(CodeReplay, "this payload was already received as delivery %s at %s: a payload replayed under a new delivery id starts nothing",
			prev.Detail, prev.Received.UTC().Format(time.RFC3339))
	}
	return nil
}
