package manifest

import (
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/alarm/expr"
)

// AlarmMetricNames are the ALB metrics an alarm may watch.
var AlarmMetricNames = []string{MetricRequestCount, MetricTarget5XX, MetricTarget4XX, MetricTarget2XX, MetricELB5XX, MetricTargetRespTime}

// AlarmStatistics are CloudWatch's statistics; percentiles are written pNN or pNN.N.
var AlarmStatistics = []string{"Sum", "Average", "Minimum", "Maximum", "SampleCount"}

var (
	comparisonOperators = []string{GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold}
	missingDataModes    = []string{MissingDataMissing, MissingDataNotBreaching, MissingDataBreaching, MissingDataIgnore}
	metricQueryID       = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	percentile          = regexp.MustCompile(`^p([0-9]{1,2}(\.[0-9]+)?)$`)
)

// maxAlarmWindow is CloudWatch's limit on evaluation_periods x period: one day.
const maxAlarmWindow = 24 * 60 * 60

// ParsePercentile returns NN of a "pNN" or "pNN.N" statistic (0 < NN < 100).
func ParsePercentile(stat string) (float64, bool) {
	m := percentile.FindStringSubmatch(stat)
	if m == nil {
		return 0, false
	}
	p, err := strconv.ParseFloat(m[1], 64)
	return p, err == nil && p > 0 && p < 100
}

func (d *decoder) alarms(n *node) map[string]*Alarm {
	out := map[string]*Alarm{}
	d.mapOf(n, "alarms", func(name string, keyPos Pos, v *node) {
		out[name] = d.alarm(name, keyPos, v)
	})
	return out
}

func (d *decoder) alarm(name string, keyPos Pos, n *node) *Alarm {
	a := &Alarm{Name: name, Pos: keyPos, TreatMissingData: MissingDataMissing}
	var queries []*queryNode
	d.object(n, "alarm "+quote(name), a,
		opt("description", func(v *node) { a.Description, _ = d.str(v, "description") }),
		opt("metric_name", func(v *node) { a.MetricName, _ = d.enum(v, "metric_name", AlarmMetricNames...) }),
		opt("statistic", func(v *node) { a.Statistic, _ = d.enum(v, "statistic", AlarmStatistics...) }),
		opt("extended_statistic", func(v *node) { a.ExtendedStatistic, _ = d.percentile(v, "extended_statistic") }),
		opt("metric_queries", func(v *node) {
			d.list(v, "metric_queries", func(_ int, item *node) {
				q := d.metricQuery(item)
				a.MetricQueries = append(a.MetricQueries, q.query)
				queries = append(queries, q)
			})
		}),
		req("period", func(v *node) { a.Period, _ = d.period(v) }),
		req("evaluation_periods", func(v *node) { a.EvaluationPeriods, _ = d.intIn(v, "evaluation_periods", 1, maxAlarmWindow) }),
		opt("datapoints_to_alarm", func(v *node) { a.DatapointsToAlarm, _ = d.intIn(v, "datapoints_to_alarm", 1, maxAlarmWindow) }),
		req("threshold", func(v *node) { a.Threshold, _ = d.number(v, "threshold") }),
		req("comparison_operator", func(v *node) {
			a.ComparisonOperator, _ = d.enum(v, "comparison_operator", comparisonOperators...)
		}),
		opt("treat_missing_data", func(v *node) { a.TreatMissingData, _ = d.enum(v, "treat_missing_data", missingDataModes...) }),
	)
	if n.kind != kindMap {
		return a
	}
	d.checkAlarmShape(a, n)
	d.checkAlarmWindow(a)
	if len(queries) > 0 {
		d.checkMetricQueries(a, n.get("metric_queries"), queries)
	}
	return a
}

// checkAlarmShape: a single metric with one statistic, or metric math.
func (d *decoder) checkAlarmShape(a *Alarm, n *node) {
	single := n.get("metric_name") != nil
	math := n.get("metric_queries") != nil
	hasStat, hasExt := n.get("statistic") != nil, n.get("extended_statistic") != nil
	switch {
	case single && math:
		d.errorf(d.at(a, "metric_queries", a.Pos), "metric_queries: an alarm watches either metric_name or metric_queries, not both")
	case !single && !math:
		d.errorf(a.Pos, "alarm %q: set metric_name (with statistic or extended_statistic) or metric_queries", a.Name)
	case single && hasStat && hasExt:
		d.errorf(d.at(a, "extended_statistic", a.Pos), "extended_statistic: set statistic or extended_statistic, not both")
	case single && !hasStat && !hasExt:
		d.errorf(d.at(a, "metric_name", a.Pos), "metric_name: needs a statistic (allowed: %s) or an extended_statistic (a percentile like p99)", strings.Join(AlarmStatistics, ", "))
	case math && (hasStat || hasExt):
		key := map[bool]string{true: "statistic", false: "extended_statistic"}[hasStat]
		d.errorf(d.at(a, key, a.Pos), "%s: not used with metric_queries (each query has its own stat)", key)
	}
}

