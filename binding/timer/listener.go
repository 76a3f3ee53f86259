package timer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// The listener lease lasts host.json singleton.listenerLockPeriod (60 s
// by default, 15 to 60 s), as the real host's listener lock does
// (SingletonOptions.ListenerLockPeriod). The real host renews it halfway
// and, without it, retries every minute
// (ListenerLockRecoveryPollingInterval). funcd renews every quarter
// period, so that a slow store does not lose the lease, and retries every
// 10 s or every quarter period when that is shorter, so that a timer moves
// to another process soon after its holder dies.
const (
	maxAcquireInterval = 10 * time.Second
	// releaseTimeout bounds the release of the lease when stopping.
	releaseTimeout = 10 * time.Second
)

// leaseTimes are a lease period and the renewal and retry intervals that
// go with it; a period of zero or less is funcd.DefaultListenerLockPeriod.
func leaseTimes(period time.Duration) (lease, renew, acquire time.Duration) {
	if period <= 0 {
		period = funcd.DefaultListenerLockPeriod
	}
	return period, period / 4, min(maxAcquireInterval, period/4)
}

// errLeaseExpired: by this process's clock the lease ran out before it
// could be renewed.
var errLeaseExpired = errors.New("lease expired before it was renewed")

// listener runs one timer function's schedule while it holds the lease.
type listener struct {
	fn         *funcd.Function
	cfg        *config
	env        *binding.Env
	inv        binding.Invoker
	log        *slog.Logger
	lockName   string
	statusName string
	// leasePeriod is how long the lease lasts unless renewed; it is
	// renewed every renewInterval, and retried every acquireInterval
	// while another process holds it.
	leasePeriod, renewInterval, acquireInterval time.Duration
	// owner holds the lease: the process's owner name and a suffix of this
	// listener's own, so that two listeners of one process (an old and a
	// new generation during a restart) never both hold it.
	owner string

	mu      sync.Mutex
	started bool
	stop    context.CancelFunc // stops taking new events
	abandon context.CancelFunc // cancels the invocation in flight
	done    chan struct{}      // closed when the run loop returns
}

func listen(fn *funcd.Function, b *funcd.Binding, env *binding.Env, inv binding.Invoker) (binding.Listener, error) {
	cfg, err := readConfig(fn, b, env)
	if err != nil {
		return nil, err
	}
	if env.Store == nil {
		return nil, fmt.Errorf("timer %s: no store to keep the timer's lease and status in", fn.Name)
	}
	if env.Clock == nil {
		e := *env
		e.Clock = clock.Real{}
		env = &e
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lease, renew, acquire := leaseTimes(env.ListenerLockPeriod)
	return &listener{
		fn: fn, cfg: cfg, env: env, inv: inv,
		leasePeriod: lease, renewInterval: renew, acquireInterval: acquire,
		log:        log.With("function", fn.Name),
		lockName:   LockName(env.HostID, fn.Name),
		owner:      env.Owner + "/" + rand.Text()[:8],
		statusName: StatusName(env.HostID, fn.Name),
		done:       make(chan struct{}),
	}, nil
}

// Start begins competing for the lease; the schedule runs once it is held.
func (l *listener) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return fmt.Errorf("timer %s: listener already started", l.fn.Name)
	}
	l.started = true
	base := context.WithoutCancel(ctx)
	runCtx, stop := context.WithCancel(base)
	invokeCtx, abandon := context.WithCancel(base)
	l.stop, l.abandon = stop, abandon
	if l.cfg.forcedNoMonitor {
		l.log.Debug("UseMonitor changed to false based on schedule frequency.")
	}
	l.log.Debug(fmt.Sprintf("The '%s' timer is using the schedule '%s' and the local time zone: '%s'", l.fn.Name, l.cfg.sched, l.cfg.loc))
	go l.run(runCtx, invokeCtx)
	return nil
}

// Stop stops the schedule, waits for an invocation in flight (until ctx is
// done, when the invocation's context is canceled) and releases the lease.
func (l *listener) Stop(ctx context.Context) error {
	l.mu.Lock()
	if !l.started {
		l.mu.Unlock()
		return nil
	}
	l.stop()
	l.mu.Unlock()
	select {
	case <-l.done:
		l.abandon()
		return nil
	case <-ctx.Done():
		l.abandon()
		<-l.done
		return ctx.Err()
	}
}

func (l *listener) now() time.Time { return l.env.Clock.Now().Round(0).Truncate(time.Microsecond) }

// sleep waits d on the clock; false when ctx ended first.
func (l *listener) sleep(ctx context.Context, d time.Duration) bool {
	t := l.env.Clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-ctx.Done():
		return false
	}
}

