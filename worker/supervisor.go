package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/funcd/funcd/clock"
)

// Restart policy defaults.
const (
	// DefaultMaxErrors is the Functions host's limit: that many failures in
	// a row, each within ErrorWindow of the one before, make it give up
	// (ErrorEventsThreshold). A Supervisor applies it only when
	// Config.MaxErrors asks for it; by default it restarts forever.
	DefaultMaxErrors = 3
	// DefaultErrorWindow clears the failure count when a failure comes this
	// long after the previous one (WorkerRestartErrorIntervalThresholdInMinutes).
	DefaultErrorWindow = 30 * time.Minute
	// DefaultBackoff is the wait before the first restart after a failure;
	// it doubles with every further failure in a row. The Functions host
	// restarts at once; a wait keeps a crashing worker from spinning.
	DefaultBackoff = time.Second
	// DefaultMaxBackoff caps the backoff.
	DefaultMaxBackoff = time.Minute
	// DefaultResetAfter is how long a process must have served for its
	// failure to start a new run of failures (backoff from DefaultBackoff
	// again).
	DefaultResetAfter = time.Minute
	// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL.
	DefaultStopGrace = 5 * time.Second
	// DefaultRestartWait is how far off a crashed worker's replacement may
	// be for an invocation to wait for it (WaitRestart) rather than fail:
	// it covers the first four restarts' backoff (1 s doubling to 8 s), so
	// a worker that crashes now and then costs its callers a short wait,
	// and one that keeps failing costs them at most about 15 seconds.
	DefaultRestartWait = 10 * time.Second
)

// IntentionalRestartExitCode is the exit code with which a worker asks to be
// restarted; such an exit is not counted as a failure.
const IntentionalRestartExitCode = 200

// ErrStopped is returned by Wait once the Supervisor is stopped.
var ErrStopped = errors.New("worker supervisor is stopped")

// ErrNotStarted is returned by Wait before Start.
var ErrNotStarted = errors.New("worker supervisor is not started")

// RestartLimitError is the error a Supervisor gives up with.
type RestartLimitError struct {
	// Failures is the number of failures counted, each within Window of
	// the one before.
	Failures int
	Window   time.Duration
	// Last is the last failure: an *ExitError, a launch error or the
	// readiness hook's error.
	Last error
}

// Error starts with the Functions host's words, then says why.
func (e *RestartLimitError) Error() string {
	return fmt.Sprintf("Exceeded http worker restart retry count. Shutting down Functions Host "+
		"(%d failures, each less than %v after the one before; last: %v)", e.Failures, e.Window, e.Last)
}

// Unwrap returns the last failure.
func (e *RestartLimitError) Unwrap() error { return e.Last }

// DownError is what Wait returns while the Supervisor waits out the backoff
// before it starts a process again: callers fail fast instead of waiting
// for a process that is not there.
type DownError struct {
	// Failures is the number of failures in a row.
	Failures int
	// Last is the last failure: an *ExitError, a launch error or the
	// readiness hook's error.
	Last error
	// Retry is when the next process starts.
	Retry time.Time
}

func (e *DownError) Error() string {
	return fmt.Sprintf("the worker process is down after %d failure(s) in a row and starts again at %s (last failure: %v)",
		e.Failures, e.Retry.Format(time.RFC3339), e.Last)
}

// Unwrap returns the last failure.
func (e *DownError) Unwrap() error { return e.Last }

