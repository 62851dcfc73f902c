package metrics

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Recorder counts one target group's traffic for the slot in progress. Record is
// lock-free and allocation-free and safe for concurrent use; Rotate closes the slot
// and must be called by one goroutine at a time.
//
// A request is counted in the slot that is open when Record runs. Rotate swaps in
// a fresh slot and then waits for writers that loaded the old one to finish, so a
// request recorded at a slot boundary lands in one of the two slots and is never
// lost.
type Recorder struct {
	cur   atomic.Pointer[denseSlot]
	spare *denseSlot
}

// denseSlot is the hot-path form of a Slot: fixed arrays of atomic counters.
type denseSlot struct {
	start   int64
	writers atomic.Int64

	requests  atomic.Uint64
	target2xx atomic.Uint64
	target3xx atomic.Uint64
	target4xx atomic.Uint64
	target5xx atomic.Uint64
	elb5xx    atomic.Uint64

	latCount   atomic.Uint64
	latSumNano atomic.Uint64
	latMinNano atomic.Int64 // -1 when no sample
	latMaxNano atomic.Int64
	buckets    [NumBuckets]atomic.Uint64
}

// NewRecorder returns a recorder whose first slot starts at start (unix ms).
func NewRecorder(start int64) *Recorder {
	r := &Recorder{spare: newDenseSlot(0)}
	r.cur.Store(newDenseSlot(start))
	return r
}

func newDenseSlot(start int64) *denseSlot {
	d := &denseSlot{start: start}
	d.latMinNano.Store(-1)
	return d
}

// Outcome is what the router knows about one finished or answered request.
type Outcome struct {
	// Status is the response status sent to the client; 0 when none was sent
	// (the client went away first).
	Status int
	// FromTarget is true when a target produced the response, false when the
	// router answered by itself (no healthy target, target unreachable).
	FromTarget bool
	// Latency is the target response time (until the response headers arrived);
	// negative when the target never answered.
	Latency time.Duration
}

// Record counts one request.
func (r *Recorder) Record(o Outcome) {
	for {
		d := r.cur.Load()
		d.writers.Add(1)
		// Re-check after announcing ourselves: if Rotate swapped the slot in
		// between, it may already have read it, so write into the new one.
		if r.cur.Load() != d {
			d.writers.Add(-1)
			continue
		}
		d.record(o)
		d.writers.Add(-1)
		return
	}
}

func (d *denseSlot) record(o Outcome) {
	d.requests.Add(1)
	if !o.FromTarget {
		if o.Status >= 500 {
			d.elb5xx.Add(1)
		}
		return
	}
	switch o.Status / 100 {
	case 2:
		d.target2xx.Add(1)
	case 3:
		d.target3xx.Add(1)
	case 4:
		d.target4xx.Add(1)
	case 5:
		d.target5xx.Add(1)
	}
	if o.Latency >= 0 {
		d.observe(o.Latency)
	}
}

func (d *denseSlot) observe(lat time.Duration) {
	ns := int64(lat)
	d.latCount.Add(1)
	d.latSumNano.Add(uint64(ns))
	d.buckets[BucketIndex(lat)].Add(1)
	for {
		m := d.latMinNano.Load()
		if m >= 0 && m <= ns || d.latMinNano.CompareAndSwap(m, ns) {
			break
		}
	}
	for {
		m := d.latMaxNano.Load()
		if m >= ns || d.latMaxNano.CompareAndSwap(m, ns) {
			break
		}
	}
}

// Rotate closes the slot in progress and opens one starting at next (unix ms). It
// returns the closed slot.
func (r *Recorder) Rotate(next int64) Slot {
	fresh := r.spare
	fresh.start = next
	old := r.cur.Swap(fresh)
	for old.writers.Load() != 0 {
		runtime.Gosched()
	}
	s := old.snapshot()
	old.reset()
	r.spare = old
	return s
}

// Start returns the start of the slot in progress (unix ms).
func (r *Recorder) Start() int64 { return r.cur.Load().start }

func (d *denseSlot) snapshot() Slot {
	s := Slot{
		Start:     d.start,
		Requests:  d.requests.Load(),
		Target2XX: d.target2xx.Load(),
		Target3XX: d.target3xx.Load(),
		Target4XX: d.target4xx.Load(),
		Target5XX: d.target5xx.Load(),
		ELB5XX:    d.elb5xx.Load(),
	}
	n := d.latCount.Load()
	if n == 0 {
		return s
	}
	h := &s.Latency
	h.Count = n
	h.Sum = time.Duration(d.latSumNano.Load()).Seconds()
	h.Min = time.Duration(d.latMinNano.Load()).Seconds()
	h.Max = time.Duration(d.latMaxNano.Load()).Seconds()
	for i := range d.buckets {
		if c := d.buckets[i].Load(); c != 0 {
			h.Buckets = append(h.Buckets, Bucket{Index: i, Count: c})
		}
	}
	return s
}

func (d *denseSlot) reset() {
	d.requests.Store(0)
	d.target2xx.Store(0)
	d.target3xx.Store(0)
	d.target4xx.Store(0)
	d.target5xx.Store(0)
	d.elb5xx.Store(0)
	d.latCount.Store(0)
	d.latSumNano.Store(0)
	d.latMinNano.Store(-1)
	d.latMaxNano.Store(0)
	for i := range d.buckets {
		d.buckets[i].Store(0)
	}
}
