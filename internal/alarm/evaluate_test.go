package alarm

import (
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/metrics"
)

// t0 is a whole-second instant the tests' series start at.
var t0 = time.Date(2026, 11, 27, 1, 2, 0, 0, time.UTC)

// errorAlarm is a 1-second-period alarm on the 5XX count: a period with 10 errors
// breaches, one with requests and no errors does not.
func errorAlarm(n, m int, missing string) *manifest.Alarm {
	return &manifest.Alarm{
		Name: "errors", MetricName: manifest.MetricTarget5XX, Statistic: StatSum, Period: 1,
		EvaluationPeriods: n, DatapointsToAlarm: m, Threshold: 5,
		ComparisonOperator: manifest.GreaterThanThreshold, TreatMissingData: missing,
	}
}

// patternSlots turns a row of the CloudWatch guide's tables ("0 - X - X", oldest
// first) into 100 ms slots from start, one second per datapoint: "0" is 10 requests
// without errors, "X" 10 requests that all failed, "-" no requests at all.
func patternSlots(t *testing.T, pattern string, start time.Time) []metrics.Slot {
	t.Helper()
	var slots []metrics.Slot
	ms := start.UnixMilli()
	for _, c := range strings.Fields(pattern) {
		for i := 0; i < 10; i++ {
			s := metrics.Slot{Start: ms}
			switch c {
			case "0":
				s.Requests, s.Target2XX = 1, 1
			case "X":
				s.Requests, s.Target5XX = 1, 1
			case "-":
			default:
				t.Fatalf("bad pattern %q", pattern)
			}
			s.Latency.Observe(10 * time.Millisecond)
			if s.Requests == 0 {
				s.Latency = metrics.Histogram{}
			}
			slots = append(slots, s)
			ms += 100
		}
	}
	return slots
}

// The two example tables of "How alarm state is evaluated when data is missing"
// (CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data"):
// the evaluation range is 5 periods for 3 evaluation periods; "retain" is "Retain
// current state".
func TestMissingDataTables(t *testing.T) {
	type row struct {
		points                                   string
		missing, ignore, breaching, notBreaching string
	}
	tables := []struct {
		name string
		m    int
		rows []row
	}{
		{"3 out of 3", 3, []row{
			{"0 - X - X", "OK", "OK", "OK", "OK"},
			{"0 - - - -", "OK", "OK", "OK", "OK"},
			{"- - - - -", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"},
			{"0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"},
			{"- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"},
			{"X - - - -", "ALARM", "retain", "ALARM", "OK"},
		}},
		{"2 out of 3", 2, []row{
			{"0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"},
			{"0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"},
			{"0 - X - -", "OK", "OK", "ALARM", "OK"},
			{"- - - - 0", "OK", "OK", "ALARM", "OK"},
			{"- - - - X", "INSUFFICIENT_DATA", "retain", "ALARM", "OK"},
		}},
	}
	for _, table := range tables {
		for _, row := range table.rows {
			slots := patternSlots(t, row.points, t0)
			now := t0.Add(5 * time.Second)
			for mode, want := range map[string]string{
				manifest.MissingDataMissing: row.missing, manifest.MissingDataIgnore: row.ignore,
				manifest.MissingDataBreaching: row.breaching, manifest.MissingDataNotBreaching: row.notBreaching,
			} {
				for _, prev := range []State{StateOK, StateAlarm, StateInsufficientData} {
					expected := State(want)
					if want == "retain" {
						expected = prev
					}
					ev := Evaluate(errorAlarm(3, table.m, mode), slots, now, prev)
					if ev.State != expected {
						t.Errorf("%s, %q, %s, previous %s: state %s, want %s (%s)", table.name, row.points, mode, prev, ev.State, expected, ev.Reason)
					}
				}
			}
		}
	}
}

func TestMOutOfN(t *testing.T) {
	tests := []struct {
		points string
		n, m   int
		want   State
	}{
		{"0 0 0 0 X", 3, 1, StateAlarm},
		{"0 0 0 0 0", 3, 1, StateOK},
		{"0 0 X 0 X 0", 4, 2, StateAlarm},
		{"0 X 0 0 X 0", 4, 2, StateOK}, // the first X is outside the last 4
		{"X X X X 0 0 0 0", 6, 5, StateOK},
		{"0 0 X X X X X 0", 6, 5, StateAlarm},
		{"X", 1, 1, StateAlarm},
	}
	for _, tc := range tests {
		slots := patternSlots(t, tc.points, t0)
		now := t0.Add(time.Duration(len(strings.Fields(tc.points))) * time.Second)
		ev := Evaluate(errorAlarm(tc.n, tc.m, manifest.MissingDataMissing), slots, now, StateOK)
		if ev.State != tc.want {
			t.Errorf("%q %d of %d: %s, want %s (%s)", tc.points, tc.m, tc.n, ev.State, tc.want, ev.Reason)
		}
	}
}

func TestDatapointsAndTimes(t *testing.T) {
	slots := patternSlots(t, "0 0 X 0 X X", t0)
	// now in the middle of a slot: periods end at the slot boundary before it.
	now := t0.Add(6*time.Second + 40*time.Millisecond)
	ev := Evaluate(errorAlarm(3, 2, manifest.MissingDataMissing), slots, now, StateOK)
	if ev.State != StateAlarm {
		t.Fatalf("state %s: %s", ev.State, ev.Reason)
	}
	if want := t0.Add(6 * time.Second); !ev.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", ev.Time, want)
	}
	if len(ev.Datapoints) != 5 {
		t.Fatalf("%d datapoints, want the evaluation range of 5", len(ev.Datapoints))
	}
	wantBreaching := []bool{false, true, false, true, true}
	for i, d := range ev.Datapoints {
		if want := t0.Add(time.Duration(i+1) * time.Second); !d.Start.Equal(want) {
			t.Errorf("datapoint %d starts %v, want %v", i, d.Start, want)
		}
		if d.Breaching != wantBreaching[i] || d.Missing {
			t.Errorf("datapoint %d = %+v, want breaching %v", i, d, wantBreaching[i])
		}
	}
	// The oldest breaching datapoint among the last 3 (0 X X) starts at t0+4s.
	if want := t0.Add(4 * time.Second); !ev.FirstBreach.Equal(want) {
		t.Errorf("FirstBreach = %v, want %v", ev.FirstBreach, want)
	}

	// 100 ms later the periods have slid by one slot: the newest now starts at
	// t0+5.1s and holds nine breaching slots (9 errors > 5).
	ev = Evaluate(errorAlarm(3, 2, manifest.MissingDataMissing), slots, now.Add(100*time.Millisecond), StateOK)
	last := ev.Datapoints[len(ev.Datapoints)-1]
	if want := t0.Add(5100 * time.Millisecond); !last.Start.Equal(want) || last.Value != 9 {
		t.Errorf("newest datapoint after one slot = %+v, want start %v value 9", last, want)
	}
}

