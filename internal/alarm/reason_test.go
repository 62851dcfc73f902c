package alarm

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

func TestReasons(t *testing.T) {
	tests := []struct {
		points  string
		n, m    int
		missing string
		want    string
	}{
		{"0 0 X X X", 3, 2, manifest.MissingDataMissing,
			"Threshold Crossed: 3 out of the last 3 datapoints [10.0 (27/11/26 01:02:04), 10.0 (27/11/26 01:02:03), 10.0 (27/11/26 01:02:02)] were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."},
		{"0 0 X 0 0", 3, 2, manifest.MissingDataMissing,
			"Threshold Crossed: 2 out of the last 3 datapoints [0.0 (27/11/26 01:02:04), 0.0 (27/11/26 01:02:03)] were not greater than the threshold (5.0) (minimum 2 datapoints for ALARM -> OK transition)."},
		{"0 0 X", 1, 1, manifest.MissingDataMissing,
			"Threshold Crossed: 1 datapoint [10.0 (27/11/26 01:02:02)] was greater than the threshold (5.0)."},
		{"X X 0", 1, 1, manifest.MissingDataMissing,
			"Threshold Crossed: 1 datapoint [0.0 (27/11/26 01:02:02)] was not greater than the threshold (5.0)."},
		{"- - - - -", 3, 3, manifest.MissingDataBreaching,
			"Threshold Crossed: no datapoints were received for 3 periods and 3 missing datapoints were treated as [Breaching]."},
		{"- - -", 1, 1, manifest.MissingDataNotBreaching,
			"Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [NonBreaching]."},
		{"- - - - -", 3, 3, manifest.MissingDataMissing, "Insufficient Data: 3 datapoints were unknown."},
		{"- - - - X", 3, 3, manifest.MissingDataMissing, "Insufficient Data: 2 datapoints were unknown."},
		{"- - - - X", 3, 3, manifest.MissingDataBreaching,
			"Threshold Crossed: 1 out of the last 3 datapoints [10.0 (27/11/26 01:02:04)] was greater than the threshold (5.0) and 2 missing datapoints were treated as [Breaching] (minimum 3 datapoints for OK -> ALARM transition)."},
		{"X - - - -", 3, 3, manifest.MissingDataMissing,
			"Threshold Crossed: 1 out of the last 3 datapoints [10.0 (27/11/26 01:02:00)] was greater than the threshold (5.0) and 2 datapoints were unknown (minimum 3 datapoints for OK -> ALARM transition)."},
		{"0 - - - -", 3, 3, manifest.MissingDataIgnore,
			"Threshold Crossed: 1 out of the last 3 datapoints [0.0 (27/11/26 01:02:00)] was not greater than the threshold (5.0) and 2 datapoints were unknown (minimum 1 datapoint for ALARM -> OK transition)."},
		{"- - - - X", 3, 3, manifest.MissingDataIgnore,
			"Unchanged: 2 datapoints were unknown and treat_missing_data is ignore, so the alarm keeps its state."},
	}
	for _, tc := range tests {
		slots := patternSlots(t, tc.points, t0)
		ev := Evaluate(errorAlarm(tc.n, tc.m, tc.missing), slots, t0.Add(time.Duration(len(slots))*100*time.Millisecond), StateOK)
		if ev.Reason != tc.want {
			t.Errorf("%q %d of %d %s:\n got %s\nwant %s", tc.points, tc.m, tc.n, tc.missing, ev.Reason, tc.want)
		}
	}
}

func TestReasonData(t *testing.T) {
	slots := patternSlots(t, "0 0 X X X", t0)
	ev := Evaluate(errorAlarm(3, 2, ""), slots, t0.Add(5*time.Second+30*time.Millisecond), StateOK)
	want := `{"version":"1.0","queryDate":"2026-11-27T01:02:05.000+0000","startDate":"2026-11-27T01:02:02.000+0000",` +
		`"statistic":"Sum","period":1,"recentDatapoints":[0.0,0.0,10.0,10.0,10.0],"threshold":5.0,"evaluatedDatapoints":[` +
		`{"timestamp":"2026-11-27T01:02:04.000+0000","sampleCount":10.0,"value":10.0},` +
		`{"timestamp":"2026-11-27T01:02:03.000+0000","sampleCount":10.0,"value":10.0},` +
		`{"timestamp":"2026-11-27T01:02:02.000+0000","sampleCount":10.0,"value":10.0}]}`
	if string(ev.ReasonData) != want {
		t.Errorf("ReasonData\n%s\nwant\n%s", ev.ReasonData, want)
	}

	// A percentile names extendedStatistic; missing datapoints carry only a timestamp.
	a := &manifest.Alarm{Name: "p99", MetricName: manifest.MetricTargetRespTime, ExtendedStatistic: "p99", Period: 1,
		EvaluationPeriods: 3, Threshold: 0.5, ComparisonOperator: manifest.GreaterThanThreshold, TreatMissingData: manifest.MissingDataBreaching}
	ev = Evaluate(a, patternSlots(t, "- - - - 0", t0), t0.Add(5*time.Second), StateOK)
	var got struct {
		ExtendedStatistic   string            `json:"extendedStatistic"`
		Statistic           *string           `json:"statistic"`
		EvaluatedDatapoints []json.RawMessage `json:"evaluatedDatapoints"`
	}
	if err := json.Unmarshal(ev.ReasonData, &got); err != nil {
		t.Fatal(err)
	}
	wantPoints := []string{
		`{"timestamp":"2026-11-27T01:02:04.000+0000","sampleCount":10.0,"value":0.01}`,
		`{"timestamp":"2026-11-27T01:02:03.000+0000"}`,
		`{"timestamp":"2026-11-27T01:02:02.000+0000"}`,
	}
	var gotPoints []string
	for _, p := range got.EvaluatedDatapoints {
		gotPoints = append(gotPoints, string(p))
	}
	if got.ExtendedStatistic != "p99" || got.Statistic != nil || !reflect.DeepEqual(gotPoints, wantPoints) {
		t.Errorf("ReasonData = %s", ev.ReasonData)
	}
}

func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.0", 5: "5.0", 12.5: "12.5", 8.1: "8.1", -3: "-3.0", 0.001: "0.001", 9999999: "9999999.0",
		1e7: "1.0E7", 1.5e10: "1.5E10", 1.234e-4: "1.234E-4", -2e-5: "-2.0E-5", 0.25: "0.25",
	} {
		if got := javaDouble(v); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", v, got, want)
		}
	}
}

func TestReasonTime(t *testing.T) {
	if got := reasonTime(time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)); got != "27/11/26 01:02:03" {
		t.Errorf("whole second: %s", got)
	}
	if got := reasonTime(time.Date(2026, 11, 27, 1, 2, 3, 400e6, time.UTC)); got != "27/11/26 01:02:03.4" {
		t.Errorf("period on a slot boundary: %s", got)
	}
}
