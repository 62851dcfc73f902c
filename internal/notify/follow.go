package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
)

// EventSource is the durable event log every greenlight process writes to
// (internal/store implements it).
type EventSource interface {
	EventsAfter(ctx context.Context, seq int64, limit int) ([]event.Event, error)
	LastEventSeq(ctx context.Context) (int64, error)
}

// followCursor names Follow's place in the event log.
const followCursor = "notify"

// Follow queues notifications for every event stored in the log, whichever
// process emitted it (the controller emits the deployment and alarm events),
// until ctx ends. Its place is kept in the store: a restart resumes where it
// stopped, and the first start begins at the end of the log rather than
// notifying history. Enqueue is idempotent per stored event, so an event queued
// twice (a crash between queueing and saving the place) is delivered once.
func (n *Notifier) Follow(ctx context.Context, src EventSource) error {
	seq, err := n.startingPoint(ctx, src)
	if err != nil {
		return err
	}
	for {
		evs, err := src.EventsAfter(ctx, seq, 500)
		if err != nil {
			return fmt.Errorf("follow events: %w", err)
		}
		for _, e := range evs {
			if _, err := n.Enqueue(ctx, e); err != nil {
				return err
			}
			seq = e.Seq
		}
		if len(evs) > 0 {
			if err := n.o.Store.SaveCursor(ctx, followCursor, seq); err != nil {
				return fmt.Errorf("follow events: %w", err)
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(n.o.PollInterval):
		}
	}
}

func (n *Notifier) startingPoint(ctx context.Context, src EventSource) (int64, error) {
	seq, ok, err := n.o.Store.Cursor(ctx, followCursor)
	if err != nil || ok {
		return seq, err
	}
	if seq, err = src.LastEventSeq(ctx); err != nil {
		return 0, fmt.Errorf("follow events: %w", err)
	}
	return seq, n.o.Store.SaveCursor(ctx, followCursor, seq)
}
