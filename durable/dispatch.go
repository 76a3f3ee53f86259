package durable

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"
)

// pollInterval bounds how long an idle dispatcher waits before it looks
// for work again, for work a backend cannot announce (another process on
// an embedded store).
const pollInterval = 2 * time.Second

// Start runs the engine's dispatchers until Stop: they take orchestration
// and activity work items from the backend and run them with the executor
// SetFunctions installed.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.backend.CreateTaskHub(ctx, e.opts.Hub); err != nil {
		return err
	}
	e.runMu.Lock()
	defer e.runMu.Unlock()
	if e.cancel != nil {
		return errors.New("durable: engine already started")
	}
	ctx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	procs := runtime.GOMAXPROCS(0)
	orch := orDefault(e.opts.MaxConcurrentOrchestrations, 10*procs)
	act := orDefault(e.opts.MaxConcurrentActivities, 10*procs)
	e.orchSlots, e.actSlots = make(chan struct{}, orch), make(chan struct{}, act)
	e.handoff, _ = e.backend.(Handoff)
	e.running.Add(2)
	bl, batches := e.backend.(BatchLocker)
	go e.dispatch(ctx, "orchestration", e.orchSlots, &e.wakeOrch, func(ctx context.Context, max int) ([]func(context.Context), error) {
		var wis []*OrchestrationWorkItem
		if batches && max > 1 {
			var err error
			if wis, err = bl.LockNextOrchestrations(ctx, e.opts.Hub, e.opts.Owner, e.opts.Lease, max); err != nil {
				return nil, err
			}
		} else {
			wi, err := e.backend.LockNextOrchestration(ctx, e.opts.Hub, e.opts.Owner, e.opts.Lease)
			if wi == nil || err != nil {
				return nil, err
			}
			wis = append(wis, wi)
		}
		runs := make([]func(context.Context), len(wis))
		for i, wi := range wis {
			runs[i] = func(ctx context.Context) { e.processOrchestration(ctx, wi) }
		}
		return runs, nil
	})
	go e.dispatch(ctx, "activity", e.actSlots, &e.wakeAct, func(ctx context.Context, max int) ([]func(context.Context), error) {
		var ts []*ActivityTask
		if batches && max > 1 {
			var err error
			if ts, err = bl.LockNextActivities(ctx, e.opts.Hub, e.opts.Owner, e.opts.Lease, max); err != nil {
				return nil, err
			}
		} else {
			t, err := e.backend.LockNextActivity(ctx, e.opts.Hub, e.opts.Owner, e.opts.Lease)
			if t == nil || err != nil {
				return nil, err
			}
			ts = append(ts, t)
		}
		runs := make([]func(context.Context), len(ts))
		for i, t := range ts {
			runs[i] = func(ctx context.Context) { e.processActivity(ctx, t) }
		}
		return runs, nil
	})
	return nil
}

// maxClaim caps the work items one claim locks together.
const maxClaim = 16

func orDefault(n, def int) int {
	if n > 0 {
		return n
	}
	return def
}

// Stop stops taking work and waits until the work items in flight end or
// ctx is done; those still running then are cancelled, and their locks
// expire for another owner (or the next start) to take them.
func (e *Engine) Stop(ctx context.Context) error {
	e.runMu.Lock()
	cancel := e.cancel
	e.runMu.Unlock()
	if cancel == nil {
		return nil
	}
	e.stopOnce.Do(func() { close(e.stopping) })
	done := make(chan struct{})
	go func() { e.running.Wait(); close(done) }()
	select {
	case <-done:
		cancel()
		return nil
	case <-ctx.Done():
		cancel()
		<-done
		return ctx.Err()
	}
}

// claimers is how many goroutines of a dispatcher look for work at once:
// a backend commits their claims together (group commit), so that claims
// do not queue behind one another.
const claimers = 4

// dispatch runs work items of one kind, at most limit at once. Its
// claimers share one wake-up token: a kick, a backend's announcement of
// work, or a claimer that found work (there may be more) hands the token to
// one idle claimer, never to all of them, so that one piece of news costs
// one look. A claimer that finds work looks again at once while there is a
// free slot; one that finds none sleeps until it gets the token, the next
// timer is due, or pollInterval passes.
func (e *Engine) dispatch(ctx context.Context, what string, slots chan struct{}, wake *signal, next func(ctx context.Context, max int) ([]func(context.Context), error)) {
	defer e.running.Done()
	limit := cap(slots)
	token := make(chan struct{}, 1)
	pass := func() {
		select {
		case token <- struct{}{}:
		default:
		}
	}
	watch, stopWatch := e.backend.Watch(e.opts.Hub)
	defer stopWatch()
	fwdCtx, stopFwd := context.WithCancel(ctx)
	defer stopFwd()
	var inflight, loops sync.WaitGroup
	defer inflight.Wait()
	// Forward the kicks and the backend's announcements as the token.
	loops.Go(func() {
		for {
			woken := wake.wait()
			select {
			case <-woken:
			case <-watch:
			case <-fwdCtx.Done():
				return
			case <-e.stopping:
				return
			}
			pass()
		}
	})
	var claiming sync.WaitGroup
	for range min(claimers, limit) {
		claiming.Go(func() { e.claim(ctx, what, slots, &inflight, token, pass, next) })
	}
	claiming.Wait()
	stopFwd()
	loops.Wait()
}

