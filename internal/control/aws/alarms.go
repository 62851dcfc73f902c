package aws

import (
	"context"
	"slices"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/greenlight-ci/greenlight/internal/control"
)

// roleLoadBalancer is what an AWS alarm watches: the load balancer's metrics,
// both target groups (greenlight watches the replacement's only).
const roleLoadBalancer = "load balancer"

// Alarms reads the groups' alarms (DescribeAlarms: state and reason) and their
// datapoints over the evaluation range (GetMetricData, one call per alarm).
func (b *Backend) Alarms(ctx context.Context) ([]control.AlarmStatus, error) {
	var names []string
	for _, g := range b.opts.Groups {
		for _, a := range g.Alarms {
			if !slices.Contains(names, a) {
				names = append(names, a)
			}
		}
	}
	out := []control.AlarmStatus{}
	if len(names) == 0 {
		return out, nil
	}
	got, err := b.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names, AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm}})
	if err != nil {
		return nil, explain("describe alarms", err)
	}
	for _, a := range got.MetricAlarms {
		points, err := b.datapoints(ctx, a)
		if err != nil {
			return nil, err
		}
		for _, g := range b.opts.Groups {
			if slices.Contains(g.Alarms, sdkaws.ToString(a.AlarmName)) {
				out = append(out, control.AlarmStatus{Alarm: sdkaws.ToString(a.AlarmName), Group: g.Ref(), Service: g.Service, Role: roleLoadBalancer,
					State: control.AlarmState(a.StateValue), Reason: sdkaws.ToString(a.StateReason), Datapoints: points})
			}
		}
	}
	return out, nil
}

// datapoints reads an alarm's metric (or metric math) over its evaluation
// periods, oldest first, each marked when it breaches the threshold.
func (b *Backend) datapoints(ctx context.Context, a cwtypes.MetricAlarm) ([]control.Datapoint, error) {
	period := time.Duration(sdkaws.ToInt32(a.Period)) * time.Second
	queries := a.Metrics
	if a.MetricName != nil {
		stat := sdkaws.ToString(a.ExtendedStatistic)
		if stat == "" {
			stat = string(a.Statistic)
		}
		queries = []cwtypes.MetricDataQuery{{Id: sdkaws.String("m"), ReturnData: sdkaws.Bool(true), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: a.Namespace, MetricName: a.MetricName, Dimensions: a.Dimensions}, Period: a.Period, Stat: &stat,
		}}}
	} else if len(queries) > 0 && queries[0].MetricStat != nil {
		period = time.Duration(sdkaws.ToInt32(queries[0].MetricStat.Period)) * time.Second
	}
	if len(queries) == 0 || period <= 0 {
		return nil, nil
	}
	evaluations := int(sdkaws.ToInt32(a.EvaluationPeriods))
	end := b.opts.Now().Truncate(period)
	out, err := b.cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{MetricDataQueries: queries,
		StartTime: sdkaws.Time(end.Add(-period * time.Duration(evaluations))), EndTime: sdkaws.Time(end), ScanBy: cwtypes.ScanByTimestampAscending})
	if err != nil {
		return nil, explain("read the datapoints of alarm "+sdkaws.ToString(a.AlarmName), err)
	}
	return breaching(returned(queries, out.MetricDataResults), a), nil
}

// returned is the result of the query the alarm evaluates (ReturnData).
func returned(queries []cwtypes.MetricDataQuery, results []cwtypes.MetricDataResult) *cwtypes.MetricDataResult {
	id := ""
	for _, q := range queries {
		if q.ReturnData == nil || *q.ReturnData {
			id = sdkaws.ToString(q.Id)
		}
	}
	for i := range results {
		if sdkaws.ToString(results[i].Id) == id {
			return &results[i]
		}
	}
	return nil
}

func breaching(r *cwtypes.MetricDataResult, a cwtypes.MetricAlarm) []control.Datapoint {
	if r == nil {
		return nil
	}
	var out []control.Datapoint
	for i, ts := range r.Timestamps {
		if i >= len(r.Values) {
			break
		}
		v := r.Values[i]
		out = append(out, control.Datapoint{Start: ts, Value: v, Breaching: crosses(v, sdkaws.ToFloat64(a.Threshold), a.ComparisonOperator)})
	}
	slices.SortFunc(out, func(x, y control.Datapoint) int { return x.Start.Compare(y.Start) })
	return out
}

func crosses(v, threshold float64, op cwtypes.ComparisonOperator) bool {
	switch op {
	case cwtypes.ComparisonOperatorGreaterThanThreshold:
		return v > threshold
	case cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold:
		return v >= threshold
	case cwtypes.ComparisonOperatorLessThanThreshold:
		return v < threshold
	case cwtypes.ComparisonOperatorLessThanOrEqualToThreshold:
		return v <= threshold
	}
	return false
}
