package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
)

var epoch = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// harness runs a Supervisor on a fake clock.
type harness struct {
	t        *testing.T
	clock    *clocktest.Fake
	sup      *Supervisor
	launches atomic.Int32
	fatal    chan error
}

// newHarness returns a harness; opts, if any, change the Supervisor's
// configuration.
func newHarness(t *testing.T, mode func(n int) Spec, ready func(ctx context.Context, p *Process) error, opts ...func(*Config)) *harness {
	h := &harness{t: t, clock: clocktest.New(epoch), fatal: make(chan error, 1)}
	cfg := Config{
		Prepare: func() (Spec, error) { return mode(int(h.launches.Add(1))), nil },
		Ready:   ready,
		Clock:   h.clock,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnFatal: func(err error) { h.fatal <- err },
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.sup = NewSupervisor(cfg)
	t.Cleanup(func() { _ = h.sup.Stop(context.Background()) })
	return h
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.sup.Start(h.t.Context()); err != nil {
		h.t.Fatal(err)
	}
}

// backoff waits until the Supervisor sleeps on the clock, checks that it
// does not restart a moment too early, and advances past the backoff.
func (h *harness) backoff(want time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), 10*time.Second)
	defer cancel()
	if err := h.clock.BlockUntil(ctx, 1); err != nil {
		h.t.Fatalf("no backoff timer after %d launches", h.launches.Load())
	}
	n := h.launches.Load()
	h.clock.Advance(want - time.Millisecond)
	if h.launches.Load() != n || h.clock.Timers() != 1 {
		h.t.Fatalf("restarted before the %v backoff", want)
	}
	h.clock.Advance(time.Millisecond)
}

func (h *harness) waitLaunches(n int32) {
	h.t.Helper()
	eventually(h.t, func() bool { return h.launches.Load() >= n }, "launches = %d, want %d", h.launches.Load(), n)
}

// hostLimit gives the Supervisor the Functions host's restart limit.
func hostLimit(c *Config) { c.MaxErrors = DefaultMaxErrors }

func exiting(code int) func(int) Spec {
	return func(int) Spec { return helperSpec("exit", code) }
}

func TestSupervisorGivesUpAfterThreeFailures(t *testing.T) {
	h := newHarness(t, exiting(1), nil, hostLimit)
	h.start()
	h.backoff(DefaultBackoff)
	h.waitLaunches(2)
	h.backoff(2 * DefaultBackoff)
	h.waitLaunches(3)

	var err error
	select {
	case err = <-h.fatal:
	case <-time.After(10 * time.Second):
		t.Fatal("OnFatal not called")
	}
	var limit *RestartLimitError
	if !errors.As(err, &limit) || limit.Failures != 3 {
		t.Fatalf("fatal error = %v, want a *RestartLimitError after 3 failures", err)
	}
	if !strings.HasPrefix(err.Error(), "Exceeded http worker restart retry count. Shutting down Functions Host") {
		t.Errorf("message = %q", err.Error())
	}
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 1 {
		t.Errorf("last failure = %v, want the exit", limit.Last)
	}
	if _, werr := h.sup.Wait(t.Context()); werr != err {
		t.Errorf("Wait = %v, want the fatal error", werr)
	}
	if h.sup.Err() != err {
		t.Errorf("Err = %v", h.sup.Err())
	}
	if n := h.launches.Load(); n != 3 {
		t.Errorf("launches = %d, want 3", n)
	}
}

func TestSupervisorWindowClearsTheCount(t *testing.T) {
	h := newHarness(t, exiting(0), nil, hostLimit) // exit 0 counts too
	h.start()
	for i := range 5 {
		h.waitLaunches(int32(i + 1))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := h.clock.BlockUntil(ctx, 1); err != nil {
			t.Fatal("no backoff timer")
		}
		cancel()
		h.clock.Advance(DefaultErrorWindow + time.Minute)
	}
	select {
	case err := <-h.fatal:
		t.Fatalf("gave up although failures were %v apart: %v", DefaultErrorWindow+time.Minute, err)
	default:
	}
}

func TestSupervisorCountsFromThePreviousFailure(t *testing.T) {
	// Failures 29 minutes apart keep counting, even though the first and
	// the third are 58 minutes apart.
	h := newHarness(t, exiting(1), nil, hostLimit)
	h.start()
	for i := range 2 {
		h.waitLaunches(int32(i + 1))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		if err := h.clock.BlockUntil(ctx, 1); err != nil {
			t.Fatal("no backoff timer")
		}
		cancel()
		h.clock.Advance(29 * time.Minute)
	}
	select {
	case <-h.fatal:
	case <-time.After(10 * time.Second):
		t.Fatal("did not give up")
	}
}

func TestSupervisorRestartIsNotAFailure(t *testing.T) {
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, nil)
	h.start()
	var pids []int
	for range 5 {
		p, err := h.sup.Wait(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, p.Pid())
		h.sup.Restart("test")
		waitDone(t, p)
	}
	p, err := h.sup.Wait(t.Context())
	if err != nil {
		t.Fatalf("Wait after restarts: %v", err)
	}
	for _, old := range pids {
		if old == p.Pid() {
			t.Fatalf("process %d was not replaced", old)
		}
	}
	if h.clock.Timers() != 0 {
		t.Error("a restart waited for a backoff")
	}
}

func TestSupervisorIntentionalRestartExit(t *testing.T) {
	h := newHarness(t, exiting(IntentionalRestartExitCode), nil, hostLimit)
	h.start()
	h.waitLaunches(6)
	select {
	case err := <-h.fatal:
		t.Fatalf("gave up on intentional restarts: %v", err)
	default:
	}
}

