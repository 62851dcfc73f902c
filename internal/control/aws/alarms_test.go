package aws_test

import (
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/awsfake"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// TestAlarmsWithStateReasonAndDatapoints: CloudWatch (Smithy RPC v2 CBOR) gives
// each alarm's state and reason, and its metric over the evaluation periods.
func TestAlarmsWithStateReasonAndDatapoints(t *testing.T) {
	srv := awsfake.New(t)
	changed := time.Date(2026, 12, 5, 10, 3, 0, 0, time.UTC)
	srv.Answer(opDescribeAlarms, map[string]any{"MetricAlarms": []any{
		map[string]any{"AlarmName": "orders-p99-latency", "StateValue": "ALARM", "StateUpdatedTimestamp": awsfake.Time(changed),
			"StateReason": "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (0.5).",
			"Namespace":   "AWS/ApplicationELB", "MetricName": "TargetResponseTime", "ExtendedStatistic": "p99", "Period": 60,
			"EvaluationPeriods": 3, "Threshold": 0.5, "ComparisonOperator": "GreaterThanThreshold",
			"Dimensions": []any{map[string]any{"Name": "LoadBalancer", "Value": "app/orders/0123456789abcdef"}}},
		map[string]any{"AlarmName": "orders-error-rate", "StateValue": "OK", "StateReason": "Threshold Crossed: no datapoints were breaching",
			"StateUpdatedTimestamp": awsfake.Time(changed), "EvaluationPeriods": 3, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
			"Metrics": []any{
				map[string]any{"Id": "errors", "ReturnData": false, "MetricStat": map[string]any{"Period": 60, "Stat": "Sum",
					"Metric": map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"}}},
				map[string]any{"Id": "requests", "ReturnData": false, "MetricStat": map[string]any{"Period": 60, "Stat": "Sum",
					"Metric": map[string]any{"Namespace": "AWS/ApplicationELB", "MetricName": "RequestCount"}}},
				map[string]any{"Id": "rate", "Expression": "100 * errors / requests", "ReturnData": true},
			}},
	}})
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	srv.Handle(opGetMetricData, func(in map[string]any) (any, error) {
		q := in["MetricDataQueries"].([]any)
		id := q[len(q)-1].(map[string]any)["Id"]
		return map[string]any{"MetricDataResults": []any{map[string]any{"Id": id, "StatusCode": "Complete",
			"Timestamps": []any{awsfake.Time(t0), awsfake.Time(t0.Add(time.Minute)), awsfake.Time(t0.Add(2 * time.Minute))},
			"Values":     []any{0.25, 0.75, 1.5}}}}, nil
	})
	as, err := newBackend(srv, production).Alarms(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 {
		t.Fatalf("alarms %s", mustJSON(as))
	}
	p99 := as[0]
	if p99.Alarm != "orders-p99-latency" || p99.State != "ALARM" || p99.Group != "orders-service/production" || p99.Service != production.Service ||
		len(p99.Datapoints) != 3 || p99.Datapoints[0].Breaching || !p99.Datapoints[1].Breaching || p99.Datapoints[2].Value != 1.5 ||
		!p99.Datapoints[0].Start.Equal(t0) || p99.Reason == "" {
		t.Fatalf("p99 alarm %s", mustJSON(p99))
	}
	if as[1].State != control.AlarmState("OK") || len(as[1].Datapoints) != 3 || as[1].Datapoints[2].Breaching {
		t.Fatalf("error rate alarm %s", mustJSON(as[1]))
	}
	calls := srv.Calls(opGetMetricData)
	if len(calls) != 2 {
		t.Fatalf("GetMetricData called %d times", len(calls))
	}
	stat := calls[0].Input["MetricDataQueries"].([]any)[0].(map[string]any)["MetricStat"].(map[string]any)
	metric := stat["Metric"].(map[string]any)
	if stat["Stat"] != "p99" || stat["Period"] != 60.0 || metric["MetricName"] != "TargetResponseTime" || metric["Namespace"] != "AWS/ApplicationELB" {
		t.Errorf("GetMetricData of the p99 alarm: %s", mustJSON(calls[0].Input))
	}
	if q := calls[1].Input["MetricDataQueries"].([]any); len(q) != 3 || q[2].(map[string]any)["Expression"] != "100 * errors / requests" {
		t.Errorf("GetMetricData of the error rate: %s", mustJSON(calls[1].Input))
	}
	desc := srv.Calls(opDescribeAlarms)[0].Input
	if names := desc["AlarmNames"].([]any); len(names) != 2 || names[0] != "orders-error-rate" {
		t.Errorf("DescribeAlarms %s", mustJSON(desc))
	}
}
