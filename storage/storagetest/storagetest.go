// Package storagetest is the conformance suite every storage backend passes:
// one body of tests holding each backend to the behaviour package storage
// documents.
//
// A backend's test opens a fresh, empty store per subtest:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T, clk clock.Clock) storage.Store {
//			s, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite passes a fake clock (clocktest.Fake) and advances it to drive
// visibility timeouts, message expiry and lease expiry. A backend that reads
// the real clock (Azure Storage, Azurite) says so with RealTime: the suite
// then passes clock.Real{}, waits a few real seconds where a case needs time
// to pass, and skips, naming the reason, the few cases that would need hours.
//
// Backends that implement only some of storage.Store run only their groups
// (RunQueues, RunBlobs, ...). A backend that several processes share runs
// RunTwoInstances with an opener of two stores on one database.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

// Opener opens a fresh, empty backend for one test, reading the clock clk,
// and registers its own cleanup (closing it, removing its data) with
// t.Cleanup. It fails the test (t.Fatal) when the backend cannot be opened:
// a missing service is a failure, never a skip.
type Opener[S any] func(t *testing.T, clk clock.Clock) S

// PairOpener opens two stores on one fresh, empty database, as two processes
// sharing a backend would, both reading clk.
type PairOpener func(t *testing.T, clk clock.Clock) (a, b storage.Store)

// Option changes how the suite runs.
type Option func(*config)

type config struct {
	realTime string        // why the backend reads the real clock; "" when it takes a fake one
	minLease time.Duration // the shortest claim the backend keeps; 0: any
}

// MinLease says that the backend keeps no claim (receipt) shorter than d,
// as Azure's blob leases last at least 15 seconds: the cases that let a
// short claim expire ask for d instead.
func MinLease(d time.Duration) Option {
	return func(c *config) { c.minLease = d }
}

// RealTime says that the backend reads the real clock rather than the one it
// is opened with; why names the backend's limitation in the reasons given for
// skipped cases.
func RealTime(why string) Option {
	return func(c *config) { c.realTime = why }
}

// Epoch is the fake clock's time when a store is opened: whole seconds, so
// that a backend storing times at second, millisecond or microsecond
// precision stores them exactly.
var Epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// Run runs every group of the suite against a full store.
func Run(t *testing.T, open Opener[storage.Store], opts ...Option) {
	t.Run("Queues", func(t *testing.T) {
		RunQueues(t, func(t *testing.T, c clock.Clock) storage.Queues { return open(t, c) }, opts...)
	})
	t.Run("Blobs", func(t *testing.T) {
		RunBlobs(t, func(t *testing.T, c clock.Clock) storage.Blobs { return open(t, c) }, opts...)
	})
	t.Run("BlobFeed", func(t *testing.T) {
		RunBlobFeed(t, func(t *testing.T, c clock.Clock) FeedStore { return open(t, c) }, opts...)
	})
	t.Run("Leases", func(t *testing.T) {
		RunLeases(t, func(t *testing.T, c clock.Clock) storage.Leases { return open(t, c) }, opts...)
	})
	t.Run("Schedules", func(t *testing.T) {
		RunSchedules(t, func(t *testing.T, c clock.Clock) ScheduleStore { return open(t, c) }, opts...)
	})
	t.Run("Receipts", func(t *testing.T) {
		RunReceipts(t, func(t *testing.T, c clock.Clock) storage.Receipts { return open(t, c) }, opts...)
	})
	t.Run("Checkpoints", func(t *testing.T) {
		RunCheckpoints(t, func(t *testing.T, c clock.Clock) storage.Checkpoints { return open(t, c) }, opts...)
	})
}

// env is one subtest's view of time: a fake clock it advances, or the real
// one it waits on.
type env struct {
	t        *testing.T
	ctx      context.Context
	fake     *clocktest.Fake // nil in real time
	realTime string
	minLease time.Duration
}

func newEnv(t *testing.T, opts []Option) *env {
	var c config
	for _, o := range opts {
		o(&c)
	}
	e := &env{t: t, ctx: t.Context(), realTime: c.realTime, minLease: c.minLease}
	if c.realTime == "" {
		e.fake = clocktest.New(Epoch)
	}
	return e
}

// clock is the clock to open the store with.
func (e *env) clock() clock.Clock {
	if e.fake != nil {
		return e.fake
	}
	return clock.Real{}
}

func (e *env) now() time.Time { return e.clock().Now() }

// advance lets d pass: at once on the fake clock, by sleeping (with a
// second's slack for backends that keep times in whole seconds) on the real
// one.
func (e *env) advance(d time.Duration) {
	if e.fake != nil {
		e.fake.Advance(d)
		return
	}
	time.Sleep(d + time.Second)
}

// needFakeClock skips the rest of a case that needs more time to pass than a
// test can wait for.
func (e *env) needFakeClock(what string) {
	e.t.Helper()
	if e.fake == nil {
		e.t.Skipf("skipped: %s needs a fake clock, and %s", what, e.realTime)
	}
}

// sameTime checks a time the backend reported: exact on the fake clock,
// within a few seconds on the real one.
func (e *env) sameTime(what string, got, want time.Time) {
	e.t.Helper()
	slack := time.Duration(0)
	if e.fake == nil {
		slack = 5 * time.Second
	}
	if d := got.Sub(want); d < -slack || d > slack {
		e.t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// must fails the test at once on an error.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantErr checks that err wraps target.
func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want %v", what, err, target)
	}
}

// signalWait is how long a watch may take to signal before a case fails.
// It is a deadline for a hang, not a measure of speed.
const signalWait = 30 * time.Second

// drain empties a watch channel so the next signal is a fresh one.
func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}

// wantSignal waits for a watch to signal.
func wantSignal(t *testing.T, ch <-chan struct{}, after string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(signalWait):
		t.Errorf("no signal within %v after %s", signalWait, after)
	}
}

func name(prefix string, i int) string { return fmt.Sprintf("%s%03d", prefix, i) }

// testCase is one case of a group, run on a fresh store.
type testCase[S any] struct {
	name string
	run  func(e *env, s S)
}

func runCases[S any](t *testing.T, open Opener[S], opts []Option, cases []testCase[S]) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, opts)
			c.run(e, open(t, e.clock()))
		})
	}
}

// queues builds the listing ListQueues should return from name, count pairs.
func queues(pairs ...any) []storage.QueueInfo {
	out := make([]storage.QueueInfo, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, storage.QueueInfo{Name: pairs[i].(string), Messages: int64(pairs[i+1].(int))})
	}
	return out
}