// Config configures a Supervisor. Prepare is required; the zero value of
// every other field means its default.
type Config struct {
	// Prepare describes the next process. It is called before every start,
	// so each process can have fresh resources (a new port, a new id).
	Prepare func() (Spec, error)

	// Ready, if set, is called after every start and returns nil once the
	// process serves, or an error, which counts as a failure. Its ctx is
	// cancelled when the process exits or the Supervisor stops, and Ready
	// must then return promptly. Without Ready a process is ready once
	// started.
	Ready func(ctx context.Context, p *Process) error

	// Output receives every output line of every process; nil discards.
	Output OutputFunc

	// Terminate, if set, asks a process to stop when the Supervisor stops:
	// a protocol's own shutdown message, say. Without it, or when it fails,
	// the process group gets SIGTERM. Either way SIGKILL follows after
	// StopGrace.
	Terminate func(p *Process) error

	// Clock times the backoff and the stop grace period; default the real
	// clock.
	Clock clock.Clock

	// Logger receives the Supervisor's own records; default slog.Default().
	Logger *slog.Logger

	// OnFatal is called once when the Supervisor gives up, with a
	// *RestartLimitError, after its goroutine has finished (so OnFatal may
	// call Stop).
	OnFatal func(error)

	// MaxErrors, when positive, makes the Supervisor give up after that many
	// failures, each within ErrorWindow of the one before
	// (DefaultMaxErrors is the Functions host's rule). Zero restarts
	// forever.
	MaxErrors   int
	ErrorWindow time.Duration // default DefaultErrorWindow
	Backoff     time.Duration // default DefaultBackoff
	MaxBackoff  time.Duration // default DefaultMaxBackoff
	ResetAfter  time.Duration // default DefaultResetAfter
	StopGrace   time.Duration // default DefaultStopGrace
}

