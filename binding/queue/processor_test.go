package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// logRecorder keeps the log records a test reads back.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.recs, s)
}

// waitFor polls cond until it holds; the deadline only ends a test that
// hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type fixture struct {
	t   *testing.T
	clk *clocktest.Fake
	q   storage.Queues
	log *logRecorder
}

func newFixture(t *testing.T) *fixture {
	clk := clocktest.New(epoch)
	return &fixture{t: t, clk: clk, q: newTestQueues(t, clk), log: &logRecorder{}}
}

func (f *fixture) enqueue(queue string, bodies ...string) {
	f.t.Helper()
	for _, b := range bodies {
		if _, err := f.q.Enqueue(context.Background(), queue, []byte(b), 0, 0); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) start(queue string, opts ProcessorOptions, h MessageHandler) *Processor {
	f.t.Helper()
	opts.Clock, opts.Logger = f.clk, slog.New(f.log)
	p := NewProcessor(f.q, queue, opts, h)
	if err := p.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Stop(ctx)
	})
	return p
}

// count returns the messages of a queue, visible or not.
func (f *fixture) count(queue string) int64 {
	f.t.Helper()
	infos, err := f.q.ListQueues(context.Background(), queue)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, i := range infos {
		if i.Name == queue {
			return i.Messages
		}
	}
	return -1
}

func (f *fixture) peek(queue string) []storage.Message {
	f.t.Helper()
	ms, err := f.q.Peek(context.Background(), queue, 32)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		f.t.Fatal(err)
	}
	return ms
}

func (p *Processor) inFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inflight
}

// idle waits until no handler runs and the receive loop sleeps on its
// backoff timer, the only timer left.
func (f *fixture) idle(p *Processor) {
	f.t.Helper()
	waitFor(f.t, "the processor to go idle", func() bool { return p.inFlight() == 0 && f.clk.Timers() == 1 })
}

func TestProcessorDeletesHandledMessages(t *testing.T) {
	f := newFixture(t)
	var mu sync.Mutex
	var got []string
	f.enqueue("orders", "a", "b", "c")
	p := f.start("orders", ProcessorOptions{}, func(_ context.Context, m storage.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, string(m.Body))
		return nil
	})
	f.idle(p)
	waitFor(t, "the messages to be deleted", func() bool { return f.count("orders") == 0 })
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("handled %q", got)
	}
}

func TestProcessorBatchesAndBoundsMessagesInFlight(t *testing.T) {
	f := newFixture(t)
	f.enqueue("work", "1", "2", "3", "4", "5", "6")
	started := make(chan string, 10)
	release := make(chan struct{})
	var mu sync.Mutex
	running, most := 0, 0
	p := f.start("work", ProcessorOptions{BatchSize: 2, NewBatchThreshold: 1}, func(_ context.Context, m storage.Message) error {
		mu.Lock()
		running++
		most = max(most, running)
		mu.Unlock()
		started <- string(m.Body)
		<-release
		mu.Lock()
		running--
		mu.Unlock()
		return nil
	})
	<-started
	<-started
	// Two in flight is above the threshold of one: no receive until one
	// ends.
	select {
	case b := <-started:
		t.Fatalf("message %s started with two in flight and a threshold of 1", b)
	case <-time.After(50 * time.Millisecond):
	}
	if n := len(f.peek("work")); n != 4 {
		t.Fatalf("%d messages visible after the first batch, want 4", n)
	}
	release <- struct{}{}
	<-started // the next batch of two
	<-started
	close(release)
	f.idle(p)
	waitFor(t, "every message to be deleted", func() bool { return f.count("work") == 0 })
	mu.Lock()
	defer mu.Unlock()
	if most != 3 {
		t.Errorf("at most %d handlers ran at once, want BatchSize+NewBatchThreshold = 3", most)
	}
}

