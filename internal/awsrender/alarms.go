package awsrender

import (
	"fmt"
	"maps"
	"slices"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// albPeriod is the period CloudWatch evaluates ALB metrics at: the load balancer
// publishes them once a minute (10 and 30 s periods exist only for
// high-resolution custom metrics).
const albPeriod = 60

// alarms renders each alarm on the load balancer's metrics (namespace
// AWS/ApplicationELB), periods rounded up to whole minutes.
func (r *renderer) alarms() map[string]Alarm {
	out := map[string]Alarm{}
	for _, name := range slices.Sorted(maps.Keys(r.def.Alarms)) {
		a := r.def.Alarms[name]
		out[name] = Alarm{
			Description:        a.Description,
			MetricName:         optional(a.MetricName),
			Statistic:          optional(a.Statistic),
			ExtendedStatistic:  optional(a.ExtendedStatistic),
			MetricQueries:      metricQueries(a.MetricQueries),
			Period:             r.alarmPeriod(a),
			EvaluationPeriods:  a.EvaluationPeriods,
			DatapointsToAlarm:  a.DatapointsToAlarm,
			Threshold:          a.Threshold,
			ComparisonOperator: a.ComparisonOperator,
			TreatMissingData:   a.TreatMissingData,
		}
		r.findings.add(a.Pos, "alarms."+name, Changed,
			"greenlight evaluates it on the replacement's target group only; CloudWatch evaluates it on the production listener's load balancer, both target groups")
	}
	return out
}

func (r *renderer) alarmPeriod(a *manifest.Alarm) int {
	if a.Period%albPeriod == 0 {
		return a.Period
	}
	p := (a.Period/albPeriod + 1) * albPeriod
	r.findings.add(a.Pos, "alarms."+a.Name+".period", Changed,
		"%d s: ALB metrics reach CloudWatch once a minute (10 and 30 s periods are for high-resolution custom metrics only); rendered as %d s, so %d periods span %d s instead of %d s",
		a.Period, p, a.EvaluationPeriods, p*a.EvaluationPeriods, a.Period*a.EvaluationPeriods)
	return p
}

func metricQueries(qs []*manifest.MetricQuery) []MetricQuery {
	out := []MetricQuery{}
	for _, q := range qs {
		out = append(out, MetricQuery{
			ID: q.ID, MetricName: optional(q.MetricName), Stat: optional(q.Stat),
			Expression: optional(q.Expression), Label: optional(q.Label), ReturnData: q.ReturnData,
		})
	}
	return out
}

// optional is nil for "", so that Terraform sees null rather than an empty string.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// secrets: the local sources of secrets-manager and parameter-store ids are local
// only; on AWS CodeBuild reads the real secret or parameter of that id.
func (r *renderer) secrets() {
	if r.def.Secrets == nil {
		return
	}
	for kind, sources := range map[string]map[string]*manifest.SecretSource{
		"secrets_manager": r.def.Secrets.SecretsManager, "parameter_store": r.def.Secrets.ParameterStore,
	} {
		for _, id := range slices.Sorted(maps.Keys(sources)) {
			r.findings.add(sources[id].Pos, fmt.Sprintf("secrets.%s.%s", kind, id), LocalOnly,
				"a local source; on AWS CodeBuild reads %q from %s, which must exist there", id, map[string]string{"secrets_manager": "Secrets Manager", "parameter_store": "Parameter Store"}[kind])
		}
	}
}
