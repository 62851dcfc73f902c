// Package metrics owns the data model of the router's per-target-group traffic
// metrics: fixed-layout latency histograms and time slots of counters. The router
// records into it on the hot path; the alarm evaluator and the Prometheus exporter
// read it. Nothing here does I/O.
package metrics

import (
	"math"
	"math/bits"
	"time"
)

// The latency histogram has a fixed log-linear layout over microseconds: values
// below 16µs get one bucket each, then every power of two is split into 16 equal
// sub-buckets, so a bucket's midpoint is within 3.2% of any value in it. Values from
// 2^30µs (about 18 minutes) up share the last bucket.
const (
	subBucketBits  = 4
	subBuckets     = 1 << subBucketBits
	maxExponent    = 30
	NumBuckets     = subBuckets + (maxExponent-subBucketBits)*subBuckets
	maxMicros      = int64(1)<<maxExponent - 1
	microsPerSec   = 1e6
	secondsPerMicr = 1 / microsPerSec
)

// BucketIndex returns the bucket a latency falls in.
func BucketIndex(d time.Duration) int {
	us := d.Microseconds()
	if us < 0 {
		us = 0
	}
	if us > maxMicros {
		us = maxMicros
	}
	if us < subBuckets {
		return int(us)
	}
	exp := 63 - bits.LeadingZeros64(uint64(us)) // floor(log2(us)), >= subBucketBits
	shift := exp - subBucketBits
	mantissa := int(us>>shift) - subBuckets // 0..15
	return subBuckets + shift*subBuckets + mantissa
}

// BucketBounds returns the bucket's range in seconds: [lower, upper).
func BucketBounds(i int) (lower, upper float64) {
	if i < subBuckets {
		return float64(i) * secondsPerMicr, float64(i+1) * secondsPerMicr
	}
	shift := (i - subBuckets) / subBuckets
	mantissa := (i - subBuckets) % subBuckets
	lo := int64(subBuckets+mantissa) << shift
	hi := int64(subBuckets+mantissa+1) << shift
	return float64(lo) * secondsPerMicr, float64(hi) * secondsPerMicr
}

// Bucket is one non-empty histogram bucket.
type Bucket struct {
	Index int    `json:"i"`
	Count uint64 `json:"n"`
}

// Histogram is a sparse latency histogram in seconds. The zero value is empty.
type Histogram struct {
	Count   uint64   `json:"count"`
	Sum     float64  `json:"sum"` // seconds
	Min     float64  `json:"min"`
	Max     float64  `json:"max"`
	Buckets []Bucket `json:"buckets,omitempty"` // sorted by Index
}

// Observe adds one sample; for tests and slow paths (the router uses Recorder).
func (h *Histogram) Observe(d time.Duration) {
	var one Histogram
	s := d.Seconds()
	one.Count, one.Sum, one.Min, one.Max = 1, s, s, s
	one.Buckets = []Bucket{{Index: BucketIndex(d), Count: 1}}
	h.Merge(&one)
}

// Merge adds o's samples to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.Count == 0 {
		return
	}
	if h.Count == 0 || o.Min < h.Min {
		h.Min = o.Min
	}
	if h.Count == 0 || o.Max > h.Max {
		h.Max = o.Max
	}
	h.Count += o.Count
	h.Sum += o.Sum
	h.Buckets = mergeBuckets(h.Buckets, o.Buckets)
}

func mergeBuckets(a, b []Bucket) []Bucket {
	out := make([]Bucket, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Index < b[j].Index):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Index < a[i].Index:
			out = append(out, b[j])
			j++
		default:
			out = append(out, Bucket{Index: a[i].Index, Count: a[i].Count + b[j].Count})
			i++
			j++
		}
	}
	return out
}

// Mean returns the average sample in seconds, NaN when empty.
func (h *Histogram) Mean() float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	return h.Sum / float64(h.Count)
}

// Quantile returns the q-quantile (0 < q <= 1) in seconds as the midpoint of the
// bucket holding the sample of rank ceil(q*Count), clamped to [Min, Max]; NaN when
// empty.
func (h *Histogram) Quantile(q float64) float64 {
	if h.Count == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.Count)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for _, b := range h.Buckets {
		seen += b.Count
		if seen >= rank {
			lo, hi := BucketBounds(b.Index)
			return math.Min(math.Max((lo+hi)/2, h.Min), h.Max)
		}
	}
	return h.Max
}
