package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// DefaultBakeTime is the bake window of a deployment group that sets no
// bake_time: the longest evaluation range of its alarms (evaluation_periods ×
// period), the least time in which every alarm has judged the replacement on
// production traffic alone. Without alarms it is zero.
func DefaultBakeTime(alarms []*manifest.Alarm) time.Duration {
	var longest time.Duration
	for _, a := range alarms {
		longest = max(longest, time.Duration(a.EvaluationPeriods*a.Period)*time.Second)
	}
	return longest
}

// minBakeGrace is the least a bake waits past its window for alarms that have
// not been evaluated OK yet (INSUFFICIENT_DATA: too little traffic, metrics
// unavailable) before it gives up; the grace is the window itself when longer.
const minBakeGrace = 10 * time.Second

// bakeClock is where a bake window stands.
type bakeClock struct {
	start, end, giveUp time.Time
	window, every      time.Duration
	lastProgress       time.Time
}

func newBakeClock(start time.Time, window time.Duration) *bakeClock {
	return &bakeClock{
		start: start, end: start.Add(window), giveUp: start.Add(window + max(window, minBakeGrace)),
		window: window, every: min(max(window/10, time.Second), 30*time.Second),
	}
}

// progressDue reports whether a progress line is due at now, and notes it.
func (b *bakeClock) progressDue(now time.Time) bool {
	if !b.lastProgress.IsZero() && now.Sub(b.lastProgress) < b.every {
		return false
	}
	b.lastProgress = now
	return true
}

// bake is the bake window (StepBakeTime). Production has served the replacement
// since the step began; the step succeeds once the window has passed and every
// alarm of the deployment group was evaluated OK on traffic up to the window's
// end. Only then is the deployment released (Baking): a pipeline action that
// waits for it reports success only for a release that baked. An alarm firing
// inside the window stops the deployment, as anywhere from AllowTestTraffic on.
func (r *run) bake(ctx context.Context) (bool, error) {
	window := r.d.Config.BakeTime.D()
	if window <= 0 {
		return true, nil
	}
	b := newBakeClock(r.d.Step(StepBakeTime).Start, window)
	r.logf("bake window of %s: production must serve %s with alarms %s OK", window, r.d.ReplacementTargetGroup, alarmNames(r.d.Config.Alarms))
	return false, r.waitUntil(ctx, func() (bool, error) {
		now := time.Now()
		states := r.alarmStates()
		pending := notBakedOK(states, b.end)
		switch {
		case !now.Before(b.end) && len(pending) == 0:
			r.emitBakeProgress(b, b.end, states)
			r.d.Step(StepBakeTime).Message = fmt.Sprintf("baked %s, alarms OK", fmtWindow(window, window))
			r.logf("bake window passed with every alarm OK")
			return true, nil
		case now.After(b.giveUp):
			return false, fail(CodeTimeout, "bake window of %s passed, but these alarms were not evaluated OK within %s after it: %s",
				window, b.giveUp.Sub(b.end), strings.Join(pending, "; "))
		}
		if b.progressDue(now) {
			r.emitBakeProgress(b, now, states)
		}
		return false, nil
	})
}

// alarmStates is the latest evaluation of every alarm watched, none when the
// deployment's alarms are not evaluated.
func (r *run) alarmStates() []alarm.Evaluation {
	if r.watcher == nil {
		return nil
	}
	return r.watcher.States()
}

// notBakedOK lists the alarms that keep a bake from ending at end: not OK, or
// not yet evaluated on the traffic up to end.
func notBakedOK(states []alarm.Evaluation, end time.Time) []string {
	due := time.UnixMilli(metrics.SlotStart(end))
	var pending []string
	for _, ev := range states {
		if ev.State != alarm.StateOK || ev.Time.Before(due) {
			pending = append(pending, fmt.Sprintf("%s %s: %s", ev.Alarm, ev.State, ev.Reason))
		}
	}
	return pending
}

// emitBakeProgress tells followers where the bake window stands: "baking 3s/10s,
// alarms OK".
func (r *run) emitBakeProgress(b *bakeClock, now time.Time, states []alarm.Evaluation) {
	elapsed := min(now.Sub(b.start), b.window)
	msg := bakeProgressMessage(b, now, states)
	byName := map[string]string{}
	for _, ev := range states {
		byName[ev.Alarm] = string(ev.State)
	}
	r.emit(event.Event{Kind: event.KindProgress, Name: string(StepBakeTime), Status: string(StepInProgress), Message: msg,
		Data: map[string]any{"elapsed_ms": elapsed.Milliseconds(), "window_ms": b.window.Milliseconds(), "alarms": byName}})
}

// bakeProgressMessage says where the bake window stands at now.
func bakeProgressMessage(b *bakeClock, now time.Time, states []alarm.Evaluation) string {
	if !now.After(b.end) {
		return fmt.Sprintf("baking %s, %s", fmtWindow(min(now.Sub(b.start), b.window), b.window), alarmSummary(states))
	}
	// Past the window with every alarm OK, what is missing is their
	// evaluation of its last slot.
	waiting := "the alarms' evaluation of the window's end"
	if notOK := alarmsNotOK(states); len(notOK) > 0 {
		waiting = strings.Join(notOK, ", ")
	}
	return fmt.Sprintf("baked %s, waiting for %s", fmtWindow(b.window, b.window), waiting)
}

// alarmSummary is "alarms OK", "no alarms", or the alarms that are not OK with
// their state.
func alarmSummary(states []alarm.Evaluation) string {
	if len(states) == 0 {
		return "no alarms"
	}
	if notOK := alarmsNotOK(states); len(notOK) > 0 {
		return strings.Join(notOK, ", ")
	}
	return "alarms OK"
}

// alarmsNotOK names the alarms that are not OK, with their state.
func alarmsNotOK(states []alarm.Evaluation) []string {
	var notOK []string
	for _, ev := range states {
		if ev.State != alarm.StateOK {
			notOK = append(notOK, "alarm "+ev.Alarm+" "+string(ev.State))
		}
	}
	return notOK
}

// fmtWindow prints elapsed/window ("3s/10s"), to the tenth of a second for
// windows under ten seconds.
func fmtWindow(elapsed, window time.Duration) string {
	unit := time.Second
	if window < 10*time.Second {
		unit = 100 * time.Millisecond
	}
	return elapsed.Truncate(unit).String() + "/" + window.String()
}