func (d *decoder) checkAlarmWindow(a *Alarm) {
	if a.DatapointsToAlarm == 0 {
		a.DatapointsToAlarm = a.EvaluationPeriods
	}
	if a.EvaluationPeriods > 0 && a.DatapointsToAlarm > a.EvaluationPeriods {
		d.errorf(d.at(a, "datapoints_to_alarm", a.Pos), "datapoints_to_alarm: %d is greater than evaluation_periods (%d)", a.DatapointsToAlarm, a.EvaluationPeriods)
	}
	if a.Period > 0 && a.EvaluationPeriods > 0 && a.Period*a.EvaluationPeriods > maxAlarmWindow {
		d.errorf(d.at(a, "evaluation_periods", a.Pos), "evaluation_periods: %d periods of %ds exceed one day, CloudWatch's limit", a.EvaluationPeriods, a.Period)
	}
}

// period decodes a whole number of seconds, 1 or more; a duration string like
// "10s" is accepted too.
func (d *decoder) period(n *node) (int, bool) {
	var secs float64
	switch n.kind {
	case kindInt, kindFloat:
		secs = n.f
	case kindString:
		v, err := time.ParseDuration(strings.TrimSpace(n.text))
		if err != nil {
			d.errorf(n.pos, "period: expected a whole number of seconds, got %s", describe(n, d.json))
			return 0, false
		}
		secs = v.Seconds()
	default:
		d.errorf(n.pos, "period: expected a whole number of seconds, got %s", describe(n, d.json))
		return 0, false
	}
	switch {
	case math.IsNaN(secs) || secs < 1:
		d.errorf(n.pos, "period: %s is below one second; periods are whole seconds, 1 or more", n.text)
	case secs != math.Trunc(secs):
		d.errorf(n.pos, "period: %s is not a whole number of seconds", n.text)
	case secs > maxAlarmWindow:
		d.errorf(n.pos, "period: %s is longer than one day", n.text)
	default:
		return int(secs), true
	}
	return 0, false
}

func (d *decoder) percentile(n *node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if _, ok := ParsePercentile(s); !ok {
		d.errorf(n.pos, "%s: invalid percentile %q (write pNN or pNN.N with 0 < NN < 100, like p99 or p99.9)", what, clip(s))
		return s, false
	}
	return s, true
}

// stat decodes a metric query's stat: a statistic or a percentile.
func (d *decoder) stat(n *node) (string, bool) {
	s, ok := d.str(n, "stat")
	if !ok {
		return "", false
	}
	if slices.Contains(AlarmStatistics, s) {
		return s, true
	}
	if _, ok := ParsePercentile(s); ok {
		return s, true
	}
	d.errorf(n.pos, "stat: unknown %q (allowed: %s, or a percentile like p99 or p99.9)", clip(s), strings.Join(AlarmStatistics, ", "))
	return s, false
}

// queryNode is a decoded metric query with the nodes later checks point into.
type queryNode struct {
	query *MetricQuery
	n     *node
	expr  *node
}

func (d *decoder) metricQuery(n *node) *queryNode {
	q := &queryNode{query: &MetricQuery{Pos: n.pos}, n: n}
	mq := q.query
	d.object(n, "metric query", mq,
		req("id", func(v *node) {
			if s, ok := d.name(v, "id"); ok {
				if !metricQueryID.MatchString(s) {
					d.errorf(v.pos, "id: %q must start with a lowercase letter, then letters, digits or _", clip(s))
				}
				mq.ID = s
			}
		}),
		opt("metric_name", func(v *node) { mq.MetricName, _ = d.enum(v, "metric_name", AlarmMetricNames...) }),
		opt("stat", func(v *node) { mq.Stat, _ = d.stat(v) }),
		opt("expression", func(v *node) { mq.Expression, _ = d.name(v, "expression"); q.expr = v }),
		opt("label", func(v *node) { mq.Label, _ = d.str(v, "label") }),
		opt("return_data", func(v *node) { mq.ReturnData, _ = d.boolean(v, "return_data") }),
	)
	if n.kind != kindMap {
		return q
	}
	hasMetric, hasStat, hasExpr := n.get("metric_name") != nil, n.get("stat") != nil, n.get("expression") != nil
	switch {
	case hasExpr && (hasMetric || hasStat):
		d.errorf(d.at(mq, "expression", n.pos), "expression: a query has either an expression or metric_name with stat, not both")
	case hasMetric && !hasStat:
		d.errorf(d.at(mq, "metric_name", n.pos), "metric_name: needs a stat (allowed: %s, or a percentile like p99)", strings.Join(AlarmStatistics, ", "))
	case hasStat && !hasMetric:
		d.errorf(d.at(mq, "stat", n.pos), "stat: needs a metric_name (allowed: %s)", strings.Join(AlarmMetricNames, ", "))
	case !hasExpr && !hasMetric:
		d.errorf(n.pos, "metric query: set metric_name with stat, or expression")
	}
	return q
}

