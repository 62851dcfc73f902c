package deploy

import (
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// planSteps returns the lifecycle of a new deployment of kind, all Pending.
func planSteps(kind Kind) []Step {
	var names []StepName
	switch kind {
	case KindBlueGreen:
		names = []StepName{
			StepBeforeInstall, StepInstall, StepAfterInstall,
			StepAllowTestTraffic, StepAfterAllowTestTraffic, StepBeforeAllowTraffic,
			StepReadyWait, StepAllowTraffic, StepAfterAllowTraffic,
			StepBakeTime, StepTerminationWait, StepTerminateOriginal,
		}
	case KindStandard:
		names = []StepName{StepInstall, StepAllowTraffic, StepTerminateOriginal}
	case KindRollback:
		names = []StepName{StepAllowTraffic, StepTerminateReplacement}
	}
	steps := make([]Step, len(names))
	for i, n := range names {
		steps[i] = Step{Name: n, Status: StepPending}
	}
	return steps
}

// TrafficShift is one production weight change of the AllowTraffic step: At after
// the step starts, the replacement gets Weight percent of production traffic.
type TrafficShift struct {
	At     time.Duration
	Weight int
}

// ShiftSchedule turns a deployment config into its weight changes. CodeDeploy's
// meaning: AllAtOnce moves everything; TimeBasedCanary moves Percentage, then the
// rest after Interval; TimeBasedLinear moves Percentage every Interval until all
// traffic has moved.
func ShiftSchedule(cfg manifest.DeploymentConfig) []TrafficShift {
	p, every := cfg.Percentage, cfg.Interval.D()
	switch {
	case cfg.Type == manifest.TrafficTimeBasedCanary && p > 0 && p < 100:
		return []TrafficShift{{0, p}, {every, 100}}
	case cfg.Type == manifest.TrafficTimeBasedLinear && p > 0 && p < 100:
		var shifts []TrafficShift
		for i, w := 0, p; ; i, w = i+1, w+p {
			if w >= 100 {
				return append(shifts, TrafficShift{time.Duration(i) * every, 100})
			}
			shifts = append(shifts, TrafficShift{time.Duration(i) * every, w})
		}
	default:
		return []TrafficShift{{0, 100}}
	}
}

// WeightAt returns the replacement's production weight elapsed after AllowTraffic
// started, and when the next shift is due (zero when none is left).
func WeightAt(schedule []TrafficShift, elapsed time.Duration) (weight int, next time.Duration) {
	for _, s := range schedule {
		if s.At > elapsed {
			return weight, s.At
		}
		weight = s.Weight
	}
	return weight, 0
}
