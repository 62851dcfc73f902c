package alarm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// fakeSource is the router's metrics protocol in memory: it serves completed 100 ms
// slots up to the wall clock for two target groups, each slot's traffic computed by
// traffic. Tests flip the traffic and make fetches fail.
type fakeSource struct {
	origin int64 // no slot starts before this

	mu      sync.Mutex
	traffic func(targetGroup string, start int64) metrics.Slot
	err     error
	calls   int
}

func newFakeSource(traffic func(string, int64) metrics.Slot) *fakeSource {
	return &fakeSource{origin: metrics.SlotStart(time.Now()) - 5000, traffic: traffic}
}

func (f *fakeSource) set(traffic func(string, int64) metrics.Slot, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if traffic != nil {
		f.traffic = traffic
	}
	f.err = err
}

func (f *fakeSource) Series(ctx context.Context, service string, sinceMs int64) ([]metrics.Series, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	completed := metrics.SlotStart(time.Now()) // slots before this one are complete
	first := max(f.origin, sinceMs+1)
	first += (100 - first%100) % 100
	var out []metrics.Series
	for _, tg := range []string{service + "-1", service + "-2"} {
		s := metrics.Series{Service: service, TargetGroup: tg}
		for start := first; start < completed; start += 100 {
			slot := f.traffic(tg, start)
			slot.Start = start
			s.Slots = append(s.Slots, slot)
		}
		out = append(out, s)
	}
	return out, nil
}

// healthy is 2 requests per slot answered 200 in 5 ms.
func healthy(string, int64) metrics.Slot {
	s := metrics.Slot{Requests: 2, Target2XX: 2}
	s.Latency.Observe(5 * time.Millisecond)
	s.Latency.Observe(5 * time.Millisecond)
	return s
}

// failingFrom makes targetGroup answer 500 from the slot starting at fromMs on.
func failingFrom(targetGroup string, fromMs int64) func(string, int64) metrics.Slot {
	return func(tg string, start int64) metrics.Slot {
		s := healthy(tg, start)
		if tg == targetGroup && start >= fromMs {
			s.Target2XX, s.Target5XX = 0, 2
		}
		return s
	}
}

// anyErrors alarms on a single 5XX within a one-second period.
func anyErrors() *manifest.Alarm {
	return &manifest.Alarm{Name: "any-5xx", MetricName: manifest.MetricTarget5XX, Statistic: StatSum, Period: 1,
		EvaluationPeriods: 1, Threshold: 0, ComparisonOperator: manifest.GreaterThanThreshold}
}

// recorder queues each alarm's transitions.
type recorder struct {
	mu     sync.Mutex
	queues map[string]chan Transition
}

func newRecorder() *recorder { return &recorder{queues: map[string]chan Transition{}} }

func (r *recorder) queue(alarm string) chan Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	q, ok := r.queues[alarm]
	if !ok {
		q = make(chan Transition, 1000)
		r.queues[alarm] = q
	}
	return q
}

func (r *recorder) onChange(t Transition) { r.queue(t.Alarm) <- t }

// next waits for the next transition of alarm.
func (r *recorder) next(t *testing.T, alarm string) Transition {
	t.Helper()
	select {
	case tr := <-r.queue(alarm):
		return tr
	case <-time.After(30 * time.Second):
		t.Fatalf("no transition of %s within 30s", alarm)
		return Transition{}
	}
}

