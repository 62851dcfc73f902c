package metrics

import "testing"

func starts(slots []Slot) []int64 {
	out := make([]int64, len(slots))
	for i, s := range slots {
		out[i] = s.Start
	}
	return out
}

func equalInt64s(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRingFillsGapsWithZeroSlots(t *testing.T) {
	r := NewRing(10)
	r.Append(Slot{Start: 1000, Requests: 1})
	r.Append(Slot{Start: 1300, Requests: 2})
	got := r.Since(0)
	if want := []int64{1000, 1100, 1200, 1300}; !equalInt64s(starts(got), want) {
		t.Fatalf("starts = %v, want %v", starts(got), want)
	}
	if got[1].Requests != 0 || got[2].Requests != 0 || got[3].Requests != 2 {
		t.Fatalf("gap slots not zero or last slot wrong: %+v", got)
	}
}

func TestRingEvictsOldest(t *testing.T) {
	r := NewRing(3)
	for s := int64(0); s < 500; s += 100 {
		r.Append(Slot{Start: s, Requests: uint64(s)})
	}
	if want := []int64{200, 300, 400}; !equalInt64s(starts(r.Since(-1)), want) {
		t.Fatalf("starts = %v, want %v", starts(r.Since(-1)), want)
	}
	// A gap longer than the ring leaves only zero slots and the new one.
	r.Append(Slot{Start: 10_000, Requests: 7})
	got := r.Since(-1)
	if want := []int64{9800, 9900, 10_000}; !equalInt64s(starts(got), want) {
		t.Fatalf("starts = %v, want %v", starts(got), want)
	}
	if got[0].Requests != 0 || got[2].Requests != 7 {
		t.Fatalf("slots = %+v", got)
	}
}

func TestRingSince(t *testing.T) {
	r := NewRing(100)
	for s := int64(1000); s <= 2000; s += 100 {
		r.Append(Slot{Start: s})
	}
	cases := []struct {
		since int64
		want  []int64
	}{
		{since: 1750, want: []int64{1800, 1900, 2000}},
		{since: 1800, want: []int64{1900, 2000}},
		{since: 2000, want: []int64{}},
		{since: 5000, want: []int64{}},
	}
	for _, c := range cases {
		if got := starts(r.Since(c.since)); !equalInt64s(got, c.want) {
			t.Errorf("Since(%d) = %v, want %v", c.since, got, c.want)
		}
	}
	if got := len(r.Since(0)); got != 11 {
		t.Errorf("Since(0) returned %d slots, want 11", got)
	}
}

func TestRingMergesLateSlot(t *testing.T) {
	r := NewRing(4)
	r.Append(Slot{Start: 100, Requests: 1})
	r.Append(Slot{Start: 100, Requests: 2})
	got := r.Since(0)
	if len(got) != 1 || got[0].Requests != 3 {
		t.Fatalf("slots = %+v, want one slot with 3 requests", got)
	}
}
