package alarm

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// reason writes CloudWatch's StateReason for a verdict, e.g. "Threshold Crossed: 2
// out of the last 3 datapoints [12.5 (27/11/26 01:02:03), 10.0 (27/11/26 01:02:02)]
// were greater than the threshold (5.0) (minimum 2 datapoints for OK -> ALARM
// transition)." Datapoints are listed newest first, as in the alarm state change
// event the CloudWatch User Guide shows ("How partial data from a Metrics Insights
// query is evaluated"); the same event shows StateReasonData, which reasonData
// reproduces.
func (r *rule) reason(v verdict) string {
	switch {
	case v.retained:
		return fmt.Sprintf("Unchanged: %s unknown and treat_missing_data is ignore, so the alarm keeps its state.", datapoints(v.unknown, "was", "were"))
	case v.state == StateInsufficientData:
		return fmt.Sprintf("Insufficient Data: %s unknown.", datapoints(v.unknown, "was", "were"))
	}
	alarm := v.state == StateAlarm
	var listed []string
	matchingFilled := 0
	for i := len(v.evaluated) - 1; i >= 0; i-- {
		p := v.evaluated[i]
		switch {
		case p.Breaching != alarm || (p.Missing && !p.filled):
		case p.Missing:
			matchingFilled++
		default:
			listed = append(listed, fmt.Sprintf("%s (%s)", javaDouble(p.Value), reasonTime(p.Start)))
		}
	}
	if len(listed) == 0 && v.filled == len(v.evaluated) {
		return fmt.Sprintf("Threshold Crossed: no datapoints were received for %d %s and %s treated as [%s].",
			v.filled, plural(v.filled, "period", "periods"), missingDatapoints(v.filled), filledAs(r.missing))
	}
	condition := r.compare.words
	if !alarm {
		condition = "not " + condition
	}
	var b strings.Builder
	b.WriteString("Threshold Crossed: ")
	if r.n == 1 && len(listed) == 1 {
		fmt.Fprintf(&b, "1 datapoint [%s] was %s the threshold (%s)", listed[0], condition, javaDouble(r.alarm.Threshold))
	} else {
		fmt.Fprintf(&b, "%d out of the last %d datapoints [%s] %s %s the threshold (%s)", len(listed), r.n,
			strings.Join(listed, ", "), plural(len(listed), "was", "were"), condition, javaDouble(r.alarm.Threshold))
	}
	if matchingFilled > 0 {
		fmt.Fprintf(&b, " and %s treated as [%s]", missingDatapoints(matchingFilled), filledAs(r.missing))
	}
	if v.unknown > 0 {
		fmt.Fprintf(&b, " and %s unknown", datapoints(v.unknown, "was", "were"))
	}
	if r.n > 1 {
		minimum, transition := r.m, "OK -> ALARM"
		if !alarm {
			minimum, transition = r.n-r.m+1, "ALARM -> OK"
		}
		fmt.Fprintf(&b, " (minimum %d %s for %s transition)", minimum, plural(minimum, "datapoint", "datapoints"), transition)
	}
	b.WriteString(".")
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func datapoints(n int, one, many string) string {
	return fmt.Sprintf("%d %s %s", n, plural(n, "datapoint", "datapoints"), plural(n, one, many))
}

func missingDatapoints(n int) string {
	return fmt.Sprintf("%d missing %s %s", n, plural(n, "datapoint", "datapoints"), plural(n, "was", "were"))
}

func filledAs(missing string) string {
	if missing == manifest.MissingDataBreaching {
		return "Breaching"
	}
	return "NonBreaching"
}

// reasonTime formats a datapoint time as CloudWatch's reasons do (dd/MM/yy
// HH:mm:ss, UTC), with tenths of a second when a period does not start on a
// whole second.
func reasonTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("02/01/06 15:04:05")
	if tenths := t.Nanosecond() / int(100*time.Millisecond); tenths != 0 {
		s += "." + strconv.Itoa(tenths)
	}
	return s
}

// javaDouble formats v as Java's Double.toString, which CloudWatch's reasons use:
// "5.0", "12.5", "1.0E7", "1.0E-4".
func javaDouble(v float64) string {
	abs := math.Abs(v)
	if abs == 0 {
		return "0.0"
	}
	if abs >= 1e-3 && abs < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	mantissa, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', -1, 64), "E")
	if !strings.Contains(mantissa, ".") {
		mantissa += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mantissa + "E" + strconv.Itoa(e)
}

// javaNumber marshals as javaDouble, so that ReasonData reads like CloudWatch's.
type javaNumber float64

func (n javaNumber) MarshalJSON() ([]byte, error) { return []byte(javaDouble(float64(n))), nil }

// reasonData is CloudWatch's StateReasonData, e.g.
// {"version":"1.0","queryDate":"2022-11-08T11:26:05.399+0000","startDate":"2022-11-08T11:23:00.000+0000",
// "statistic":"Average","period":60,"recentDatapoints":[20000.0],"threshold":0.0,
// "evaluatedDatapoints":[{"timestamp":"2022-11-08T11:25:00.000+0000","sampleCount":1.0,"value":20000.0}]}
type reasonData struct {
	Version             string               `json:"version"`
	QueryDate           string               `json:"queryDate"`
	StartDate           string               `json:"startDate"`
	Statistic           string               `json:"statistic,omitempty"`
	ExtendedStatistic   string               `json:"extendedStatistic,omitempty"`
	Period              int                  `json:"period"`
	RecentDatapoints    []javaNumber         `json:"recentDatapoints"`
	Threshold           javaNumber           `json:"threshold"`
	EvaluatedDatapoints []evaluatedDatapoint `json:"evaluatedDatapoints"`
}

type evaluatedDatapoint struct {
	Timestamp   string      `json:"timestamp"`
	SampleCount *javaNumber `json:"sampleCount,omitempty"`
	Value       *javaNumber `json:"value,omitempty"`
}

const reasonDataTime = "2006-01-02T15:04:05.000-0700"

func (r *rule) reasonData(points []point, v verdict, end time.Time) json.RawMessage {
	d := reasonData{
		Version:             "1.0",
		QueryDate:           end.UTC().Format(reasonDataTime),
		Period:              r.alarm.Period,
		Threshold:           javaNumber(r.alarm.Threshold),
		RecentDatapoints:    []javaNumber{},
		EvaluatedDatapoints: []evaluatedDatapoint{},
	}
	switch key, name := r.statisticLabel(); key {
	case "statistic":
		d.Statistic = name
	case "extendedStatistic":
		d.ExtendedStatistic = name
	}
	start := points[0].Start
	if len(v.evaluated) > 0 {
		start = v.evaluated[0].Start
	}
	d.StartDate = start.UTC().Format(reasonDataTime)
	for _, p := range points {
		if !p.Missing {
			d.RecentDatapoints = append(d.RecentDatapoints, javaNumber(p.Value))
		}
	}
	for i := len(v.evaluated) - 1; i >= 0; i-- {
		p := v.evaluated[i]
		e := evaluatedDatapoint{Timestamp: p.Start.UTC().Format(reasonDataTime)}
		if !p.Missing {
			value := javaNumber(p.Value)
			e.Value = &value
			if r.single != nil {
				samples := javaNumber(p.samples)
				e.SampleCount = &samples
			}
		}
		d.EvaluatedDatapoints = append(d.EvaluatedDatapoints, e)
	}
	out, err := json.Marshal(d)
	if err != nil { // javaNumber always marshals; keep the evaluation usable regardless
		return nil
	}
	return out
}