func TestProcessorRetriesAfterVisibilityTimeoutThenPoisons(t *testing.T) {
	f := newFixture(t)
	f.enqueue("jobs", "boom")
	counts := make(chan int64, 10)
	p := f.start("jobs", ProcessorOptions{MaxDequeueCount: 3, VisibilityTimeout: 30 * time.Second},
		func(_ context.Context, m storage.Message) error {
			counts <- m.DequeueCount
			return errors.New("fail")
		})
	for want := int64(1); want <= 3; want++ {
		if got := <-counts; got != want {
			t.Fatalf("attempt with DequeueCount %d, want %d", got, want)
		}
		f.idle(p)
		if want < 3 {
			// Invisible for the visibility timeout, then tried again.
			if n := len(f.peek("jobs")); n != 0 {
				t.Fatalf("failed message visible before its visibility timeout")
			}
			f.clk.Advance(30 * time.Second)
		}
	}
	if f.count("jobs") != 0 {
		t.Errorf("message still in the queue after MaxDequeueCount failures")
	}
	poison := f.peek("jobs-poison")
	if len(poison) != 1 || string(poison[0].Body) != "boom" || poison[0].DequeueCount != 0 {
		t.Fatalf("poison queue holds %+v", poison)
	}
	if want := "WARN Message has reached MaxDequeueCount of 3. Moving message to queue 'jobs-poison'."; !f.log.has(want) {
		t.Errorf("log lacks %q: %q", want, f.log.recs)
	}
	select {
	case c := <-counts:
		t.Errorf("poisoned message tried again (DequeueCount %d)", c)
	default:
	}
}

func TestProcessorZeroVisibilityTimeoutRetriesAtOnce(t *testing.T) {
	f := newFixture(t)
	f.enqueue("fast", "x")
	counts := make(chan int64, 10)
	f.start("fast", ProcessorOptions{MaxDequeueCount: 2}, func(_ context.Context, m storage.Message) error {
		counts <- m.DequeueCount
		return errors.New("fail")
	})
	// Released with no delay, the message wakes the listener: no clock
	// advance is needed for the second try.
	if a, b := <-counts, <-counts; a != 1 || b != 2 {
		t.Fatalf("dequeue counts %d, %d", a, b)
	}
	waitFor(t, "the poison message", func() bool { return len(f.peek("fast-poison")) == 1 })
}

func TestProcessorPoisonsOverCountedMessageWithoutCallingHandler(t *testing.T) {
	f := newFixture(t)
	f.enqueue("old", "stale")
	for range 5 {
		if ms, err := f.q.Receive(context.Background(), "old", 1, 0); err != nil || len(ms) != 1 {
			t.Fatalf("receive: %v %v", ms, err)
		}
	}
	called := make(chan struct{}, 1)
	p := f.start("old", ProcessorOptions{}, func(context.Context, storage.Message) error {
		called <- struct{}{}
		return nil
	})
	waitFor(t, "the poison message", func() bool { return len(f.peek("old-poison")) == 1 })
	f.idle(p)
	select {
	case <-called:
		t.Error("handler called for a message past MaxDequeueCount")
	default:
	}
	if !f.log.has("WARN Message has reached MaxDequeueCount of 5. Moving message to queue 'old-poison'.") {
		t.Errorf("warning not logged: %q", f.log.recs)
	}
}

func TestProcessorErrPoisonMovesAtOnce(t *testing.T) {
	f := newFixture(t)
	f.enqueue("bad", "x")
	f.start("bad", ProcessorOptions{}, func(context.Context, storage.Message) error {
		return fmt.Errorf("cannot decode: %w", ErrPoison)
	})
	waitFor(t, "the poison message", func() bool { return len(f.peek("bad-poison")) == 1 })
}

func TestProcessorWithoutPoisonQueueLeavesFailedMessageInvisible(t *testing.T) {
	f := newFixture(t)
	f.enqueue("jobs-poison", "x")
	tries := make(chan int64, 10)
	p := f.start("jobs-poison", ProcessorOptions{}, func(_ context.Context, m storage.Message) error {
		tries <- m.DequeueCount
		return errors.New("fail")
	})
	<-tries
	f.idle(p)
	f.clk.Advance(receiveVisibility - time.Second)
	f.idle(p)
	if len(f.peek("jobs-poison")) != 0 || f.count("jobs-poison") != 1 {
		t.Fatal("failed message without a poison queue should stay invisible")
	}
	f.clk.Advance(time.Minute)
	if c := <-tries; c != 2 {
		t.Errorf("retried with DequeueCount %d", c)
	}
	if f.count("jobs-poison-poison") != -1 {
		t.Error("a poison queue of a poison queue was made")
	}
}

func TestProcessorWakesOnEnqueueDuringLongBackoff(t *testing.T) {
	f := newFixture(t)
	if err := f.q.CreateQueue(context.Background(), "idle"); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	p := f.start("idle", ProcessorOptions{}, func(_ context.Context, m storage.Message) error {
		got <- string(m.Body)
		return nil
	})
	for range 12 { // back off up to the one-minute cap
		f.idle(p)
		f.clk.Advance(time.Minute)
	}
	f.idle(p)
	f.enqueue("idle", "hello")
	if b := <-got; b != "hello" {
		t.Fatalf("handled %q", b)
	}
}

