package metrics

import "time"

// SlotDuration is the resolution of the router's metrics. Alarm periods are whole
// seconds, but a period can end on any slot boundary, so an alarm is re-evaluated
// every slot instead of once a period: CloudWatch's meaning, ten times as often.
const SlotDuration = 100 * time.Millisecond

// SlotStart returns the start of the slot holding t, in unix milliseconds.
func SlotStart(t time.Time) int64 {
	ms := t.UnixMilli()
	return ms - ms%SlotDuration.Milliseconds()
}

// Slot is the traffic of one target group over one SlotDuration, as ALB metrics
// count it: every request in Requests; responses from a target by status class;
// responses the router made itself (no healthy target, target unreachable) in
// ELB5XX; target response time (first byte of the response headers) in Latency.
type Slot struct {
	Start     int64     `json:"t"` // unix milliseconds
	Requests  uint64    `json:"requests"`
	Target2XX uint64    `json:"target_2xx"`
	Target3XX uint64    `json:"target_3xx"`
	Target4XX uint64    `json:"target_4xx"`
	Target5XX uint64    `json:"target_5xx"`
	ELB5XX    uint64    `json:"elb_5xx"`
	Latency   Histogram `json:"latency"`
}

// Add folds o's counts into s (s keeps its Start).
func (s *Slot) Add(o *Slot) {
	s.Requests += o.Requests
	s.Target2XX += o.Target2XX
	s.Target3XX += o.Target3XX
	s.Target4XX += o.Target4XX
	s.Target5XX += o.Target5XX
	s.ELB5XX += o.ELB5XX
	s.Latency.Merge(&o.Latency)
}

// Series is the slots of one target group, oldest first, with no gaps: a slot with
// no traffic is present with zero counts (so that "no requests" and "no data" differ).
type Series struct {
	Service     string `json:"service"`
	TargetGroup string `json:"target_group"`
	Slots       []Slot `json:"slots"`
}

// SlotsOf returns the slots of targetGroup among series (nil when it has none).
func SlotsOf(series []Series, targetGroup string) []Slot {
	for _, s := range series {
		if s.TargetGroup == targetGroup {
			return s.Slots
		}
	}
	return nil
}
