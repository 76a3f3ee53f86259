package funcd

import (
	"errors"
	"sync/atomic"
)

// DefaultMaxBufferedBytes is the default of a host's BufferBudget: 128 MiB,
// room for one request body at the default size limit (100 MB) with its
// reply, or for many small ones, while keeping the process well under a
// quarter of a gibibyte when clients send or hold more.
const DefaultMaxBufferedBytes = 128 << 20

// ErrOverBudget is returned when a request or response body does not fit in
// the host's BufferBudget. The HTTP layer answers 503.
var ErrOverBudget = errors.New("the host's buffer budget is exhausted")

// BufferBudget bounds the bytes a host holds in memory for request and
// response bodies, across all requests at once, so that large or many
// concurrent bodies are refused instead of exhausting the process's memory.
// Its methods are safe for concurrent use; a nil *BufferBudget is
// unbounded.
type BufferBudget struct {
	limit atomic.Int64 // <= 0: unbounded
	used  atomic.Int64
}

// NewBufferBudget returns a budget of limit bytes (<= 0: unbounded).
func NewBufferBudget(limit int64) *BufferBudget {
	b := &BufferBudget{}
	b.limit.Store(limit)
	return b
}

// SetLimit changes the budget's limit. Reservations already made stay.
func (b *BufferBudget) SetLimit(limit int64) { b.limit.Store(limit) }

// Limit returns the budget's limit in bytes (<= 0: unbounded).
func (b *BufferBudget) Limit() int64 {
	if b == nil {
		return 0
	}
	return b.limit.Load()
}

// InUse returns the bytes reserved now.
func (b *BufferBudget) InUse() int64 {
	if b == nil {
		return 0
	}
	return b.used.Load()
}

// Reserve takes n bytes from the budget, or reports false, taking nothing,
// when they do not fit. Each successful Reserve must be paired with a
// Release of the same n.
func (b *BufferBudget) Reserve(n int64) bool {
	if b == nil || n <= 0 {
		return true
	}
	limit := b.limit.Load()
	if limit <= 0 {
		b.used.Add(n)
		return true
	}
	for {
		used := b.used.Load()
		if used+n > limit || used+n < used {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

// Release returns n bytes taken by Reserve.
func (b *BufferBudget) Release(n int64) {
	if b == nil || n <= 0 {
		return
	}
	b.used.Add(-n)
}