func TestComparisonOperators(t *testing.T) {
	// One period with 7 errors, against thresholds below, at and above it.
	slots := make([]metrics.Slot, 10)
	for i := range slots {
		slots[i] = metrics.Slot{Start: t0.UnixMilli() + int64(i)*100, Requests: 1}
		if i < 7 {
			slots[i].Target5XX = 1
		}
	}
	tests := []struct {
		op        string
		threshold float64
		want      State
	}{
		{manifest.GreaterThanThreshold, 6, StateAlarm},
		{manifest.GreaterThanThreshold, 7, StateOK},
		{manifest.GreaterThanOrEqualToThreshold, 7, StateAlarm},
		{manifest.GreaterThanOrEqualToThreshold, 8, StateOK},
		{manifest.LessThanThreshold, 8, StateAlarm},
		{manifest.LessThanThreshold, 7, StateOK},
		{manifest.LessThanOrEqualToThreshold, 7, StateAlarm},
		{manifest.LessThanOrEqualToThreshold, 6, StateOK},
	}
	for _, tc := range tests {
		a := errorAlarm(1, 1, manifest.MissingDataMissing)
		a.ComparisonOperator, a.Threshold = tc.op, tc.threshold
		ev := Evaluate(a, slots, t0.Add(time.Second), StateInsufficientData)
		if ev.State != tc.want {
			t.Errorf("7 %s %v: %s, want %s (%s)", tc.op, tc.threshold, ev.State, tc.want, ev.Reason)
		}
	}
}

func TestConfigurationErrors(t *testing.T) {
	tests := map[string]func(a *manifest.Alarm){
		"comparison_operator": func(a *manifest.Alarm) { a.ComparisonOperator = "GreaterThan" },
		"period 0":            func(a *manifest.Alarm) { a.Period = 0 },
		"datapoints_to_alarm": func(a *manifest.Alarm) { a.DatapointsToAlarm = 5 },
		"treat_missing_data":  func(a *manifest.Alarm) { a.TreatMissingData = "zero" },
		"HealthyHostCount":    func(a *manifest.Alarm) { a.MetricName = manifest.MetricHealthyHostCount },
		"p101":                func(a *manifest.Alarm) { a.Statistic, a.ExtendedStatistic = "", "p101" },
		"metric query e1": func(a *manifest.Alarm) {
			a.MetricQueries = []*manifest.MetricQuery{{ID: "e1", Expression: "1 +", ReturnData: true}}
		},
		"return_data": func(a *manifest.Alarm) {
			a.MetricQueries = []*manifest.MetricQuery{{ID: "m1", MetricName: manifest.MetricRequestCount, Stat: StatSum}}
		},
	}
	slots := patternSlots(t, "X X X", t0)
	for want, mutate := range tests {
		a := errorAlarm(3, 3, "")
		mutate(a)
		ev := Evaluate(a, slots, t0.Add(3*time.Second), StateOK)
		if ev.State != StateInsufficientData || !strings.HasPrefix(ev.Reason, "Evaluation error: ") || !strings.Contains(ev.Reason, want) {
			t.Errorf("%s: %s %q", want, ev.State, ev.Reason)
		}
	}
}