func TestSupervisorReadiness(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	ready := func(ctx context.Context, p *Process) error {
		if calls.Add(1) == 1 {
			return errors.New("not listening")
		}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, ready)
	h.start()

	// The failed readiness check counts and backs off.
	h.backoff(DefaultBackoff)
	h.waitLaunches(2)

	waited := make(chan *Process)
	go func() {
		p, _ := h.sup.Wait(t.Context())
		waited <- p
	}()
	short, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.sup.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait before ready = %v, want the context's error", err)
	}
	if h.sup.Current() != nil {
		t.Fatal("Current before ready is not nil")
	}
	close(release)
	var p *Process
	select {
	case p = <-waited:
	case <-time.After(10 * time.Second):
		t.Fatalf("Wait did not return after the readiness check passed (launches = %d)", h.launches.Load())
	}
	if p == nil || h.sup.Current() != p {
		t.Fatalf("Wait = %v, Current = %v", p, h.sup.Current())
	}
}

func TestSupervisorStopWaitsForTheGracePeriod(t *testing.T) {
	base := runtime.NumGoroutine()
	c := newCollector()
	h := newHarness(t, func(int) Spec { return helperSpec("ignoreterm", 0) }, nil)
	h.sup.cfg.Output = c.output
	h.start()
	p, err := h.sup.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	c.waitLine(t, "ready")

	stopped := make(chan error)
	go func() { stopped <- h.sup.Stop(context.Background()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal("Stop did not start a grace timer")
	}
	select {
	case <-p.Done():
		t.Fatal("process ignoring SIGTERM exited before the grace period")
	default:
	}
	h.clock.Advance(DefaultStopGrace)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if p.ExitCode() != 137 {
		t.Errorf("ExitCode = %d, want 137", p.ExitCode())
	}
	if _, err := h.sup.Wait(t.Context()); !errors.Is(err, ErrStopped) {
		t.Errorf("Wait after Stop = %v", err)
	}
	if err := h.sup.Stop(context.Background()); err != nil {
		t.Errorf("second Stop = %v", err)
	}
	checkGoroutines(t, base)
}

func TestSupervisorStopContextCutsTheGracePeriod(t *testing.T) {
	h := newHarness(t, func(int) Spec { return helperSpec("ignoreterm", 0) }, nil)
	h.start()
	p, err := h.sup.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.sup.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stop = %v", err)
	}
	waitGone(t, p.Pid())
}

func TestSupervisorStartErrors(t *testing.T) {
	sup := NewSupervisor(Config{Prepare: func() (Spec, error) { return Spec{Path: "/nonexistent/x"}, nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := sup.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "/nonexistent/x") {
		t.Fatalf("Start = %v", err)
	}
	if _, err := sup.Wait(t.Context()); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Wait = %v", err)
	}
	if err := stopWithin(t, sup); err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(t.Context()); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
	if err := stopWithin(t, sup); err != nil {
		t.Errorf("second Stop = %v", err)
	}
}

func TestSupervisorStopDuringAFailedStart(t *testing.T) {
	entered := make(chan struct{})
	var sup *Supervisor
	sup = NewSupervisor(Config{
		Prepare: func() (Spec, error) {
			close(entered)
			<-sup.stopCh // Stop comes while the first process is launched
			return Spec{Path: "/nonexistent/x"}, nil
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	started := make(chan error, 1)
	go func() { started <- sup.Start(t.Context()) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not prepare a process")
	}
	if err := stopWithin(t, sup); err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if err := <-started; err == nil || !strings.Contains(err.Error(), "/nonexistent/x") {
		t.Fatalf("Start = %v", err)
	}
	if _, err := sup.Wait(t.Context()); !errors.Is(err, ErrStopped) {
		t.Errorf("Wait = %v, want ErrStopped", err)
	}
	if err := sup.Start(t.Context()); err == nil {
		t.Error("Start after Stop succeeded")
	}
}

// stopWithin stops sup with a background context and fails the test if Stop
// does not return within 10 seconds.
func stopWithin(t *testing.T, sup *Supervisor) error {
	t.Helper()
	stopped := make(chan error, 1)
	go func() { stopped <- sup.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
		return nil
	}
}

func TestSupervisorConcurrentUse(t *testing.T) {
	base := runtime.NumGoroutine()
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, nil)
	h.start()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				p, err := h.sup.Wait(ctx)
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
				if i%4 == 0 {
					h.sup.Restart("concurrent")
				}
				_ = p.Pid()
				_ = h.sup.Current()
			}
		})
	}
	wg.Wait()
	if err := h.sup.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	checkGoroutines(t, base)
}

// TestSupervisorTerminateHook: Config.Terminate replaces SIGTERM when it
// succeeds; SIGKILL still follows after StopGrace.
func TestSupervisorTerminateHook(t *testing.T) {
	var asked atomic.Int32
	h := newHarness(t, func(int) Spec { return helperSpec("sleep", 0) }, nil, func(c *Config) {
		c.Terminate = func(*Process) error { asked.Add(1); return nil }
	})
	h.start()
	p, err := h.sup.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error)
	go func() { stopped <- h.sup.Stop(context.Background()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.clock.BlockUntil(ctx, 1); err != nil {
		t.Fatal("Stop did not start a grace timer")
	}
	if asked.Load() != 1 {
		t.Fatalf("Terminate called %d times", asked.Load())
	}
	select {
	case <-p.Done():
		t.Fatal("the process got SIGTERM although Terminate succeeded")
	default:
	}
	h.clock.Advance(DefaultStopGrace)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop = %v", err)
	}
	if p.ExitCode() != 137 {
		t.Errorf("ExitCode = %d, want 137", p.ExitCode())
	}
}