func (e *Engine) claim(ctx context.Context, what string, slots chan struct{}, inflight *sync.WaitGroup, token <-chan struct{}, pass func(), next func(ctx context.Context, max int) ([]func(context.Context), error)) {
	failures := 0
	for {
		select {
		case slots <- struct{}{}:
		case <-e.stopping:
			return
		}
		// Take the free slots, up to maxClaim, and claim as many work
		// items; the slots not used are given back.
		held := 1
	more:
		for held < maxClaim {
			select {
			case slots <- struct{}{}:
				held++
			default:
				break more
			}
		}
		runs, err := next(ctx, held)
		for range held - max(len(runs), 1) {
			<-slots
		}
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			failures++
			e.log.Error("durable: looking for "+what+" work", "error", err)
			if !e.sleep(ctx, min(time.Duration(failures)*time.Second, 30*time.Second), token) {
				return
			}
			continue
		}
		failures = 0
		if len(runs) == 0 {
			<-slots
			if !e.idle(ctx, token) {
				return
			}
			continue
		}
		// There may be more: let an idle claimer look too.
		pass()
		for _, run := range runs {
			inflight.Add(1)
			go func() {
				var once sync.Once
				release := func() { once.Do(func() { <-slots }) }
				defer func() { release(); inflight.Done() }()
				run(context.WithValue(ctx, releaseKey{}, release))
			}()
		}
	}
}

// signal wakes every goroutine waiting on it: wait returns a channel that
// the next fire closes.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// idle waits for work: the wake-up token, the next due timer, or the poll
// interval. It returns false when the engine stops.
func (e *Engine) idle(ctx context.Context, token <-chan struct{}) bool {
	wait := pollInterval
	if t, ok, err := e.backend.NextDue(ctx, e.opts.Hub); err == nil && ok {
		wait = min(wait, max(t.Sub(e.clock.Now()), time.Millisecond))
	}
	return e.sleep(ctx, wait, token)
}

func (e *Engine) sleep(ctx context.Context, d time.Duration, token <-chan struct{}) bool {
	t := e.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-token:
	case <-e.stopping:
		return false
	case <-ctx.Done():
		return false
	}
	return true
}

// keepLocked runs fn while renewing the work item's lock; fn's context is
// cancelled if the lock is lost.
func (e *Engine) keepLocked(ctx context.Context, wi *OrchestrationWorkItem, fn func(context.Context) error) error {
	return e.renewing(ctx, fn, func(ctx context.Context) error {
		return e.backend.RenewOrchestrationLock(ctx, e.opts.Hub, wi, e.opts.Lease)
	})
}

// keepActivityLocked runs fn while renewing the task's lock.
func (e *Engine) keepActivityLocked(ctx context.Context, t *ActivityTask, fn func(context.Context) error) error {
	return e.renewing(ctx, fn, func(ctx context.Context) error {
		return e.backend.RenewActivityLock(ctx, e.opts.Hub, t, e.opts.Lease)
	})
}

func (e *Engine) renewing(ctx context.Context, fn func(context.Context) error, renew func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		every := e.opts.Lease / 3
		for {
			t := e.clock.NewTimer(every)
			select {
			case <-done:
				t.Stop()
				return
			case <-t.C():
			}
			if err := renew(ctx); err != nil {
				if errors.Is(err, ErrLockLost) {
					cancel(err)
					return
				}
				e.log.Warn("durable: renewing a work item's lock", "error", err)
			}
		}
	}()
	err := fn(ctx)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLockLost) {
		return cause
	}
	return err
}

// releaseKey is the context key of a work item's release func: it gives
// the work item's slot back once its function has run, so that while its
// changes wait for a commit another work item runs (and commits with it).
// The limits on concurrency are on functions running, as in the real
// host, not on work waiting for storage.
type releaseKey struct{}

// releaseSlot gives back the slot of the work item that ctx runs.
func releaseSlot(ctx context.Context) {
	if release, ok := ctx.Value(releaseKey{}).(func()); ok {
		release()
	}
}

// stopped reports whether Stop was called.
func (e *Engine) stopped() bool {
	select {
	case <-e.stopping:
		return true
	default:
		return false
	}
}

// takeSlots takes up to n of slots' free slots without waiting, for work
// the backend hands off; none when the backend cannot or the engine stops.
func (e *Engine) takeSlots(slots chan struct{}, n int) int {
	if e.handoff == nil || slots == nil || e.stopped() {
		return 0
	}
	for i := range n {
		select {
		case slots <- struct{}{}:
		default:
			return i
		}
	}
	return n
}

// runInSlot runs a work item the backend handed off in a slot of slots
// that the caller took, counted in e.running (the caller, a work item
// itself, keeps the count above zero until then).
func (e *Engine) runInSlot(ctx context.Context, slots chan struct{}, run func(context.Context)) {
	e.running.Add(1)
	go func() {
		var once sync.Once
		release := func() { once.Do(func() { <-slots }) }
		defer func() { release(); e.running.Done() }()
		run(context.WithValue(ctx, releaseKey{}, release))
	}()
}

// runHandedOff runs an orchestration work item that the backend locked
// for this engine with an activity's result, once an orchestration slot
// is free. A work item that waits too long, or that the engine stops
// before, is released for a claim (its lease would run out meanwhile).
func (e *Engine) runHandedOff(ctx context.Context, wi *OrchestrationWorkItem) {
	e.running.Add(1)
	go func() {
		defer e.running.Done()
		select {
		case e.orchSlots <- struct{}{}:
		default:
			t := e.clock.NewTimer(e.opts.Lease / 4)
			defer t.Stop()
			select {
			case e.orchSlots <- struct{}{}:
			case <-t.C():
				e.abandon(wi, 0)
				return
			case <-e.stopping:
				e.abandon(wi, 0)
				return
			case <-ctx.Done():
				e.abandon(wi, 0)
				return
			}
		}
		var once sync.Once
		release := func() { once.Do(func() { <-e.orchSlots }) }
		defer release()
		e.processOrchestration(context.WithValue(ctx, releaseKey{}, release), wi)
	}()
}