func TestProcessorBacksOffWhileQueueIsMissing(t *testing.T) {
	f := newFixture(t)
	got := make(chan string, 1)
	p := f.start("later", ProcessorOptions{MaxPollingInterval: 2 * time.Second}, func(_ context.Context, m storage.Message) error {
		got <- string(m.Body)
		return nil
	})
	f.idle(p)
	f.clk.Advance(2 * time.Second)
	f.idle(p)
	f.enqueue("later", "first") // creates the queue and wakes the processor
	if b := <-got; b != "first" {
		t.Fatalf("handled %q", b)
	}
}

func TestProcessorRenewsVisibilityDuringLongHandler(t *testing.T) {
	f := newFixture(t)
	f.enqueue("slow", "x")
	started := make(chan struct{})
	release := make(chan struct{})
	calls := 0
	p := f.start("slow", ProcessorOptions{NewBatchThreshold: 4}, func(context.Context, storage.Message) error {
		calls++
		close(started)
		<-release
		return nil
	})
	<-started
	// The renewal timer (half the ten-minute visibility) and the loop's
	// backoff timer.
	waitFor(t, "the renewal timer", func() bool { return f.clk.Timers() == 2 })
	f.clk.Advance(5 * time.Minute)
	waitFor(t, "the renewal to be rearmed", func() bool { return f.clk.Timers() == 2 })
	f.clk.Advance(6 * time.Minute) // past the first ten minutes
	waitFor(t, "the loop to sleep again", func() bool { return f.clk.Timers() == 2 })
	if ms, err := f.q.Receive(context.Background(), "slow", 32, 0); err != nil || len(ms) != 0 {
		t.Fatalf("message visible again while its handler runs: %v %v", ms, err)
	}
	close(release)
	f.idle(p)
	if calls != 1 {
		t.Errorf("handler called %d times", calls)
	}
	// Deleted with the pop receipt of the renewal.
	if n := f.count("slow"); n != 0 {
		t.Errorf("%d messages left after success", n)
	}
}

func TestProcessorStopWaitsForHandlers(t *testing.T) {
	f := newFixture(t)
	f.enqueue("stopq", "x")
	started := make(chan struct{})
	release := make(chan struct{})
	p := f.start("stopq", ProcessorOptions{}, func(context.Context, storage.Message) error {
		close(started)
		<-release
		return nil
	})
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) with a handler in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if n := f.count("stopq"); n != 0 {
		t.Errorf("message not deleted by the handler that finished during Stop: %d left", n)
	}
}

func TestProcessorAbandonedMessageIsDeliveredAgain(t *testing.T) {
	f := newFixture(t)
	f.enqueue("abandonq", "x")
	started := make(chan struct{})
	p := f.start("abandonq", ProcessorOptions{}, func(ctx context.Context, m storage.Message) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop = %v, want the context's error", err)
	}
	p.handlers.Wait()
	if len(f.peek("abandonq")) != 0 {
		t.Fatal("abandoned message released before its visibility timeout")
	}
	f.clk.Advance(receiveVisibility)
	ms, err := f.q.Receive(context.Background(), "abandonq", 1, time.Minute)
	if err != nil || len(ms) != 1 || ms[0].DequeueCount != 2 {
		t.Fatalf("after the visibility timeout: %+v %v", ms, err)
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 2*time.Second)
	b.jitter = func() float64 { return 0.5 } // no jitter
	var got []string
	for range 7 {
		got = append(got, b.next(false).String())
	}
	got = append(got, b.next(true).String(), b.next(false).String())
	want := "100ms 200ms 300ms 500ms 900ms 1.7s 2s 100ms 200ms"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("delays %s\nwant   %s", s, want)
	}
	b.jitter = func() float64 { return 0.999999 }
	b.next(true)
	if d := b.next(false); d < 219*time.Millisecond || d > 220*time.Millisecond {
		t.Errorf("jittered second delay %v, want about 220ms", d)
	}
}

func TestPoisonQueueName(t *testing.T) {
	for in, want := range map[string]string{
		"orders":                "orders-poison",
		"orders-poison":         "",
		strings.Repeat("a", 56): strings.Repeat("a", 56) + "-poison",
		strings.Repeat("a", 57): "",
	} {
		if got := PoisonQueueName(in); got != want {
			t.Errorf("PoisonQueueName(%q) = %q, want %q", in, got, want)
		}
	}
}
