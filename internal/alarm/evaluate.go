package alarm

import (
	"sort"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// Evaluate judges one alarm at time now over slots (contiguous 100 ms slots of ONE
// target group, oldest first, as metrics.Series gives them). Periods end at now
// (aligned down to a slot boundary) and reach back Period seconds each. prev is the
// current state, which treat_missing_data=ignore keeps.
func Evaluate(a *manifest.Alarm, slots []metrics.Slot, now time.Time, prev State) Evaluation {
	return compile(a).evaluate(slots, now, prev)
}

// evaluationRange is how many periods CloudWatch retrieves to evaluate N of them.
// The guide leaves the exact number to CloudWatch ("depends on the length of the
// alarm period") and shows 5 for 3 evaluation periods; greenlight uses N+2.
func evaluationRange(n int) int { return n + 2 }

// span is how far back from now an alarm reads slots.
func (r *rule) span() time.Duration { return time.Duration(evaluationRange(r.n)) * r.period }

// point is one period of the evaluation range.
type point struct {
	Datapoint
	samples float64
	filled  bool // a missing datapoint filled in with the treat_missing_data value
}

func (r *rule) evaluate(slots []metrics.Slot, now time.Time, prev State) Evaluation {
	end := time.UnixMilli(metrics.SlotStart(now)).UTC()
	ev := Evaluation{Alarm: r.alarm.Name, Time: end}
	if r.configErr != nil {
		ev.State = StateInsufficientData
		ev.Reason = "Evaluation error: " + r.configErr.Error()
		return ev
	}
	points := r.points(slots, end)
	ev.Datapoints = make([]Datapoint, len(points))
	v := r.judge(points, prev)
	ev.State, ev.FirstBreach = v.state, v.firstBreach
	for i := range points {
		ev.Datapoints[i] = points[i].Datapoint
	}
	ev.Reason = r.reason(v)
	ev.ReasonData = r.reasonData(points, v, end)
	return ev
}

// points computes the datapoints of the evaluation range, oldest first.
func (r *rule) points(slots []metrics.Slot, end time.Time) []point {
	count := evaluationRange(r.n)
	startMs := end.Add(-time.Duration(count) * r.period).UnixMilli()
	periodMs := r.period.Milliseconds()
	i := sort.Search(len(slots), func(i int) bool { return slots[i].Start >= startMs })
	points := make([]point, count)
	var buckets *[metrics.NumBuckets]uint64 // reused: finish copies what it needs
	if r.buckets {
		buckets = new([metrics.NumBuckets]uint64)
	}
	for k := range points {
		from, to := startMs+int64(k)*periodMs, startMs+int64(k+1)*periodMs
		p := period{buckets: buckets}
		if buckets != nil {
			clear(buckets[:])
		}
		for ; i < len(slots) && slots[i].Start < to; i++ {
			if slots[i].Start >= from {
				p.add(&slots[i])
			}
		}
		p.finish()
		v, samples, ok := r.value(&p)
		points[k] = point{Datapoint: Datapoint{Start: time.UnixMilli(from).UTC(), Value: v, Missing: !ok}, samples: samples}
		if ok {
			points[k].Breaching = r.compare.breaches(v, r.alarm.Threshold)
		}
	}
	return points
}

// verdict is the outcome of the missing-data rules: the state and which datapoints
// it was decided on.
type verdict struct {
	state       State
	retained    bool // treat_missing_data=ignore kept the previous state
	evaluated   []*point
	filled      int // missing datapoints filled in with the treat_missing_data value
	unknown     int // missing datapoints among those evaluated (not filled in)
	firstBreach time.Time
}

// judge applies "How alarm state is evaluated when data is missing" (CloudWatch User
// Guide, "Configuring how CloudWatch alarms treat missing data"):
//   - with at least N real datapoints in the evaluation range, the N most recent are
//     evaluated and treat_missing_data does not matter;
//   - with fewer, "CloudWatch fills in the missing data points with the result you
//     specified for how to treat missing data [...] However, any real data points in
//     the evaluation range, no matter when they were reported, are included in the
//     evaluation. CloudWatch uses missing data points only as few times as possible":
//     every real datapoint plus the most recent missing periods make N;
//   - then ALARM when at least M of the N breach, OK otherwise.
//
// For missing and ignore, a missing datapoint is neither breaching nor not; the
// guide's tables (both rows "- - - - X" and "X - - - -") fix what happens when the
// real datapoints alone cannot decide: see undecided.
func (r *rule) judge(points []point, prev State) verdict {
	var real, gaps []*point
	for i := range points {
		if points[i].Missing {
			gaps = append(gaps, &points[i])
		} else {
			real = append(real, &points[i])
		}
	}
	var v verdict
	if len(real) >= r.n {
		v.evaluated = real[len(real)-r.n:]
		return r.count(v)
	}
	fill := gaps[len(gaps)-(r.n-len(real)):]
	v.evaluated = mergeByTime(real, fill)
	switch r.missing {
	case manifest.MissingDataBreaching, manifest.MissingDataNotBreaching:
		v.filled = len(fill)
		for _, p := range fill {
			p.filled, p.Breaching = true, r.missing == manifest.MissingDataBreaching
		}
		return r.count(v)
	}
	v.unknown = len(fill)
	return r.undecided(v, len(real), prev)
}

// count decides ALARM or OK on the evaluated datapoints: ALARM when at least M breach.
func (r *rule) count(v verdict) verdict {
	breaching := 0
	for _, p := range v.evaluated {
		if p.Breaching {
			breaching++
			if v.firstBreach.IsZero() {
				v.firstBreach = p.Start
			}
		}
	}
	v.state = StateOK
	if breaching >= r.m {
		v.state = StateAlarm
	} else {
		v.firstBreach = time.Time{}
	}
	return v
}

// undecided handles treat_missing_data missing and ignore with fewer than N real
// datapoints, reproducing every row of the guide's two example tables:
//   - no real datapoint: missing goes to INSUFFICIENT_DATA, ignore keeps the state;
//   - at least M real breaching datapoints: ALARM;
//   - a real datapoint that does not breach: OK ("0 - - - -", "0 - X - -", "- - - - 0");
//   - only breaching ones, fewer than M: missing goes to ALARM when the oldest
//     evaluated datapoint is real ("X - - - -": "the oldest evaluated data point is
//     breaching and there aren't any non-breaching data points") and to
//     INSUFFICIENT_DATA otherwise ("- - - - X"); ignore keeps the state.
func (r *rule) undecided(v verdict, real int, prev State) verdict {
	if real > 0 {
		decided := r.count(v)
		nonBreaching := 0
		for _, p := range v.evaluated {
			if !p.Missing && !p.Breaching {
				nonBreaching++
			}
		}
		switch {
		case decided.state == StateAlarm || nonBreaching > 0:
			return decided
		case r.missing == manifest.MissingDataMissing && !v.evaluated[0].Missing:
			decided.state = StateAlarm
			decided.firstBreach = v.evaluated[0].Start
			return decided
		}
	}
	if r.missing == manifest.MissingDataIgnore {
		v.retained = true
		v.state = prev
		if v.state == "" {
			v.state = StateInsufficientData
		}
		return v
	}
	v.state = StateInsufficientData
	return v
}

// mergeByTime merges two lists of points, each in time order, into one.
func mergeByTime(a, b []*point) []*point {
	out := make([]*point, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Start.Before(b[0].Start) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