// run competes for the lease until stopped, running the schedule whenever
// it holds it.
func (l *listener) run(runCtx, invokeCtx context.Context) {
	defer close(l.done)
	for {
		lease, err := l.env.Store.AcquireLease(runCtx, l.lockName, l.owner, l.leasePeriod)
		switch {
		case err == nil:
			l.log.Debug("Singleton lock acquired", "lock", l.lockName)
			err = l.hold(runCtx, invokeCtx, lease)
			if runCtx.Err() != nil {
				return
			}
			if err != nil {
				l.log.Warn("timer stopped running its schedule; it will try to take the lock again", "lock", l.lockName, "err", err)
			}
		case runCtx.Err() != nil:
			return
		case !errors.Is(err, storage.ErrLeaseHeld):
			l.log.Warn("cannot take the timer's singleton lock", "lock", l.lockName, "err", err)
		}
		if !l.sleep(runCtx, l.acquireInterval) {
			return
		}
	}
}

// heldLease is the lease as last renewed.
type heldLease struct {
	mu    sync.Mutex
	lease storage.Lease
}

func (h *heldLease) get() storage.Lease {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lease
}

func (h *heldLease) set(l storage.Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lease = l
}

// hold runs the schedule under the lease until stopped or the lease is
// lost, renewing it meanwhile, and releases it unless it was lost.
func (l *listener) hold(runCtx, invokeCtx context.Context, lease storage.Lease) error {
	held := &heldLease{lease: lease}
	holdCtx, cancel := context.WithCancel(runCtx)
	renewed := make(chan error, 1)
	go func() { renewed <- l.renew(holdCtx, held, cancel) }()
	err := l.runSchedule(holdCtx, invokeCtx, held)
	cancel()
	if lost := <-renewed; lost != nil && err == nil {
		err = lost
	}
	if !errors.Is(err, storage.ErrLeaseLost) {
		ctx, done := context.WithTimeout(context.WithoutCancel(runCtx), releaseTimeout)
		defer done()
		if rerr := l.env.Store.ReleaseLease(ctx, held.get()); rerr != nil {
			l.log.Warn("cannot release the timer's singleton lock", "lock", l.lockName, "err", rerr)
		} else {
			l.log.Debug("Singleton lock released", "lock", l.lockName)
		}
	}
	return err
}

// renew extends the lease every l.renewInterval until ctx ends; when the
// lease is lost it calls lose and returns the error.
func (l *listener) renew(ctx context.Context, held *heldLease, lose context.CancelFunc) error {
	for l.sleep(ctx, l.renewInterval) {
		next, err := l.env.Store.RenewLease(ctx, held.get(), l.leasePeriod)
		switch {
		case err == nil:
			held.set(next)
		case errors.Is(err, storage.ErrLeaseLost):
			lose()
			return err
		case ctx.Err() == nil:
			l.log.Warn("cannot renew the timer's singleton lock", "lock", l.lockName, "err", err)
		}
	}
	return nil
}

