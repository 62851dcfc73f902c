package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// Poster sends one HTTP POST (internal/notify/notifyhttp implements it). It must
// honour ctx's deadline. A non-2xx answer is a Response, not an error; an error
// means no answer (refused, reset, timed out).
type Poster interface {
	Post(ctx context.Context, url string, body []byte, header map[string]string) (Response, error)
}

// Response is an endpoint's answer.
type Response struct {
	Status     int
	RetryAfter time.Duration // from a 429 or 503's Retry-After
	Body       string        // the start of the body, for the record
}

// Secrets reads the secrets targets name (provider.Secrets implements it).
type Secrets interface {
	Value(ctx context.Context, v *manifest.SecretValue) (string, error)
}

// Lookup tells what an execution runs, for messages (optional).
type Lookup interface {
	ExecutionInfo(ctx context.Context, executionID string) (ExecutionInfo, error)
}

// Options configure a Notifier; zero durations take the defaults shown.
type Options struct {
	Rules    []*manifest.NotificationRule // watch every event: the rules of a notifier of one definition
	RuleSets []RuleSet                    // each definition's rules, watching its own events only
	Store    Store
	Poster   Poster
	Secrets  Secrets // reads the secrets of Rules' targets, and of sets without their own
	Lookup   Lookup  // nil: messages carry what the event says
	BaseURL  string  // the console's address, for links in messages

	AttemptTimeout time.Duration // 10s: an endpoint that has not answered by then failed this attempt
	MaxAttempts    int           // 6: then the delivery is failed
	BaseBackoff    time.Duration // 2s, doubled per attempt
	MaxBackoff     time.Duration // 5m
	PollInterval   time.Duration // 1s: how often the queue is checked when nothing wakes the dispatcher
	Concurrency    int           // 4 sends at once: one dead endpoint does not hold up the others

	Logger *slog.Logger
	Now    func() time.Time
	Rand   func() float64 // [0,1), for jitter
}

// Notifier matches events against rules, queues deliveries and sends them.
type Notifier struct {
	o    Options
	wake chan struct{}
}

// New returns a notifier; call Run to send what is queued.
func New(o Options) *Notifier {
	o.AttemptTimeout = cmp.Or(o.AttemptTimeout, 10*time.Second)
	o.BaseBackoff = cmp.Or(o.BaseBackoff, 2*time.Second)
	o.MaxBackoff = cmp.Or(o.MaxBackoff, 5*time.Minute)
	o.PollInterval = cmp.Or(o.PollInterval, time.Second)
	o.MaxAttempts = cmp.Or(o.MaxAttempts, 6)
	o.Concurrency = cmp.Or(o.Concurrency, 4)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if len(o.Rules) > 0 {
		o.RuleSets = append([]RuleSet{{Rules: o.Rules}}, o.RuleSets...)
	}
	return &Notifier{o: o, wake: make(chan struct{}, 1)}
}

// Emit queues the deliveries an event asks for and returns: it never waits for
// an endpoint, only for the queue's insert when a rule matches. It implements
// event.Sink; a failed insert is logged (Enqueue returns it).
func (n *Notifier) Emit(e event.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := n.Enqueue(ctx, e); err != nil {
		n.o.Logger.Error("queue notification", "event", e.Kind, "status", e.Status, "err", err)
	}
}

// Enqueue queues the deliveries e asks for and wakes the dispatcher; it returns
// how many were queued.
func (n *Notifier) Enqueue(ctx context.Context, e event.Event) (int, error) {
	matches := Matches(n.rulesOf(e), e)
	if len(matches) == 0 {
		return 0, nil
	}
	now := n.o.Now().UTC()
	ds := make([]Delivery, len(matches))
	for i, m := range matches {
		ds[i] = Delivery{EventSeq: e.Seq, Event: e, Rule: m.Rule, DetailType: m.DetailType, EventType: m.EventType,
			TargetIndex: m.TargetIndex, Target: m.Target, Status: StatusPending, NextAttempt: now, Created: now, Updated: now}
	}
	if err := n.o.Store.Enqueue(ctx, ds); err != nil {
		return 0, fmt.Errorf("queue %d notifications: %w", len(ds), err)
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
	return len(ds), nil
}

// rulesOf returns the rules of every set that owns e.
func (n *Notifier) rulesOf(e event.Event) []*manifest.NotificationRule {
	var rules []*manifest.NotificationRule
	for _, s := range n.o.RuleSets {
		if s.Owns(e) {
			rules = append(rules, s.Rules...)
		}
	}
	return rules
}

// targetOf returns the delivery's target as its definition has it now, with
// the positions the queue does not keep (errors about its secrets say where
// they are mapped), and the secrets that read it. A target no longer in the
// definitions served is the one queued, read with Options.Secrets.
func (n *Notifier) targetOf(d Delivery) (manifest.NotificationTarget, Secrets) {
	for _, s := range n.o.RuleSets {
		if !s.Owns(d.Event) {
			continue
		}
		if t, same := s.target(d); same && s.Secrets != nil {
			return *t, s.Secrets
		} else if same {
			return *t, n.o.Secrets
		}
	}
	return d.Target, n.o.Secrets
}

// Run sends due deliveries until ctx ends, then waits for the sends under way
// (each bounded by AttemptTimeout) and returns ctx's error.
func (n *Notifier) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, n.o.Concurrency)
	for {
		n.dispatch(ctx, &wg, slots)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-n.wake:
		case <-time.After(n.o.PollInterval):
		}
	}
}

// dispatch starts an attempt for each due delivery, as send slots free up.
func (n *Notifier) dispatch(ctx context.Context, wg *sync.WaitGroup, slots chan struct{}) {
	now := n.o.Now().UTC()
	due, err := n.o.Store.ClaimDue(ctx, now, now.Add(n.o.AttemptTimeout+30*time.Second), n.o.Concurrency*4)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			n.o.Logger.Error("read notification queue", "err", err)
		}
		return
	}
	for _, d := range due {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			// ends the lease untouched
			if err := n.o.Store.SaveAttempt(context.WithoutCancel(ctx), d); err != nil {
				n.o.Logger.Error("release notification lease", "delivery", d.Seq, "err", err)
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			n.attempt(ctx, d)
		}()
	}
}
