package alarm

import (
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
)

// FuzzEvaluate drives the missing-data rules with arbitrary datapoint patterns and
// settings, checking the invariants every evaluation keeps.
func FuzzEvaluate(f *testing.F) {
	f.Add("0-X-X", uint8(3), uint8(3), uint8(0))
	f.Add("X----", uint8(3), uint8(2), uint8(1))
	f.Add("----X", uint8(3), uint8(3), uint8(2))
	f.Add("00X0X", uint8(3), uint8(2), uint8(3))
	f.Fuzz(func(t *testing.T, pattern string, n, m, mode uint8) {
		if len(pattern) > 40 {
			return
		}
		var fields []string
		for _, c := range pattern {
			switch c {
			case '0', 'X', '-':
				fields = append(fields, string(c))
			default:
				return
			}
		}
		modes := []string{manifest.MissingDataMissing, manifest.MissingDataIgnore, manifest.MissingDataBreaching, manifest.MissingDataNotBreaching}
		a := errorAlarm(int(n%8)+1, int(m%8)+1, modes[int(mode)%len(modes)])
		slots := patternSlots(t, strings.Join(fields, " "), t0)
		ev := Evaluate(a, slots, t0.Add(time.Duration(len(fields))*time.Second), StateOK)
		if a.DatapointsToAlarm > a.EvaluationPeriods {
			if ev.State != StateInsufficientData {
				t.Fatalf("invalid alarm evaluated to %s", ev.State)
			}
			return
		}
		if len(ev.Datapoints) != evaluationRange(a.EvaluationPeriods) {
			t.Fatalf("%d datapoints for %d evaluation periods", len(ev.Datapoints), a.EvaluationPeriods)
		}
		if ev.Reason == "" || len(ev.ReasonData) == 0 {
			t.Fatalf("no reason: %+v", ev)
		}
		if (ev.State == StateAlarm) == ev.FirstBreach.IsZero() {
			t.Fatalf("state %s with FirstBreach %v", ev.State, ev.FirstBreach)
		}
		if ev.State == StateAlarm && ev.FirstBreach.After(ev.Time) {
			t.Fatalf("FirstBreach %v after %v", ev.FirstBreach, ev.Time)
		}
	})
}

// FuzzParsePercentile checks that an accepted percentile is a fraction in [0, 1].
func FuzzParsePercentile(f *testing.F) {
	for _, s := range []string{"p99", "p99.9", "p50", "p100", "p0", "Sum"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := parsePercentile(s)
		if err == nil && (q < 0 || q > 1 || q != q) {
			t.Fatalf("parsePercentile(%q) = %v", s, q)
		}
	})
}
