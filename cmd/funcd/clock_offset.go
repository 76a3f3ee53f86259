//go:build funcdclock

// This file is built only with the tag funcdclock, for tests: it lets a
// test run funcd with its clock set ahead of the system's, so that a
// visibility timeout or a lease of minutes runs out at once. Release builds
// (go build ./cmd/funcd, make build) do not contain it.

package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd/clock"
)

// clockOffsetEnv is the environment variable that sets funcd's clock
// ahead of the system's, by a Go duration such as 11m.
const clockOffsetEnv = "FUNCD_CLOCK_OFFSET"

// processClock is the clock funcd runs on: the system's, moved by
// FUNCD_CLOCK_OFFSET when it is set, with a warning on stderr.
func processClock(g *globals) (clock.Clock, error) {
	v := ""
	if g.getenv != nil {
		v = strings.TrimSpace(g.getenv(clockOffsetEnv))
	}
	if v == "" {
		return clock.Real{}, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: expected a Go duration such as 11m, 90s or -1h", clockOffsetEnv, v)
	}
	fmt.Fprintf(g.stderr, "WARNING: TEST BUILD: %s=%s: funcd's clock runs %s ahead of the system's. "+
		"Visibility timeouts, leases, schedules and stored times all follow it. Never use this build in production.\n",
		clockOffsetEnv, v, d)
	return offsetClock{d}, nil
}

// offsetClock is the system clock moved by a fixed offset. Durations are
// the system's: only the times it tells are moved.
type offsetClock struct{ offset time.Duration }

var _ clock.Clock = offsetClock{}

func (c offsetClock) Now() time.Time { return time.Now().Add(c.offset) }

func (c offsetClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	time.AfterFunc(d, func() { ch <- c.Now() })
	return ch
}

func (c offsetClock) NewTimer(d time.Duration) clock.Timer {
	t := &offsetTimer{clk: c, c: make(chan time.Time, 1)}
	t.mu.Lock()
	t.t = time.AfterFunc(d, t.fire(0))
	t.mu.Unlock()
	return t
}

// offsetTimer is a timer of an offsetClock. As a *time.Timer, it sends
// nothing on C after Stop or Reset returns, even when it had fired and its
// time was not yet received.
type offsetTimer struct {
	clk offsetClock
	c   chan time.Time

	mu  sync.Mutex
	gen uint64 // counts Stop and Reset; a firing of an older one is dropped
	t   *time.Timer
}

func (t *offsetTimer) fire(gen uint64) func() {
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.gen != gen {
			return
		}
		select {
		case t.c <- t.clk.Now():
		default:
		}
	}
}

func (t *offsetTimer) C() <-chan time.Time { return t.c }

// stop stops the timer and empties C; it reports whether the timer was
// pending, counting a time sent but not received. t.mu is held.
func (t *offsetTimer) stop() bool {
	t.gen++
	pending := t.t.Stop()
	select {
	case <-t.c:
		pending = true
	default:
	}
	return pending
}

func (t *offsetTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stop()
}

func (t *offsetTimer) Reset(d time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pending := t.stop()
	t.t = time.AfterFunc(d, t.fire(t.gen))
	return pending
}