func (d *decoder) checkMetricQueries(a *Alarm, list *node, queries []*queryNode) {
	ids := map[string]*queryNode{}
	var returning []*queryNode
	for _, q := range queries {
		id := q.query.ID
		if prev, ok := ids[id]; ok && id != "" {
			d.errorf(d.at(q.query, "id", q.n.pos), "id: %q is already used (line %d)", id, d.at(prev.query, "id", prev.n.pos).Line)
		} else if id != "" {
			ids[id] = q
		}
		if q.query.ReturnData {
			returning = append(returning, q)
		}
	}
	switch {
	case len(returning) == 0:
		d.errorf(list.pos, "metric_queries: exactly one query must have return_data: true (the alarm's value); none has")
	case len(returning) > 1:
		d.errorf(d.at(returning[1].query, "return_data", returning[1].n.pos), "return_data: only one query may return data; %q already does", returning[0].query.ID)
	}
	refs := map[string][]string{}
	for _, q := range queries {
		if q.expr != nil && q.query.Expression != "" {
			refs[q.query.ID] = d.checkExpression(q, ids)
		}
	}
	d.checkExpressionCycles(queries, refs)
}

// checkExpression parses a metric math expression and checks that it reads only
// ids of the same alarm; it returns the ids it reads.
func (d *decoder) checkExpression(q *queryNode, ids map[string]*queryNode) []string {
	tree, err := expr.Parse(q.query.Expression)
	var syntax *expr.SyntaxError
	switch {
	case errors.As(err, &syntax):
		d.errorf(posIn(q.expr, syntax.Offset), "expression: %s", syntax.Msg)
		return nil
	case err != nil:
		d.errorf(q.expr.pos, "expression: %v", err)
		return nil
	}
	var known []string
	for id := range ids {
		if id != q.query.ID {
			known = append(known, id)
		}
	}
	slices.Sort(known)
	refs := tree.Refs()
	for _, ref := range refs {
		if _, ok := ids[ref]; !ok {
			at := indexIdent(q.query.Expression, ref)
			d.errorf(posIn(q.expr, at), "expression: unknown metric id %q (allowed: %s)", ref, allowedNames(known, "none"))
		}
	}
	return refs
}

// checkExpressionCycles rejects expressions that read themselves, directly or
// not, reporting each cycle once.
func (d *decoder) checkExpressionCycles(queries []*queryNode, refs map[string][]string) {
	reported := map[string]bool{}
	for _, q := range queries {
		if q.expr == nil || reported[q.query.ID] {
			continue
		}
		path := findCycle(q.query.ID, refs)
		if path == nil {
			continue
		}
		for _, id := range path {
			reported[id] = true
		}
		d.errorf(q.expr.pos, "expression: %q depends on itself (%s)", q.query.ID, strings.Join(path, " -> "))
	}
}

// findCycle returns a path from start back to start through refs, or nil.
func findCycle(start string, refs map[string][]string) []string {
	seen := map[string]bool{}
	var walk func(id string, path []string) []string
	walk = func(id string, path []string) []string {
		for _, next := range refs[id] {
			if next == start {
				return append(path, next)
			}
			if !seen[next] {
				seen[next] = true
				if found := walk(next, append(path, next)); found != nil {
					return found
				}
			}
		}
		return nil
	}
	return walk(start, []string{start})
}

// indexIdent finds id in an expression as a whole identifier, not inside another.
func indexIdent(s, id string) int {
	isIdent := func(b byte) bool {
		return b == '_' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
	}
	for off := 0; off < len(s); {
		i := strings.Index(s[off:], id)
		if i < 0 {
			return -1
		}
		i += off
		end := i + len(id)
		if (i == 0 || !isIdent(s[i-1])) && (end == len(s) || !isIdent(s[end])) {
			return i
		}
		off = i + 1
	}
	return -1
}
