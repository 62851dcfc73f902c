package alarm

import (
	"errors"
	"fmt"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm/expr"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// rule is an alarm compiled for evaluation: defaults applied, statistic and
// expressions parsed once.
type rule struct {
	alarm     *manifest.Alarm
	period    time.Duration
	n, m      int // evaluation_periods, datapoints_to_alarm
	missing   string
	compare   comparison
	buckets   bool // some statistic needs the latency buckets
	single    *statistic
	queries   map[string]*query
	returnID  string
	configErr error // a rule that cannot be evaluated stays INSUFFICIENT_DATA with this reason
}

// query is one line of metric math: a metric statistic or an expression.
type query struct {
	stat *statistic
	expr expr.Node
}

func compile(a *manifest.Alarm) *rule {
	r := &rule{alarm: a, n: a.EvaluationPeriods, m: a.DatapointsToAlarm, missing: a.TreatMissingData}
	if r.n == 0 {
		r.n = 1
	}
	if r.m == 0 {
		r.m = r.n
	}
	if r.missing == "" {
		r.missing = manifest.MissingDataMissing
	}
	r.period = time.Duration(a.Period) * time.Second
	r.configErr = r.check()
	if r.configErr == nil {
		r.configErr = r.compileMetric()
	}
	return r
}

func (r *rule) check() error {
	var err error
	r.compare, err = parseComparison(r.alarm.ComparisonOperator)
	switch {
	case err != nil:
		return err
	case r.alarm.Period < 1:
		return fmt.Errorf("period %d: must be 1 second or more", r.alarm.Period)
	case r.n < 1 || r.m < 1 || r.m > r.n:
		return fmt.Errorf("datapoints_to_alarm %d must be between 1 and evaluation_periods %d", r.m, r.n)
	}
	switch r.missing {
	case manifest.MissingDataMissing, manifest.MissingDataIgnore, manifest.MissingDataBreaching, manifest.MissingDataNotBreaching:
		return nil
	}
	return fmt.Errorf("treat_missing_data %q is not one of missing, notBreaching, breaching, ignore", r.missing)
}

func (r *rule) compileMetric() error {
	a := r.alarm
	if len(a.MetricQueries) == 0 {
		stat := a.Statistic
		if stat == "" {
			stat = a.ExtendedStatistic
		}
		s, err := parseStatistic(a.MetricName, stat)
		if err != nil {
			return err
		}
		r.single, r.buckets = &s, s.needsBuckets()
		return nil
	}
	r.queries = make(map[string]*query, len(a.MetricQueries))
	for _, mq := range a.MetricQueries {
		q, err := r.compileQuery(mq)
		if err != nil {
			return fmt.Errorf("metric query %s: %w", mq.ID, err)
		}
		r.queries[mq.ID] = q
		if mq.ReturnData {
			r.returnID = mq.ID
		}
	}
	if r.returnID == "" {
		return errors.New("no metric query has return_data")
	}
	return nil
}

func (r *rule) compileQuery(mq *manifest.MetricQuery) (*query, error) {
	if mq.Expression != "" {
		n, err := expr.Parse(mq.Expression)
		if err != nil {
			return nil, fmt.Errorf("expression: %w", err)
		}
		return &query{expr: n}, nil
	}
	s, err := parseStatistic(mq.MetricName, mq.Stat)
	if err != nil {
		return nil, err
	}
	r.buckets = r.buckets || s.needsBuckets()
	return &query{stat: &s}, nil
}

// value is the alarm's datapoint for one period: the statistic, or the return_data
// query of metric math evaluated on that period's values. A query that is not a
// finite number has no datapoint, as CloudWatch drops it. samples is the sample
// count of a single-metric alarm (CloudWatch's evaluatedDatapoints.sampleCount).
func (r *rule) value(p *period) (v, samples float64, ok bool) {
	if r.single != nil {
		return r.single.value(p)
	}
	resolving := map[string]bool{}
	var lookup func(id string) (float64, bool)
	lookup = func(id string) (float64, bool) {
		q, found := r.queries[id]
		if !found || resolving[id] { // unknown id or a cycle: no value
			return 0, false
		}
		if q.stat != nil {
			v, _, ok := q.stat.value(p)
			return v, ok
		}
		resolving[id] = true
		defer delete(resolving, id)
		return q.expr.Eval(lookup)
	}
	v, ok = lookup(r.returnID)
	return v, 0, ok
}

// statisticLabel names the statistic in StateReasonData; metric math has none.
func (r *rule) statisticLabel() (key, name string) {
	switch {
	case r.single == nil:
		return "", ""
	case r.single.percentile >= 0:
		return "extendedStatistic", r.single.name
	default:
		return "statistic", r.single.name
	}
}

// comparison is a CloudWatch comparison operator.
type comparison struct {
	breaches func(v, threshold float64) bool
	words    string // "greater than"
}

func parseComparison(op string) (comparison, error) {
	switch op {
	case manifest.GreaterThanOrEqualToThreshold:
		return comparison{func(v, t float64) bool { return v >= t }, "greater than or equal to"}, nil
	case manifest.GreaterThanThreshold:
		return comparison{func(v, t float64) bool { return v > t }, "greater than"}, nil
	case manifest.LessThanThreshold:
		return comparison{func(v, t float64) bool { return v < t }, "less than"}, nil
	case manifest.LessThanOrEqualToThreshold:
		return comparison{func(v, t float64) bool { return v <= t }, "less than or equal to"}, nil
	}
	return comparison{}, fmt.Errorf("comparison_operator %q is not one of %s, %s, %s, %s", op,
		manifest.GreaterThanOrEqualToThreshold, manifest.GreaterThanThreshold,
		manifest.LessThanThreshold, manifest.LessThanOrEqualToThreshold)
}
