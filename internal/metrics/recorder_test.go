package metrics

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRecorderCountsByClass(t *testing.T) {
	r := NewRecorder(1000)
	outcomes := []Outcome{
		{Status: 200, FromTarget: true, Latency: 2 * time.Millisecond},
		{Status: 204, FromTarget: true, Latency: 4 * time.Millisecond},
		{Status: 301, FromTarget: true, Latency: time.Millisecond},
		{Status: 404, FromTarget: true, Latency: time.Millisecond},
		{Status: 500, FromTarget: true, Latency: 8 * time.Millisecond},
		{Status: 502, FromTarget: false, Latency: -1},
		{Status: 503, FromTarget: false, Latency: -1},
		{Status: 0, FromTarget: false, Latency: -1},
	}
	for _, o := range outcomes {
		r.Record(o)
	}
	s := r.Rotate(1100)
	want := Slot{Start: 1000, Requests: 8, Target2XX: 2, Target3XX: 1, Target4XX: 1, Target5XX: 1, ELB5XX: 2}
	if !sameCounts(s, want) {
		t.Fatalf("slot = %+v, want %+v", s, want)
	}
	if s.Latency.Count != 5 {
		t.Fatalf("latency count = %d, want 5", s.Latency.Count)
	}
	if math.Abs(s.Latency.Min-0.001) > 1e-9 || math.Abs(s.Latency.Max-0.008) > 1e-9 {
		t.Fatalf("latency min/max = %v/%v, want 0.001/0.008", s.Latency.Min, s.Latency.Max)
	}
	if math.Abs(s.Latency.Sum-0.016) > 1e-9 {
		t.Fatalf("latency sum = %v, want 0.016", s.Latency.Sum)
	}
	if next := r.Rotate(1200); next.Start != 1100 || next.Requests != 0 || next.Latency.Count != 0 {
		t.Fatalf("second slot not reset: %+v", next)
	}
}

func TestRecorderLatencyQuantileMatchesObserve(t *testing.T) {
	r := NewRecorder(0)
	var ref Histogram
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * 37 * time.Microsecond
		r.Record(Outcome{Status: 200, FromTarget: true, Latency: d})
		ref.Observe(d)
	}
	s := r.Rotate(100)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		if got, want := s.Latency.Quantile(q), ref.Quantile(q); math.Abs(got-want) > 1e-9 {
			t.Fatalf("p%v = %v, want %v", q*100, got, want)
		}
	}
}

// TestRecorderLosesNothingAcrossRotations records from several goroutines while
// another rotates as fast as it can: the sum over all slots must equal the number
// of requests recorded.
func TestRecorderLosesNothingAcrossRotations(t *testing.T) {
	r := NewRecorder(0)
	const writers, perWriter = 4, 50000
	var wg sync.WaitGroup
	var done atomic.Bool
	var total uint64
	rotated := make(chan struct{})
	go func() {
		defer close(rotated)
		for next := int64(100); !done.Load(); next += 100 {
			total += r.Rotate(next).Requests
		}
	}()
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perWriter {
				r.Record(Outcome{Status: 200, FromTarget: true, Latency: time.Millisecond})
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	<-rotated
	total += r.Rotate(1 << 40).Requests
	if total != writers*perWriter {
		t.Fatalf("counted %d requests over all slots, want %d", total, writers*perWriter)
	}
}

func BenchmarkRecorderRecord(b *testing.B) {
	r := NewRecorder(0)
	o := Outcome{Status: 200, FromTarget: true, Latency: 1234 * time.Microsecond}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Record(o)
		}
	})
}

func sameCounts(a, b Slot) bool {
	return a.Start == b.Start && a.Requests == b.Requests && a.Target2XX == b.Target2XX &&
		a.Target3XX == b.Target3XX && a.Target4XX == b.Target4XX && a.Target5XX == b.Target5XX &&
		a.ELB5XX == b.ELB5XX
}
