package queue

import (
	"math/rand/v2"
	"time"
)

// backoff is the real host's RandomizedExponentialBackoffStrategy: after a
// success the delay is the minimum; after each failure it grows to the
// minimum plus the minimum times 2^(n-1), each increment jittered by ±20%,
// until it reaches the maximum, where it stays.
type backoff struct {
	min, max time.Duration
	current  time.Duration
	exponent uint
	jitter   func() float64 // in [0, 1)
}

// jitterFactor is the real strategy's RandomizationFactor.
const jitterFactor = 0.2

func newBackoff(min, max time.Duration) *backoff {
	return &backoff{min: min, max: max, jitter: rand.Float64}
}

// next returns the delay before the next attempt; succeeded says whether
// the last attempt found work.
func (b *backoff) next(succeeded bool) time.Duration {
	switch {
	case succeeded:
		b.current, b.exponent = b.min, 1
	case b.current != b.max:
		d := b.min
		if b.exponent > 0 {
			factor := 1 - jitterFactor + 2*jitterFactor*b.jitter()
			d += time.Duration(factor * float64(uint64(1)<<min(b.exponent-1, 40)) * float64(b.min))
		}
		if d < b.max {
			b.current = d
			b.exponent++
		} else {
			b.current = b.max
		}
	}
	return b.current
}
