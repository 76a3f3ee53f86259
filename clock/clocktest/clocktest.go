// Package clocktest provides a fake clock.Clock for tests: time stands still
// until the test calls Advance, so code that waits on timers can be driven
// step by step without sleeping.
package clocktest

import (
	"context"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
)

// Fake is a clock.Clock whose time moves only when Advance is called. Timers
// fire (in deadline order) when Advance moves the time to or past their
// deadline; a timer created with a non-positive duration fires at once.
//
// Timer channels have a buffer of one and sends never block, like
// time.Timer's. Stop and Reset drain a pending value, as time.Timer does since
// Go 1.23, so a stopped or reset timer never delivers a stale tick.
//
// A Fake is safe for concurrent use. The zero value is not usable; call New.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*timer]struct{} // pending timers; guarded by mu
	changed chan struct{}       // closed and replaced when timers changes; guarded by mu
}

var _ clock.Clock = (*Fake)(nil)

// New returns a Fake clock reading now.
func New(now time.Time) *Fake {
	return &Fake{now: now, timers: map[*timer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After returns the channel of a new timer that fires after d.
func (f *Fake) After(d time.Duration) <-chan time.Time { return f.NewTimer(d).C() }

// NewTimer returns a timer that fires once the fake time reaches Now()+d.
func (f *Fake) NewTimer(d time.Duration) clock.Timer {
	t := &timer{f: f, c: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armLocked(t, d)
	return t
}

// Advance moves the fake time forward by d and fires every timer whose
// deadline is reached, earliest first.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		t := f.earliestLocked()
		if t == nil || t.when.After(end) {
			break
		}
		if t.when.After(f.now) {
			f.now = t.when
		}
		f.fireLocked(t)
	}
	f.now = end
}

// Timers returns the number of timers waiting to fire.
func (f *Fake) Timers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// BlockUntil waits until at least n timers are waiting to fire, which tells a
// test that the code under test has reached its wait, or until ctx is done.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	for {
		f.mu.Lock()
		ok, ch := len(f.timers) >= n, f.changed
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (f *Fake) armLocked(t *timer, d time.Duration) {
	t.when = f.now.Add(d)
	if d <= 0 {
		f.fireLocked(t)
		return
	}
	f.timers[t] = struct{}{}
	f.notifyLocked()
}

func (f *Fake) fireLocked(t *timer) {
	delete(f.timers, t)
	select {
	case t.c <- f.now:
	default:
	}
	f.notifyLocked()
}

func (f *Fake) earliestLocked() *timer {
	var first *timer
	for t := range f.timers {
		if first == nil || t.when.Before(first.when) {
			first = t
		}
	}
	return first
}

func (f *Fake) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// timer is a Fake's clock.Timer.
type timer struct {
	f    *Fake
	c    chan time.Time
	when time.Time // guarded by f.mu
}

func (t *timer) C() <-chan time.Time { return t.c }

func (t *timer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.stopLocked()
}

func (t *timer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	pending := t.stopLocked()
	t.f.armLocked(t, d)
	return pending
}

func (t *timer) stopLocked() bool {
	_, pending := t.f.timers[t]
	if pending {
		delete(t.f.timers, t)
		t.f.notifyLocked()
	}
	select {
	case <-t.c:
	default:
	}
	return pending
}