func runWatcher(t *testing.T, w *Watcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func TestWatcherDetectsErrors(t *testing.T) {
	src := newFakeSource(healthy)
	rec := newRecorder()
	latency := &manifest.Alarm{Name: "p99", MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: "p99", Period: 1,
		EvaluationPeriods: 2, Threshold: 0.5, ComparisonOperator: manifest.GreaterThanThreshold}
	w := NewWatcher(src, "web", "web-2", []*manifest.Alarm{anyErrors(), latency}, time.UnixMilli(src.origin), rec.onChange)
	runWatcher(t, w)

	for _, name := range []string{"any-5xx", "p99"} {
		tr := rec.next(t, name)
		if tr.Previous != "" || tr.State != StateInsufficientData || tr.Reason != initialReason {
			t.Fatalf("initial transition %+v", tr)
		}
		if tr = rec.next(t, name); tr.Previous != StateInsufficientData || tr.State != StateOK {
			t.Fatalf("second transition of %s: %+v", name, tr)
		}
	}

	// Errors on the other target group (blue) do not count.
	src.set(failingFrom("web-1", 0), nil)
	time.Sleep(500 * time.Millisecond)
	if s := w.States()[0]; s.State != StateOK {
		t.Fatalf("blue's errors moved green's alarm: %+v", s)
	}

	// Green fails from the next whole slot on: the alarm must fire on the first
	// period holding that slot, whatever the load on the machine, because periods
	// are judged in the data's time.
	firstBad := metrics.SlotStart(time.Now()) + 200
	src.set(failingFrom("web-2", firstBad), nil)
	tr := rec.next(t, "any-5xx")
	if tr.State != StateAlarm || tr.Previous != StateOK {
		t.Fatalf("transition %+v", tr)
	}
	firstBadEnd := time.UnixMilli(firstBad).Add(metrics.SlotDuration)
	// The watcher evaluates at the newest slot it has; a tick delayed by a loaded
	// machine can skip a few, hence the margin over the 100 ms it takes when idle.
	if lag := tr.Time.Sub(firstBadEnd); lag < 0 || lag > 3*time.Second {
		t.Errorf("ALARM at %v, %v after the end of the first failing slot %v", tr.Time, lag, firstBadEnd)
	}
	if tr.FirstBreach.After(time.UnixMilli(firstBad)) || tr.DetectedAfter != tr.Time.Sub(tr.FirstBreach) || tr.DetectedAfter <= 0 {
		t.Errorf("FirstBreach %v, DetectedAfter %v, Time %v", tr.FirstBreach, tr.DetectedAfter, tr.Time)
	}
	if !strings.HasPrefix(tr.Reason, "Threshold Crossed: 1 datapoint [") {
		t.Errorf("reason %q", tr.Reason)
	}
	if s := w.States(); s[0].State != StateAlarm || s[1].State != StateOK {
		t.Errorf("States() = %s, %s", s[0].State, s[1].State)
	}
}

func TestWatcherIgnoresSlotsBeforeFrom(t *testing.T) {
	// Green's target group failed before it got test traffic (a previous revision
	// served it): those slots must not count, even the one holding from.
	from := time.Now().Add(time.Second + 50*time.Millisecond)
	src := newFakeSource(failingFrom("web-2", 0))
	src.set(func(tg string, start int64) metrics.Slot {
		if start < from.UnixMilli() {
			return failingFrom("web-2", 0)(tg, start)
		}
		return healthy(tg, start)
	}, nil)
	rec := newRecorder()
	a := anyErrors()
	a.EvaluationPeriods = 3
	w := NewWatcher(src, "web", "web-2", []*manifest.Alarm{a}, from, rec.onChange)
	runWatcher(t, w)
	rec.next(t, a.Name) // initial
	tr := rec.next(t, a.Name)
	if tr.State != StateOK {
		t.Fatalf("first judged state %+v, want OK", tr)
	}
	for _, d := range tr.Datapoints {
		if d.Breaching {
			t.Errorf("datapoint %+v breaches", d)
		}
	}
}

func TestWatcherFetchFailures(t *testing.T) {
	src := newFakeSource(healthy)
	rec := newRecorder()
	a := anyErrors()
	w := NewWatcher(src, "web", "web-2", []*manifest.Alarm{a}, time.UnixMilli(src.origin), rec.onChange)
	runWatcher(t, w)
	rec.next(t, a.Name)
	if tr := rec.next(t, a.Name); tr.State != StateOK {
		t.Fatalf("%+v", tr)
	}
	src.set(nil, errors.New("agent: connection refused"))
	tr := rec.next(t, a.Name)
	if tr.State != StateInsufficientData || !strings.Contains(tr.Reason, "connection refused") || !strings.Contains(tr.Reason, "web/web-2") {
		t.Fatalf("after failing fetches: %+v", tr)
	}
	src.set(nil, nil)
	if tr := rec.next(t, a.Name); tr.State != StateOK {
		t.Fatalf("after recovery: %+v", tr)
	}
}

func TestWatcherKeepsOnlyWhatAlarmsRead(t *testing.T) {
	src := newFakeSource(healthy)
	src.origin -= 60_000 // a minute of history the alarms do not need
	rec := newRecorder()
	a := anyErrors()
	a.Period, a.EvaluationPeriods = 2, 3 // reads 5 periods of 2 s
	w := NewWatcher(src, "web", "web-2", []*manifest.Alarm{a}, time.UnixMilli(src.origin), rec.onChange)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w.tick(ctx)
	w.tick(ctx)
	if max := int(10*time.Second/metrics.SlotDuration) + 2; len(w.slots) > max || len(w.slots) < max-10 {
		t.Errorf("kept %d slots, want about %d", len(w.slots), max)
	}
	for i := 1; i < len(w.slots); i++ {
		if w.slots[i].Start != w.slots[i-1].Start+100 {
			t.Fatalf("slots not contiguous at %d: %d after %d", i, w.slots[i].Start, w.slots[i-1].Start)
		}
	}
}

func TestWatcherUnknownTargetGroupFollowsClock(t *testing.T) {
	src := newFakeSource(healthy)
	rec := newRecorder()
	a := anyErrors()
	a.TreatMissingData = manifest.MissingDataBreaching
	w := NewWatcher(src, "web", "web-3", []*manifest.Alarm{a}, time.Now(), rec.onChange)
	runWatcher(t, w)
	rec.next(t, a.Name)
	// No traffic at all is missing data, here treated as breaching.
	if tr := rec.next(t, a.Name); tr.State != StateAlarm || !strings.Contains(tr.Reason, "no datapoints were received") {
		t.Fatalf("%+v", tr)
	}
}