func (c *Config) setDefaults() {
	if c.Clock == nil {
		c.Clock = clock.Real{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	setDefault(&c.ErrorWindow, DefaultErrorWindow)
	setDefault(&c.Backoff, DefaultBackoff)
	setDefault(&c.MaxBackoff, DefaultMaxBackoff)
	setDefault(&c.ResetAfter, DefaultResetAfter)
	setDefault(&c.StopGrace, DefaultStopGrace)
}

func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// Supervisor keeps one worker process running. Start launches the first
// process; after that the Supervisor waits for it to be ready, publishes it
// (Wait, Current), and replaces it when it exits, when it fails to become
// ready, or when Restart asks.
//
// A failure (an exit, a failed start, a failed readiness check) is followed
// by a backoff: Backoff, doubling with every further failure in a row up to
// MaxBackoff. A process that served for ResetAfter before it failed starts a
// new run of failures. While the Supervisor waits out a backoff, Wait fails
// at once with a *DownError. An exit with IntentionalRestartExitCode and a
// Restart are not failures and restart at once.
//
// With MaxErrors set, failures are also counted the way the Functions host
// counts HTTP worker errors: a failure more than ErrorWindow after the
// previous one clears the count; once the count reaches MaxErrors the
// Supervisor gives up with a *RestartLimitError, calls OnFatal and Wait
// returns that error from then on. Without MaxErrors it never gives up.
//
// Unlike the Functions host, which leaves a worker that exits with code 0
// dead, the Supervisor counts that exit as a failure and restarts it.
//
// A Supervisor is safe for concurrent use. After Stop returns, none of its
// goroutines is left and no process it started is running.
type Supervisor struct {
	cfg Config

	ready     atomic.Pointer[Process] // the published process, or nil
	restartCh chan string             // at most one pending restart request
	stopCh    chan struct{}           // closed by Stop
	done      chan struct{}           // closed when the loop has finished, or by Stop if none will run

	mu       sync.Mutex
	state    supervisorState // guarded by mu
	fatal    error           // guarded by mu
	changed  chan struct{}   // closed and replaced on every change; guarded by mu
	stopCtx  context.Context // Stop's context; guarded by mu
	phase    Phase           // guarded by mu
	down     *DownError      // while phase is PhaseDown; guarded by mu
	health   Health          // counters and the last failure; guarded by mu
	failures int             // failures within ErrorWindow of each other; used by the loop only
	lastFail time.Time       // time of the last failure; used by the loop only
	streak   int             // failures in a row; used by the loop only
}

// Phase is where a Supervisor's current process is in its life.
type Phase string

// Phases of a Supervisor.
const (
	// PhaseNotStarted: Start has not been called, or failed.
	PhaseNotStarted Phase = "NotStarted"
	// PhaseStarting: a process is launched and not ready yet.
	PhaseStarting Phase = "Starting"
	// PhaseReady: the process serves (Wait returns it).
	PhaseReady Phase = "Ready"
	// PhaseDown: the process failed; the next one starts after a backoff.
	PhaseDown Phase = "Down"
	// PhaseFailed: the Supervisor gave up (MaxErrors).
	PhaseFailed Phase = "Failed"
	// PhaseStopped: Stop was called.
	PhaseStopped Phase = "Stopped"
)

// Health is a snapshot of a Supervisor, for status pages and probes.
type Health struct {
	Phase Phase
	// Pid is the current process's id, or 0.
	Pid int
	// Restarts counts the processes started to replace an earlier one,
	// for any reason (failure, Restart, intentional exit).
	Restarts int
	// Failures counts failures in a row; it goes back to zero once a
	// process has served for ResetAfter.
	Failures int
	// LastFailure is the last failure's message and LastFailureAt its time;
	// empty and zero before any.
	LastFailure   string
	LastFailureAt time.Time
	// ReadySince is when the current process became ready (PhaseReady).
	ReadySince time.Time
	// NextStart is when the next process starts (PhaseDown).
	NextStart time.Time
}

type supervisorState int

const (
	stateIdle supervisorState = iota
	stateRunning
	stateFatal
	stateStopped
)

// NewSupervisor returns a Supervisor that has started nothing yet.
func NewSupervisor(cfg Config) *Supervisor {
	cfg.setDefaults()
	return &Supervisor{
		cfg:       cfg,
		restartCh: make(chan string, 1),
		stopCh:    make(chan struct{}),
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
	}
}

// Start launches the first process and returns once it has started, without
// waiting for it to be ready; the rest happens on the Supervisor's
// goroutine. An error launching the first process (a missing executable,
// say) is returned as is and leaves the Supervisor unstarted, so Start may be
// called again, unless Stop was called meanwhile. Start after a successful
// Start, or after Stop, fails.
func (s *Supervisor) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.state != stateIdle {
		s.mu.Unlock()
		return errors.New("worker supervisor already started or stopped")
	}
	s.state = stateRunning
	s.phase = PhaseStarting
	s.mu.Unlock()

	p, err := s.launch()
	if err != nil {
		s.mu.Lock()
		if s.state == stateRunning {
			s.state = stateIdle
			s.phase = PhaseNotStarted
		} else {
			// Stop came during the launch and waits for a loop that
			// will not run.
			close(s.done)
		}
		s.mu.Unlock()
		return err
	}
	go s.run(p)
	return nil
}

// Wait returns the ready process, waiting for one while a process starts or
// restarts; a process that has just exited is not returned. It fails with
// ctx's error when ctx is done first, at once with a *DownError while the
// Supervisor waits out a backoff after a failure, with the
// *RestartLimitError once the Supervisor has given up, with ErrStopped after
// Stop and with ErrNotStarted before Start.
func (s *Supervisor) Wait(ctx context.Context) (*Process, error) {
	return s.WaitRestart(ctx, 0)
}

// WaitRestart is Wait that also waits out a backoff which ends within
// `within` (Wait when within is not positive): a caller that must not fail
// while a crashed process is replaced (a queue message, whose every failed
// attempt counts towards its poison limit) waits for the replacement, as
// the Functions host holds invocations while it restarts a language
// worker. A longer backoff (a process that keeps failing) still fails at
// once with the *DownError.
func (s *Supervisor) WaitRestart(ctx context.Context, within time.Duration) (*Process, error) {
	if p := s.ready.Load(); p != nil && !p.exited() {
		return p, nil
	}
	for {
		s.mu.Lock()
		p, state, fatal, changed, down := s.ready.Load(), s.state, s.fatal, s.changed, s.down
		s.mu.Unlock()
		switch {
		case p != nil && !p.exited():
			return p, nil
		case state == stateRunning && down != nil && (within <= 0 || down.Retry.After(s.cfg.Clock.Now().Add(within))):
			return nil, down
		case state == stateIdle:
			return nil, ErrNotStarted
		case state == stateFatal:
			return nil, fatal
		case state == stateStopped:
			return nil, ErrStopped
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Current returns the ready process, or nil while none is.
func (s *Supervisor) Current() *Process { return s.ready.Load() }

// Err returns the error the Supervisor gave up with, or nil.
func (s *Supervisor) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fatal
}

// Health returns a snapshot of the Supervisor's state.
func (s *Supervisor) Health() Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health
	h.Phase = s.phase
	if p := s.ready.Load(); p != nil {
		h.Pid = p.Pid()
	}
	switch s.phase {
	case PhaseReady:
		if s.cfg.Clock.Now().Sub(h.ReadySince) >= s.cfg.ResetAfter {
			h.Failures = 0
		}
	case PhaseDown:
		h.NextStart = s.down.Retry
	}
	if s.phase != PhaseReady {
		h.ReadySince = time.Time{}
	}
	return h
}

// Restart kills the ready process at once and starts a new one, without
// counting a failure (the Functions host does this after a function
// timeout). It does nothing while no process is ready: the next one is new
// anyway. Requests made before the ready process is replaced are merged.
func (s *Supervisor) Restart(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ready.Load() == nil {
		return
	}
	select {
	case s.restartCh <- reason:
	default:
	}
}

// Stop stops the Supervisor: the current process gets SIGTERM (or
// Config.Terminate's request), then SIGKILL after StopGrace or as soon as
// ctx is done, and Stop waits until the process and the Supervisor's
// goroutine are gone. It returns ctx's error if
// ctx ended the grace period. Stop is idempotent.
func (s *Supervisor) Stop(ctx context.Context) error {
	s.mu.Lock()
	switch s.state {
	case stateIdle:
		s.state = stateStopped
		s.phase = PhaseStopped
		close(s.done) // no loop will run; a later Stop must not wait for one
		s.notifyLocked()
		s.mu.Unlock()
		return nil
	case stateRunning:
		s.stopCtx = ctx
		s.state = stateStopped
		s.phase = PhaseStopped
		s.down = nil
		close(s.stopCh)
		s.notifyLocked()
	}
	s.mu.Unlock()
	<-s.done
	return ctx.Err()
}

// run is the Supervisor's loop: serve a process, decide what its end means,
// wait, launch the next.
func (s *Supervisor) run(p *Process) {
	var fatal error
	defer func() {
		close(s.done)
		if fatal != nil && s.cfg.OnFatal != nil {
			s.cfg.OnFatal(fatal)
		}
	}()
	var err error
	for {
		if p != nil {
			err = s.serve(p)
		}
		var delay time.Duration
		switch {
		case errors.Is(err, errStopping):
			return
		case errors.Is(err, errRestart):
		default:
			if fatal = s.countFailure(err); fatal != nil {
				s.giveUp(fatal)
				return
			}
			delay = s.backoff()
			s.setDown(err, delay)
			s.cfg.Logger.Info("Restarting worker process", "in", delay, "failures_in_a_row", s.streak)
		}
		if !s.sleep(delay) {
			return
		}
		s.setStarting()
		p, err = s.launch()
	}
}

// Outcomes of serve that are not failures.
var (
	errStopping = errors.New("stopping")
	errRestart  = errors.New("restart requested")
)

// serve waits for p to be ready, publishes it and waits for its end. It
// returns errStopping, errRestart, or the failure.
func (s *Supervisor) serve(p *Process) error {
	if err := s.awaitReady(p); err != nil {
		return err
	}
	s.publish(p)
	defer s.unpublish()
	select {
	case <-p.Done():
		return s.exited(p)
	case reason := <-s.restartCh:
		s.cfg.Logger.Warn("Restarting worker process", "pid", p.Pid(), "reason", reason)
		_ = p.Kill()
		<-p.Done()
		return errRestart
	case <-s.stopCh:
		s.stopProcess(p)
		return errStopping
	}
}

func (s *Supervisor) awaitReady(p *Process) error {
	if s.cfg.Ready == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- s.cfg.Ready(ctx, p) }()
	select {
	case err := <-result:
		if err != nil {
			s.cfg.Logger.Error("Failed to start worker process", "pid", p.Pid(), "err", err)
			_ = p.Kill()
			<-p.Done()
		}
		return err
	case <-p.Done():
		cancel()
		<-result
		return s.exited(p)
	case <-s.stopCh:
		cancel()
		<-result
		s.stopProcess(p)
		return errStopping
	}
}

// exited logs p's unplanned exit and says whether it counts as a failure.
func (s *Supervisor) exited(p *Process) error {
	if p.ExitCode() == IntentionalRestartExitCode {
		s.cfg.Logger.Info("Language Worker Process exited and needs to be restarted.", "pid", p.Pid())
		return errRestart
	}
	s.cfg.Logger.Error(fmt.Sprintf("Language Worker Process exited. Pid=%d.", p.Pid()), "err", p.Err())
	return p.Err()
}

func (s *Supervisor) stopProcess(p *Process) {
	s.mu.Lock()
	ctx := s.stopCtx
	s.mu.Unlock()
	if s.cfg.Terminate == nil || s.cfg.Terminate(p) != nil {
		_ = p.Terminate()
	}
	t := s.cfg.Clock.NewTimer(s.cfg.StopGrace)
	defer t.Stop()
	select {
	case <-p.Done():
		return
	case <-t.C():
	case <-ctx.Done():
	}
	_ = p.Kill()
	<-p.Done()
}

func (s *Supervisor) launch() (*Process, error) {
	spec, err := s.cfg.Prepare()
	if err != nil {
		return nil, err
	}
	p, err := Start(spec, s.cfg.Output)
	if err != nil {
		s.cfg.Logger.Error("Failed to start worker process", "path", spec.Path, "err", err)
		return nil, err
	}
	s.cfg.Logger.Debug("Started worker process", "path", spec.Path, "pid", p.Pid())
	return p, nil
}

// countFailure records a failure and returns the error to give up with, or
// nil to restart.
func (s *Supervisor) countFailure(err error) error {
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	readySince := s.health.ReadySince
	s.health.LastFailure = err.Error()
	s.health.LastFailureAt = now
	s.mu.Unlock()
	if !readySince.IsZero() && now.Sub(readySince) >= s.cfg.ResetAfter {
		s.streak = 0 // the process served a good while: a new run of failures
	}
	s.streak++
	if s.failures > 0 && now.Sub(s.lastFail) > s.cfg.ErrorWindow {
		s.failures = 0
	}
	s.failures++
	s.lastFail = now
	if s.cfg.MaxErrors <= 0 || s.failures < s.cfg.MaxErrors {
		return nil
	}
	return &RestartLimitError{Failures: s.failures, Window: s.cfg.ErrorWindow, Last: err}
}

// backoff is the wait before the next start after s.streak failures in a
// row.
func (s *Supervisor) backoff() time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < s.streak && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// setDown records that the next process starts after delay.
func (s *Supervisor) setDown(err error, delay time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateRunning {
		return
	}
	s.phase = PhaseDown
	s.down = &DownError{Failures: s.streak, Last: err, Retry: s.cfg.Clock.Now().Add(delay)}
	s.health.Failures = s.streak
	s.health.ReadySince = time.Time{}
	s.notifyLocked()
}

// setStarting records that the next process is being launched.
func (s *Supervisor) setStarting() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateRunning {
		return
	}
	s.phase = PhaseStarting
	s.down = nil
	s.health.Restarts++
	s.health.ReadySince = time.Time{}
	s.notifyLocked()
}

// sleep waits d on the clock; it returns false if the Supervisor was stopped
// meanwhile.
func (s *Supervisor) sleep(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-s.stopCh:
			return false
		default:
			return true
		}
	}
	t := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-s.stopCh:
		return false
	}
}

func (s *Supervisor) giveUp(err error) {
	var last error = err
	if limit, ok := errors.AsType[*RestartLimitError](err); ok {
		last = limit.Last
	}
	s.cfg.Logger.Error("Exceeded http worker restart retry count. Shutting down Functions Host", "last_failure", last)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == stateRunning {
		s.state = stateFatal
		s.phase = PhaseFailed
		s.down = nil
	}
	s.fatal = err
	s.notifyLocked()
}

func (s *Supervisor) publish(p *Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.restartCh: // a request for an earlier process
	default:
	}
	s.ready.Store(p)
	if s.state == stateRunning {
		s.phase = PhaseReady
	}
	s.health.ReadySince = s.cfg.Clock.Now()
	s.notifyLocked()
	s.cfg.Logger.Info("Worker process started and initialized.", "pid", p.Pid())
}

func (s *Supervisor) unpublish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ready.Store(nil)
	s.notifyLocked()
}

func (s *Supervisor) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}
