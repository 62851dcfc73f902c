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

// alarmBreach is an alarm that entered ALARM on the replacement's traffic.
type alarmBreach struct {
	alarm       string
	reason      string
	firstBreach time.Time
	at          time.Time
}

func (r *run) watchesAlarms() bool {
	return r.d.Kind == KindBlueGreen && r.c.opts.Watchers != nil && len(r.d.Config.Alarms) > 0
}

// startAlarmWatch evaluates the deployment's alarms on the replacement target group
// from the moment it gets test traffic until the end of the termination wait.
func (r *run) startAlarmWatch(ctx context.Context) {
	if !r.watchesAlarms() || r.stopWatch != nil {
		return
	}
	from := r.d.Step(StepAllowTestTraffic).Start
	wctx, cancel := context.WithCancel(ctx)
	r.stopWatch = cancel
	w := r.c.opts.Watchers(r.d.Config.Service.Name, r.d.ReplacementTargetGroup, r.d.Config.Alarms, from, r.onAlarmTransition)
	r.watcher = w
	go func() {
		if err := w.Run(wctx); err != nil && wctx.Err() == nil {
			r.log.Error("alarm watcher", "err", err)
		}
	}()
	r.logf("watching alarms %s on %s", alarmNames(r.d.Config.Alarms), r.d.ReplacementTargetGroup)
}

// resumeAlarmWatch restarts the watcher of a deployment resumed inside its watch
// window.
func (r *run) resumeAlarmWatch(ctx context.Context) {
	test, wait := r.d.Step(StepAllowTestTraffic), r.d.Step(StepTerminationWait)
	if test == nil || wait == nil || test.Status == StepPending || wait.Status == StepSucceeded || wait.Status == StepSkipped {
		return
	}
	r.startAlarmWatch(ctx)
}

func (r *run) stopAlarmWatch() {
	if r.stopWatch != nil {
		r.stopWatch()
	}
}

// onAlarmTransition runs on the watcher's goroutine: it records the change and hands
// an ALARM to the deployment's goroutine, which owns the deployment state.
func (r *run) onAlarmTransition(t alarm.Transition) {
	r.emit(event.Event{Kind: event.KindAlarm, Name: t.Alarm, Status: string(t.State), Message: t.Reason,
		Data: map[string]any{"previous": string(t.Previous), "target_group": r.d.ReplacementTargetGroup, "detected_after_ms": t.DetectedAfter.Milliseconds()}})
	r.logf("alarm %s: %s -> %s: %s", t.Alarm, t.Previous, t.State, t.Reason)
	if t.State != alarm.StateAlarm {
		return
	}
	select {
	case r.alarms <- alarmBreach{alarm: t.Alarm, reason: t.Reason, firstBreach: t.FirstBreach, at: t.Time}:
	default: // a breach is already pending: one is enough to stop
	}
}

// onAlarm turns a breach into the deployment's stop request.
func (r *run) onAlarm(b alarmBreach) {
	if r.d.Stop != nil {
		return
	}
	r.d.Stop = &StopRequest{
		Event: manifest.RollbackOnAlarm, Code: CodeAlarmActive,
		Reason:    fmt.Sprintf("alarm %s entered ALARM: %s", b.alarm, b.reason),
		Requested: time.Now(), Alarm: b.alarm, FirstBreach: b.firstBreach, AlarmAt: b.at,
	}
}

// checkExistingAlarms applies the group's policy for alarms already in ALARM on the
// production target group as the deployment starts: block it, or go on with a
// warning.
func (r *run) checkExistingAlarms(ctx context.Context) error {
	d := r.d
	if d.Kind != KindBlueGreen || len(d.Config.Alarms) == 0 {
		return nil
	}
	spec, _, err := r.currentSpec(ctx)
	if err != nil {
		return err
	}
	prod := productionTargetGroup(&spec)
	if prod == "" {
		return nil
	}
	now := time.Now()
	series, err := r.c.opts.Router.Series(ctx, d.Config.Service.Name, now.Add(-10*time.Minute).UnixMilli())
	if err != nil {
		return fmt.Errorf("read production metrics: %w", err)
	}
	slots := metrics.SlotsOf(series, prod)
	var firing []string
	for _, a := range d.Config.Alarms {
		if ev := alarm.Evaluate(a, slots, now, alarm.StateInsufficientData); ev.State == alarm.StateAlarm {
			firing = append(firing, a.Name+": "+ev.Reason)
		}
	}
	if len(firing) == 0 {
		return nil
	}
	msg := "alarms in ALARM on production as the deployment starts: " + strings.Join(firing, "; ")
	if d.Config.OnExistingAlarm == manifest.ExistingAlarmIgnore {
		r.logf("warning: %s (on_existing_alarm: ignore)", msg)
		r.emit(event.Event{Kind: event.KindDeployment, Status: "Warning", Message: msg})
		return nil
	}
	d.Stop = &StopRequest{Event: manifest.RollbackOnFailure, Code: CodeAlarmActive, Reason: msg + " (on_existing_alarm: block)", Requested: now}
	return r.save(ctx)
}

func alarmNames(alarms []*manifest.Alarm) string {
	names := make([]string, len(alarms))
	for i, a := range alarms {
		names[i] = a.Name
	}
	return strings.Join(names, ", ")
}
