package metrics

// Ring keeps the most recent completed slots of one target group, oldest first,
// without gaps. It is not safe for concurrent use; its owner locks.
type Ring struct {
	slots []Slot // circular, len == capacity
	head  int    // index of the oldest slot
	n     int
}

// NewRing returns a ring holding at most capacity slots (at least 1).
func NewRing(capacity int) *Ring {
	return &Ring{slots: make([]Slot, max(capacity, 1))}
}

// Append adds a completed slot. When s starts more than one SlotDuration after the
// newest slot, zero slots fill the gap, so that "no traffic" stays visible. A slot
// that does not start after the newest one is merged into the newest.
func (r *Ring) Append(s Slot) {
	step := SlotDuration.Milliseconds()
	if r.n > 0 {
		last := r.at(r.n - 1)
		if s.Start <= last.Start {
			last.Add(&s)
			return
		}
		// Fill at most a ring's worth of gap: older zero slots would be evicted anyway.
		first := max(last.Start+step, s.Start-int64(len(r.slots)-1)*step)
		for t := first; t < s.Start; t += step {
			r.push(Slot{Start: t})
		}
	}
	r.push(s)
}

func (r *Ring) push(s Slot) {
	if r.n < len(r.slots) {
		r.slots[(r.head+r.n)%len(r.slots)] = s
		r.n++
		return
	}
	r.slots[r.head] = s
	r.head = (r.head + 1) % len(r.slots)
}

func (r *Ring) at(i int) *Slot { return &r.slots[(r.head+i)%len(r.slots)] }

// Len returns the number of slots held.
func (r *Ring) Len() int { return r.n }

// Since returns copies of the slots whose Start is after sinceMs, oldest first.
// Histogram buckets are shared with the ring; callers must not modify them.
func (r *Ring) Since(sinceMs int64) []Slot {
	// Slots are contiguous, so the first one after sinceMs is found by arithmetic.
	if r.n == 0 {
		return []Slot{}
	}
	step := SlotDuration.Milliseconds()
	oldest := r.at(0).Start
	skip := 0
	if sinceMs >= oldest {
		skip = int((sinceMs-oldest)/step) + 1
	}
	if skip >= r.n {
		return []Slot{}
	}
	out := make([]Slot, 0, r.n-skip)
	for i := skip; i < r.n; i++ {
		out = append(out, *r.at(i))
	}
	return out
}
