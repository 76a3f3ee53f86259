package loadgen

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, in the manner of an HDR
// histogram: values below 256ns are exact, and above that every power of two
// is split into 128 buckets, so a percentile is within 0.4% of the true
// value. Recording is allocation-free; the zero value is ready to use. A
// Histogram is not safe for concurrent use: each load generator connection
// has its own, merged at the end.
type Histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const (
	histSubBits = 7                // 2^7 sub-buckets per power of two
	histSub     = 1 << histSubBits // 128
	// histBuckets covers every non-negative int64: 256 exact values, then
	// 128 buckets for each shift from 1 to 55.
	histBuckets = 2*histSub + 55*histSub
)

// bucketOf returns the bucket of a value in nanoseconds.
func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	shift := bits.Len64(v) - (histSubBits + 1)
	return 2*histSub + (shift-1)*histSub + int(v>>shift) - histSub
}

// bucketValue returns the value a bucket stands for: the middle of its range.
func bucketValue(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	shift := (i-2*histSub)/histSub + 1
	lower := uint64((i-2*histSub)%histSub+histSub) << shift
	return lower + (uint64(1)<<shift)/2
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
	if d > h.max {
		h.max = d
	}
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// Count returns the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the value below which a fraction q (0 < q <= 1) of the
// recorded values fall, or 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(bucketValue(i)), h.max)
		}
	}
	return h.max
}