// runSchedule is the real host's TimerListener: the start-up check, then
// an invocation at each occurrence, one at a time.
func (l *listener) runSchedule(ctx, invokeCtx context.Context, held *heldLease) error {
	now := l.now()
	st, pastDue, err := l.startStatus(ctx, now, held)
	if err != nil {
		return err
	}
	l.logNextOccurrences(now)
	runOnStartup := !pastDue && l.cfg.runOnStartup
	for {
		if !pastDue && !runOnStartup {
			if st.Next.IsZero() { // never fires again
				<-ctx.Done()
				return nil
			}
			if !l.sleep(ctx, st.Next.Sub(l.now())) {
				return nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if !l.now().Before(held.get().Expires) {
			return errLeaseExpired
		}
		switch {
		case pastDue:
			l.log.Info(fmt.Sprintf("Timer trigger '%s' is past due.", l.fn.Name), "originalSchedule", st.Next)
		case runOnStartup:
			l.log.Info(fmt.Sprintf("Timer trigger '%s' is configured to run on startup.", l.fn.Name))
		}
		if st, err = l.fire(invokeCtx, held, st, pastDue, runOnStartup); err != nil {
			return err
		}
		pastDue, runOnStartup = false, false
	}
}

// fire invokes the function once and saves the status that follows.
func (l *listener) fire(ctx context.Context, held *heldLease, st storage.ScheduleStatus, pastDue, runOnStartup bool) (storage.ScheduleStatus, error) {
	invoked := l.now()
	var info *storage.ScheduleStatus
	if l.cfg.useMonitor {
		info = &st
	}
	if err := l.inv.Invoke(ctx, event(l.fn, l.cfg, info, pastDue, invoked)); err != nil {
		// Failures never stop the schedule; the host logged the failure.
		l.log.Debug("timer invocation failed", "err", err)
	}
	// Fired a little early (clock skew): count from the occurrence, or
	// the same Next would be saved twice.
	at := invoked
	if !pastDue && !runOnStartup && st.Next.After(invoked) {
		at = st.Next
	}
	next, _ := l.cfg.sched.Next(at, l.cfg.loc)
	st = storage.ScheduleStatus{Last: at, Next: next, LastUpdated: at}
	if !l.cfg.useMonitor {
		return st, nil
	}
	if err := l.env.Store.SetScheduleStatus(ctx, l.statusName, st, held.get()); err != nil {
		if errors.Is(err, storage.ErrLeaseLost) {
			return st, err
		}
		l.log.Warn("cannot save the timer's schedule status", "status", l.statusName, "err", err)
	} else {
		l.log.Debug(fmt.Sprintf("Function '%s' updated status: Last='%s', Next='%s', LastUpdated='%s'",
			l.fn.Name, st.Last.Format(time.RFC3339Nano), st.Next.Format(time.RFC3339Nano), st.LastUpdated.Format(time.RFC3339Nano)))
	}
	return st, nil
}

// startStatus is ScheduleMonitor.CheckPastDueAsync: it reads the saved
// status, writes a first one for a new timer, resets it when the schedule
// changed, and reports whether an occurrence was missed. Without the
// monitor the status is the next occurrence alone.
func (l *listener) startStatus(ctx context.Context, now time.Time, held *heldLease) (storage.ScheduleStatus, bool, error) {
	next := func(from time.Time) time.Time {
		t, _ := l.cfg.sched.Next(from, l.cfg.loc)
		return t
	}
	if !l.cfg.useMonitor {
		return storage.ScheduleStatus{Next: next(now)}, false, nil
	}
	saved, ok, err := l.env.Store.ScheduleStatus(ctx, l.statusName)
	if err != nil {
		return storage.ScheduleStatus{}, false, fmt.Errorf("read schedule status: %w", err)
	}
	l.log.Debug(fmt.Sprintf("Function '%s' initial status: Last='%s', Next='%s', LastUpdated='%s'",
		l.fn.Name, fmtStatusTime(saved.Last, ok), fmtStatusTime(saved.Next, ok), fmtStatusTime(saved.LastUpdated, ok)))
	if !ok {
		// A new timer: record its first occurrence, so that one missed
		// before the first run is still caught.
		st := storage.ScheduleStatus{Next: next(now), LastUpdated: now}
		if err := l.env.Store.SetScheduleStatus(ctx, l.statusName, st, held.get()); err != nil {
			return st, false, fmt.Errorf("save schedule status: %w", err)
		}
		return storage.ScheduleStatus{Next: st.Next}, false, nil
	}
	var expected, updated time.Time
	switch {
	case !saved.Last.IsZero():
		expected, updated = next(saved.Last), saved.Last
	case !saved.LastUpdated.IsZero():
		expected, updated = next(saved.LastUpdated), saved.LastUpdated
	default:
		expected, updated = next(now), now
	}
	if !sameInstant(saved.Next, expected) {
		// The schedule changed: start it afresh, from now if its next
		// occurrence is already past, so that it is not past due.
		if now.After(expected) {
			expected, updated = next(now), now
		}
		saved = storage.ScheduleStatus{Next: expected, LastUpdated: updated}
		if err := l.env.Store.SetScheduleStatus(ctx, l.statusName, saved, held.get()); err != nil {
			return saved, false, fmt.Errorf("save schedule status: %w", err)
		}
	}
	return saved, !saved.Next.IsZero() && now.After(saved.Next), nil
}

// sameInstant compares times as a store keeps them, to the microsecond.
func sameInstant(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}

func fmtStatusTime(t time.Time, ok bool) string {
	if !ok {
		return "(null)"
	}
	return t.Format(time.RFC3339Nano)
}

// logNextOccurrences logs the next five occurrences as the real host does
// when a timer starts.
func (l *listener) logNextOccurrences(now time.Time) {
	var b strings.Builder
	utc := l.cfg.loc == time.UTC || l.cfg.loc.String() == "UTC"
	for range 5 {
		next, ok := l.cfg.sched.Next(now, l.cfg.loc)
		if !ok {
			break
		}
		const layout = "01/02/2006 15:04:05Z07:00"
		if utc {
			b.WriteString(next.UTC().Format(layout) + "\n")
		} else {
			b.WriteString(next.In(l.cfg.loc).Format(layout) + " (" + next.UTC().Format(layout) + ")\n")
		}
		now = next
	}
	l.log.Info(fmt.Sprintf("The next 5 occurrences of the '%s' schedule (%s) will be:\n%s", l.fn.Name, l.cfg.sched, b.String()))
}
