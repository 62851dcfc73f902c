// Package alarm owns CloudWatch-style metric alarms evaluated on the router's
// per-target-group metrics: the pure evaluator (Evaluate) that turns 100 ms slots into
// period datapoints and an alarm state with CloudWatch's reason text, and the Watcher
// that polls a Source every slot and reports state changes to the deploy controller.
//
// The semantics follow the CloudWatch User Guide, "Using Amazon CloudWatch alarms"
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html):
// periods, evaluation periods and datapoints to alarm ("M out of N"), the evaluation
// range and the four ways to treat missing data. What differs is the clock: periods
// are whole seconds and may end on any 100 ms slot boundary, so an alarm is evaluated
// ten times a second instead of once a minute.
package alarm

import (
	"encoding/json"
	"time"
)

// State is an alarm state.
type State string

// Alarm states, CloudWatch's.
const (
	StateOK               State = "OK"
	StateAlarm            State = "ALARM"
	StateInsufficientData State = "INSUFFICIENT_DATA"
)

// Datapoint is one period of an alarm's evaluation range. Missing means the period
// had no datapoint (no traffic, or a metric math result that could not be
// computed); Breaching is set for a real datapoint beyond the threshold and for a
// missing one that treat_missing_data=breaching filled in.
type Datapoint struct {
	Start     time.Time `json:"start"`
	Value     float64   `json:"value"`
	Missing   bool      `json:"missing,omitempty"`
	Breaching bool      `json:"breaching,omitempty"`
}

// Evaluation is the outcome of judging one alarm at one instant.
type Evaluation struct {
	Alarm string `json:"alarm"`
	State State  `json:"state"`
	// Reason is CloudWatch's StateReason text, e.g. "Threshold Crossed: 3 out of the
	// last 3 datapoints [12.5 (27/11/26 01:02:03), ...] were greater than the
	// threshold (5.0) (minimum 2 datapoints for OK -> ALARM transition)."
	Reason string `json:"reason"`
	// ReasonData is CloudWatch's StateReasonData JSON (version, queryDate, startDate,
	// statistic, period, recentDatapoints, threshold, evaluatedDatapoints).
	ReasonData json.RawMessage `json:"reason_data,omitempty"`
	Datapoints []Datapoint     `json:"datapoints"` // the evaluation range, oldest first
	Time       time.Time       `json:"time"`       // end of the newest period
	// FirstBreach is the start of the oldest breaching datapoint that counts toward
	// this ALARM; zero in other states.
	FirstBreach time.Time `json:"first_breach,omitzero"`
}
