package notify

import (
	"context"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Status is where a delivery stands.
type Status string

// Delivery statuses.
const (
	StatusPending   Status = "pending"   // waiting for its next attempt
	StatusSucceeded Status = "succeeded" // the endpoint accepted it
	StatusFailed    Status = "failed"    // given up: out of attempts, refused for good, or not deliverable here
)

// Delivery is one notification to one target, queued durably.
type Delivery struct {
	Seq         int64                       `json:"seq"` // assigned by the store
	EventSeq    int64                       `json:"event_seq,omitempty"`
	Event       event.Event                 `json:"event"`
	Rule        string                      `json:"rule"`
	DetailType  string                      `json:"detail_type"`
	EventType   string                      `json:"event_type"`
	TargetIndex int                         `json:"target_index"`
	Target      manifest.NotificationTarget `json:"target"` // secrets as references, never values
	Status      Status                      `json:"status"`
	Attempts    int                         `json:"attempts"`
	NextAttempt time.Time                   `json:"next_attempt,omitzero"`
	LastError   string                      `json:"last_error,omitempty"`
	LastStatus  int                         `json:"last_status,omitempty"` // the endpoint's last HTTP status
	Payload     []byte                      `json:"-"`                     // the body sent, built at the first attempt
	Created     time.Time                   `json:"created"`
	Updated     time.Time                   `json:"updated"`
}

// Store is the durable queue. Implementations are safe for concurrent use (and
// for several processes on one state file).
type Store interface {
	// Enqueue adds deliveries as pending. It is idempotent for an event stored
	// in the event log: one delivery per (EventSeq, Rule, TargetIndex).
	Enqueue(ctx context.Context, ds []Delivery) error
	// ClaimDue returns up to limit pending deliveries due at now and leases them
	// until leaseUntil: nobody else takes them meanwhile, and a dispatcher that
	// dies mid-send leaves them due again once the lease ends.
	ClaimDue(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Delivery, error)
	// SaveAttempt records an attempt's outcome (status, attempts, next attempt,
	// last error and status, payload) and ends the lease.
	SaveAttempt(ctx context.Context, d Delivery) error
	// RecentDeliveries returns the newest deliveries first.
	RecentDeliveries(ctx context.Context, limit int) ([]Delivery, error)
	// DeliveryCounts counts deliveries by status (the queue depth is pending).
	DeliveryCounts(ctx context.Context) (map[Status]int, error)
	// Cursor and SaveCursor keep how far Follow has read the event log.
	Cursor(ctx context.Context, name string) (seq int64, ok bool, err error)
	SaveCursor(ctx context.Context, name string, seq int64) error
}

// Backoff is the wait before attempt+1 after attempt failed: base doubled per
// attempt, capped at max, with "equal jitter" (half fixed, half random, rnd in
// [0,1)) so that deliveries failing together do not retry together.
func Backoff(attempt int, base, max time.Duration, rnd float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + time.Duration(rnd*float64(d/2))
}
