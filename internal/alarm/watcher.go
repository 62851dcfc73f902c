package alarm

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Source gives the router's metrics; the agent client implements it over the admin
// API (GET /v1/services/{name}/metrics?since=). Series returns, for every target group
// of service, the completed slots that start after sinceMs (unix milliseconds).
type Source interface {
	Series(ctx context.Context, service string, sinceMs int64) ([]metrics.Series, error)
}

// Transition is a change of alarm state. Previous is "" for the initial state.
// DetectedAfter, for a change to ALARM, is how long after the start of the first
// breaching datapoint the alarm fired (Time - FirstBreach); zero otherwise.
type Transition struct {
	Evaluation
	Previous      State         `json:"previous,omitempty"`
	DetectedAfter time.Duration `json:"detected_after,omitempty"`
}

// fetchFailureGrace is how long metrics may be unavailable before every alarm goes
// to INSUFFICIENT_DATA, as a CloudWatch alarm does when it cannot read its metric.
// A few failed polls in a row are retried silently.
const fetchFailureGrace = time.Second

// initialReason is CloudWatch's reason for a newly created alarm.
const initialReason = "Unchecked: Initial alarm creation"

// Watcher evaluates alarms on one target group of a service every slot. Run drives
// it; States may be called from any goroutine.
type Watcher struct {
	src         Source
	service     string
	targetGroup string
	from        time.Time
	onChange    func(Transition)
	rules       []*rule
	keep        time.Duration // how much history the longest alarm reads
	log         *slog.Logger

	mu     sync.Mutex
	states []Evaluation

	// Owned by the Run goroutine.
	slots        []metrics.Slot
	since        int64
	lastNow      time.Time
	failingSince time.Time
}

// NewWatcher watches alarms on one target group of a service from `from` on: every
// metrics.SlotDuration it fetches new slots (keeping only what the longest alarm
// needs), evaluates every alarm and calls onChange for each state change, the
// initial INSUFFICIENT_DATA included. Slots that start before `from` are ignored, so
// that green is judged on its own traffic only. onChange runs on Run's goroutine and should
// return quickly.
func NewWatcher(src Source, service, targetGroup string, alarms []*manifest.Alarm, from time.Time, onChange func(Transition)) *Watcher {
	w := &Watcher{
		src: src, service: service, targetGroup: targetGroup, from: from, onChange: onChange,
		since: firstSlot(from) - 1,
		log:   slog.Default().With("service", service, "target_group", targetGroup),
	}
	for _, a := range alarms {
		r := compile(a)
		w.rules = append(w.rules, r)
		w.keep = max(w.keep, r.span())
		w.states = append(w.states, Evaluation{Alarm: a.Name, State: StateInsufficientData, Reason: initialReason, Time: from.UTC()})
	}
	return w
}

// SetLogger replaces the logger (slog.Default with the service and target group) that
// reports metric fetch failures. Call it before Run.
func (w *Watcher) SetLogger(l *slog.Logger) { w.log = l }

// States returns the latest evaluation of every alarm, in the order given to
// NewWatcher.
func (w *Watcher) States() []Evaluation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Evaluation(nil), w.states...)
}

// Run reports the initial states, then polls and evaluates every slot until ctx
// ends; it returns nil then.
func (w *Watcher) Run(ctx context.Context) error {
	for _, ev := range w.States() {
		w.onChange(Transition{Evaluation: ev})
	}
	ticker := time.NewTicker(metrics.SlotDuration)
	defer ticker.Stop()
	for {
		w.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func (w *Watcher) tick(ctx context.Context) {
	series, err := w.src.Series(ctx, w.service, w.since)
	if err != nil {
		if ctx.Err() == nil {
			w.fetchFailed(err)
		}
		return
	}
	if !w.failingSince.IsZero() {
		w.log.Info("router metrics available again", "after", time.Since(w.failingSince).Round(time.Millisecond))
		w.failingSince = time.Time{}
	}
	now, ok := w.absorb(series)
	if !ok || !now.After(w.lastNow) {
		return
	}
	w.lastNow = now
	w.trim(now)
	for i, r := range w.rules {
		w.record(i, r.evaluate(w.slots, now, w.states[i].State))
	}
}

// absorb appends the target group's new slots and returns the time to evaluate at:
// the end of the newest slot, so that a period never counts a slot the router has
// not completed. A target group the router does not know yet has no traffic: time
// then follows the clock.
func (w *Watcher) absorb(series []metrics.Series) (time.Time, bool) {
	first := firstSlot(w.from)
	for _, s := range series {
		if s.TargetGroup != w.targetGroup {
			continue
		}
		for _, slot := range s.Slots {
			if slot.Start > w.since && slot.Start >= first {
				w.slots = append(w.slots, slot)
				w.since = slot.Start
			}
		}
		if len(w.slots) == 0 {
			return time.Time{}, false
		}
		return time.UnixMilli(w.slots[len(w.slots)-1].Start).Add(metrics.SlotDuration), true
	}
	return time.UnixMilli(metrics.SlotStart(time.Now())), true
}

// firstSlot is the start of the first slot wholly at or after from. The slot holding
// from is skipped: the target group may have served a previous revision in it (a
// deployment that starts right after a rollback reuses the rolled-back group).
func firstSlot(from time.Time) int64 {
	ms := from.UnixMilli()
	slot := metrics.SlotDuration.Milliseconds()
	return (ms + slot - 1) / slot * slot
}

// trim drops slots older than any alarm reads.
func (w *Watcher) trim(now time.Time) {
	oldest := now.Add(-w.keep - metrics.SlotDuration).UnixMilli()
	i := 0
	for i < len(w.slots) && w.slots[i].Start < oldest {
		i++
	}
	if i > 0 {
		w.slots = w.slots[:copy(w.slots, w.slots[i:])]
	}
}

func (w *Watcher) fetchFailed(err error) {
	now := time.Now()
	if w.failingSince.IsZero() {
		w.failingSince = now
		w.log.Warn("fetch router metrics", "err", err)
	}
	down := now.Sub(w.failingSince)
	if down < fetchFailureGrace {
		return
	}
	reason := fmt.Sprintf("Insufficient Data: router metrics of %s/%s unavailable for %s: %v",
		w.service, w.targetGroup, down.Round(100*time.Millisecond), err)
	for i := range w.rules {
		w.record(i, Evaluation{Alarm: w.rules[i].alarm.Name, State: StateInsufficientData, Reason: reason,
			Time: time.UnixMilli(metrics.SlotStart(now)).UTC()})
	}
}

// record stores an evaluation and reports it when the state changed.
func (w *Watcher) record(i int, ev Evaluation) {
	w.mu.Lock()
	prev := w.states[i].State
	w.states[i] = ev
	w.mu.Unlock()
	if ev.State == prev {
		return
	}
	t := Transition{Evaluation: ev, Previous: prev}
	if ev.State == StateAlarm && !ev.FirstBreach.IsZero() {
		t.DetectedAfter = ev.Time.Sub(ev.FirstBreach)
	}
	w.onChange(t)
}
