package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// harness runs timer listeners on a fake clock against a real SQLite store.
type harness struct {
	t     *testing.T
	clk   *clocktest.Fake
	store *sqlite.Store
}

func newHarness(t *testing.T, start time.Time) *harness {
	t.Helper()
	clk := clocktest.New(start)
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &harness{t: t, clk: clk, store: store}
}

func (h *harness) env(owner string, store storage.Store, settings ...string) *binding.Env {
	if store == nil {
		store = h.store
	}
	s := map[string]string{}
	for i := 0; i+1 < len(settings); i += 2 {
		s[settings[i]] = settings[i+1]
	}
	return &binding.Env{HostID: "testhost", Owner: owner, Settings: s, Store: store, Clock: h.clk}
}

// firing is one invocation a recorder saw.
type firing struct {
	owner string
	at    time.Time
	info  timerInfo
	data  binding.Data
}

type timerInfo struct {
	Schedule       struct{ AdjustForDST bool }
	ScheduleStatus *struct{ Last, Next, LastUpdated time.Time }
	IsPastDue      bool
}

// recorder is an Invoker that records firings; with a gate, each
// invocation waits for a value from it.
type recorder struct {
	h     *harness
	owner string
	gate  chan struct{}
	fired chan<- firing
	fail  bool
}

func (r *recorder) Invoke(ctx context.Context, ev binding.Event) error {
	var info timerInfo
	if err := json.Unmarshal(ev.Value.Data, &info); err != nil {
		r.h.t.Errorf("TimerInfo %s: %v", ev.Value.Data, err)
	}
	r.fired <- firing{owner: r.owner, at: r.h.clk.Now(), info: info, data: ev.Data}
	if r.gate != nil {
		select {
		case <-r.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if r.fail {
		return errors.New("the function failed")
	}
	return nil
}

// start starts a listener for the function Tick with the binding's props.
func (h *harness) start(env *binding.Env, inv binding.Invoker, props map[string]any) *listener {
	h.t.Helper()
	fn := timerFunction(props)
	l, err := Trigger().Listen(fn, &fn.Bindings[1], env, inv)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { l.Stop(context.Background()) })
	return l.(*listener)
}

func (h *harness) stop(l *listener) {
	h.t.Helper()
	if err := l.Stop(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

// settle waits until n timers are armed: every goroutine of every listener
// is waiting on the clock again.
func (h *harness) settle(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.clk.BlockUntil(ctx, n); err != nil {
		h.t.Fatalf("at %v: %d timers armed, want %d", h.clk.Now(), h.clk.Timers(), n)
	}
}

// advance moves the clock by d in steps, settling to n timers after each.
// Every period in these tests is a multiple of the step, so timers are
// armed on the step grid and fire exactly at their deadlines.
func (h *harness) advance(d, step time.Duration, n int) {
	h.t.Helper()
	for ; d > 0; d -= step {
		h.clk.Advance(step)
		h.settle(n)
	}
}

func (h *harness) status() storage.ScheduleStatus {
	h.t.Helper()
	st, ok, err := h.store.ScheduleStatus(context.Background(), StatusName("testhost", "Tick"))
	if err != nil || !ok {
		h.t.Fatalf("status: %v, %v", ok, err)
	}
	return st
}

// drain returns the firings recorded so far.
func drain(ch <-chan firing) []firing {
	var out []firing
	for {
		select {
		case f := <-ch:
			out = append(out, f)
		default:
			return out
		}
	}
}

// waitFiring waits for an invocation that is under way.
func waitFiring(t *testing.T, ch <-chan firing) firing {
	t.Helper()
	select {
	case f := <-ch:
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("no firing")
	}
	return firing{}
}

func wantFirings(t *testing.T, got []firing, want ...time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d firings %v; want at %v", len(got), got, want)
	}
	for i := range got {
		if !got[i].at.Equal(want[i]) {
			t.Fatalf("firing %d at %v; want %v", i, got[i].at, want[i])
		}
	}
}

func wantStatus(t *testing.T, got storage.ScheduleStatus, last, next, updated time.Time) {
	t.Helper()
	if !got.Last.Equal(last) || !got.Next.Equal(next) || !got.LastUpdated.Equal(updated) {
		t.Fatalf("status %+v; want Last %v Next %v LastUpdated %v", got, last, next, updated)
	}
}

var t0 = time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

const step = 5 * time.Second

func TestFiresOnScheduleAndPersistsStatus(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	l := h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 * * * * *"})
	h.settle(2) // renewal and schedule
	wantStatus(t, h.status(), time.Time{}, t0.Add(time.Minute), t0)

	h.advance(time.Minute, step, 2)
	got := drain(fired)
	wantFirings(t, got, t0.Add(time.Minute))
	f := got[0]
	if f.info.IsPastDue || !f.info.Schedule.AdjustForDST || f.info.ScheduleStatus == nil ||
		!f.info.ScheduleStatus.Next.Equal(t0.Add(time.Minute)) || !f.info.ScheduleStatus.Last.IsZero() {
		t.Errorf("first TimerInfo %+v", f.info)
	}
	if string(f.data["TimerTrigger"]) != `"05/01/2024 10:01:00"` {
		t.Errorf("TimerTrigger = %s", f.data["TimerTrigger"])
	}
	wantStatus(t, h.status(), t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(time.Minute))

	h.advance(2*time.Minute, step, 2)
	got = drain(fired)
	wantFirings(t, got, t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	if st := got[1].info.ScheduleStatus; st == nil || !st.Last.Equal(t0.Add(2*time.Minute)) || !st.Next.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("third TimerInfo %+v", got[1].info)
	}

	// Stopping releases the lease at once.
	h.stop(l)
	if _, err := h.store.AcquireLease(context.Background(), LockName("testhost", "Tick"), "b", time.Minute); err != nil {
		t.Errorf("lease after Stop: %v", err)
	}
}

func TestFailuresDoNotStopTheSchedule(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired, fail: true}, map[string]any{"schedule": "0 * * * * *"})
	h.settle(2)
	h.advance(3*time.Minute, step, 2)
	wantFirings(t, drain(fired), t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute))
	wantStatus(t, h.status(), t0.Add(3*time.Minute), t0.Add(4*time.Minute), t0.Add(3*time.Minute))
}

func TestPastDueAfterDowntime(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	props := map[string]any{"schedule": "0 */5 * * * *"}
	a := h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, props)
	h.settle(2)
	h.advance(5*time.Minute, step, 2)
	wantFirings(t, drain(fired), t0.Add(5*time.Minute))
	h.stop(a)

	// Down for 17 minutes: three occurrences missed; one past-due run.
	h.clk.Advance(17 * time.Minute)
	restart := t0.Add(22 * time.Minute)
	h.start(h.env("b", nil), &recorder{h: h, owner: "b", fired: fired}, props)
	h.settle(2)
	got := drain(fired)
	wantFirings(t, got, restart)
	info := got[0].info
	if !info.IsPastDue || info.ScheduleStatus == nil || !info.ScheduleStatus.Last.Equal(t0.Add(5*time.Minute)) ||
		!info.ScheduleStatus.Next.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("past-due TimerInfo %+v %+v", info, info.ScheduleStatus)
	}
	// A past-due run counts from when it ran, then the schedule resumes.
	wantStatus(t, h.status(), restart, t0.Add(25*time.Minute), restart)
	h.advance(3*time.Minute, step, 2)
	got = drain(fired)
	wantFirings(t, got, t0.Add(25*time.Minute))
	if got[0].info.IsPastDue {
		t.Error("the run after the past-due one is past due")
	}
}

func TestRunOnStartup(t *testing.T) {
	h := newHarness(t, t0.Add(20*time.Second))
	fired := make(chan firing, 100)
	h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 * * * * *", "runOnStartup": true})
	h.settle(2)
	got := drain(fired)
	wantFirings(t, got, t0.Add(20*time.Second))
	if got[0].info.IsPastDue {
		t.Error("runOnStartup firing is past due")
	}
	wantStatus(t, h.status(), t0.Add(20*time.Second), t0.Add(time.Minute), t0.Add(20*time.Second))
	h.advance(40*time.Second, step, 2)
	wantFirings(t, drain(fired), t0.Add(time.Minute))
}

func TestWithoutMonitor(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	// Every 10 seconds: useMonitor is forced off.
	h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "*/10 * * * * *"})
	h.settle(2)
	h.advance(30*time.Second, step, 2)
	got := drain(fired)
	wantFirings(t, got, t0.Add(10*time.Second), t0.Add(20*time.Second), t0.Add(30*time.Second))
	if got[0].info.ScheduleStatus != nil {
		t.Errorf("ScheduleStatus %+v without the monitor", got[0].info.ScheduleStatus)
	}
	if _, ok, _ := h.store.ScheduleStatus(context.Background(), StatusName("testhost", "Tick")); ok {
		t.Error("status saved without the monitor")
	}
}

func TestScheduleChangeResetsNext(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	a := h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 */5 * * * *"})
	h.settle(2)
	h.advance(5*time.Minute, step, 2)
	wantFirings(t, drain(fired), t0.Add(5*time.Minute))
	h.stop(a)

	// Redeployed an hour later with an hourly schedule: the hourly
	// occurrence after the last run (11:00) is past, so the schedule
	// starts afresh from now and nothing is past due.
	h.clk.Advance(70 * time.Minute) // 11:15
	h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 0 * * * *"})
	h.settle(2)
	if got := drain(fired); len(got) != 0 {
		t.Fatalf("fired %v after a schedule change", got)
	}
	now := t0.Add(75 * time.Minute)
	wantStatus(t, h.status(), time.Time{}, t0.Add(2*time.Hour), now)
}

func TestScheduleChangeToLaterNext(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	a := h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 */5 * * * *"})
	h.settle(2)
	h.advance(5*time.Minute, step, 2)
	h.stop(a)
	drain(fired)
	// Restarted at once with an hourly schedule: Next becomes 11:00,
	// counted from the last run, which is kept as LastUpdated.
	h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 0 * * * *"})
	h.settle(2)
	wantStatus(t, h.status(), time.Time{}, t0.Add(time.Hour), t0.Add(5*time.Minute))
	if got := drain(fired); len(got) != 0 {
		t.Fatalf("fired %v", got)
	}
}

// Listeners on one store: only the lease holder fires.
func TestOneFiringPerTick(t *testing.T) {
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			h := newHarness(t, t0)
			fired := make(chan firing, 100)
			props := map[string]any{"schedule": "0 * * * * *"}
			for i := range n {
				owner := fmt.Sprintf("host%d", i)
				h.start(h.env(owner, nil), &recorder{h: h, owner: owner, fired: fired}, props)
			}
			// The holder waits on renewal and schedule, the others on retry.
			h.settle(n + 1)
			h.advance(5*time.Minute, step, n+1)
			got := drain(fired)
			wantFirings(t, got, t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute), t0.Add(4*time.Minute), t0.Add(5*time.Minute))
			for _, f := range got {
				if f.owner != got[0].owner {
					t.Errorf("fired by %s and %s", got[0].owner, f.owner)
				}
			}
		})
	}
}

// flakyStore makes one owner's lease renewals fail, as a host cut off from
// the store would see.
type flakyStore struct {
	storage.Store
	failRenew atomic.Bool
}

func (s *flakyStore) RenewLease(ctx context.Context, l storage.Lease, ttl time.Duration) (storage.Lease, error) {
	if s.failRenew.Load() {
		return storage.Lease{}, errors.New("store unreachable")
	}
	return s.Store.RenewLease(ctx, l, ttl)
}

// A holder that cannot renew loses the timer when its lease runs out; it
// does not fire again, and another listener takes over.
func TestTakeoverWhenHolderStopsRenewing(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	props := map[string]any{"schedule": "0 * * * * *"}
	flaky := &flakyStore{Store: h.store}
	h.start(h.env("a", flaky), &recorder{h: h, owner: "a", fired: fired}, props)
	h.settle(2)
	h.start(h.env("b", nil), &recorder{h: h, owner: "b", fired: fired}, props)
	h.settle(3)

	h.advance(20*time.Second, step, 3) // a renewed at 10:00:15: its lease runs to 10:01:15
	flaky.failRenew.Store(true)
	h.advance(40*time.Second, step, 3) // a still fires at 10:01
	// a's lease runs out at 10:01:15; at 10:01:20 b takes it (a keeps
	// waiting on its schedule and renewals, b now on its own two).
	h.advance(15*time.Second, step, 3)
	h.advance(5*time.Second, step, 4)
	h.advance(35*time.Second, step, 4)
	// At 10:02 b fires; a finds its lease expired and goes back to retrying.
	h.advance(5*time.Second, step, 3)
	got := drain(fired)
	wantFirings(t, got, t0.Add(time.Minute), t0.Add(2*time.Minute))
	if got[0].owner != "a" || got[1].owner != "b" {
		t.Fatalf("fired by %s then %s; want a then b", got[0].owner, got[1].owner)
	}
	if got[1].info.IsPastDue {
		t.Error("b's first run is past due; a's status said 10:02")
	}
	wantStatus(t, h.status(), t0.Add(2*time.Minute), t0.Add(3*time.Minute), t0.Add(2*time.Minute))
	h.advance(time.Minute, step, 3)
	got = drain(fired)
	if len(got) != 1 || got[0].owner != "b" {
		t.Fatalf("at 10:03 fired %v; want b alone", got)
	}
}

// A holder whose invocation outlives its lease finds its status write
// refused: the new holder's status stands.
func TestOldHolderFencedWriteRefused(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	props := map[string]any{"schedule": "0 * * * * *"}
	flaky := &flakyStore{Store: h.store}
	gate := make(chan struct{})
	aEnv := h.env("a", flaky)
	aLog := make(chan string, 100)
	aEnv.Logger = slog.New(warnings{aLog})
	h.start(aEnv, &recorder{h: h, owner: "a", fired: fired, gate: gate}, props)
	h.settle(2)
	h.start(h.env("b", nil), &recorder{h: h, owner: "b", fired: fired}, props)
	h.settle(3)
	h.advance(55*time.Second, step, 3) // a's lease runs to 10:01:45
	flaky.failRenew.Store(true)
	// At 10:01 a fires and hangs in its invocation, waiting on renewal only.
	h.advance(5*time.Second, step, 2)
	first := waitFiring(t, fired)
	h.advance(45*time.Second, step, 2)
	// At 10:01:50 b takes over: the 10:01 occurrence has no saved run, so
	// b runs it past due, then waits for 10:02.
	h.advance(5*time.Second, step, 3)
	got := append([]firing{first}, drain(fired)...)
	wantFirings(t, got, t0.Add(time.Minute), t0.Add(time.Minute+50*time.Second))
	if got[1].owner != "b" || !got[1].info.IsPastDue {
		t.Fatalf("second firing %+v; want b, past due", got[1])
	}
	bStatus := h.status()
	wantStatus(t, bStatus, t0.Add(time.Minute+50*time.Second), t0.Add(2*time.Minute), t0.Add(time.Minute+50*time.Second))

	// a's invocation ends; its fenced write is refused and it goes back to
	// retrying.
	gate <- struct{}{}
	for msg := range aLog {
		if strings.HasPrefix(msg, "timer stopped running its schedule") {
			if !strings.Contains(msg, storage.ErrLeaseLost.Error()) {
				t.Fatalf("a logged %q; want its lease lost", msg)
			}
			break
		}
	}
	h.settle(3) // b's two timers and a's retry
	wantStatus(t, h.status(), bStatus.Last, bStatus.Next, bStatus.LastUpdated)
	h.advance(10*time.Second, step, 3)
	got = drain(fired)
	wantFirings(t, got, t0.Add(2*time.Minute))
	if got[0].owner != "b" {
		t.Fatalf("10:02 fired by %s", got[0].owner)
	}
}

// Stop waits for the invocation in flight.
func TestStopWaitsForInvocation(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	gate := make(chan struct{})
	l := h.start(h.env("a", nil), &recorder{h: h, owner: "a", fired: fired, gate: gate}, map[string]any{"schedule": "0 * * * * *"})
	h.settle(2)
	h.advance(55*time.Second, step, 2)
	h.advance(5*time.Second, step, 1) // the renewal alone: the invocation hangs
	wantFirings(t, []firing{waitFiring(t, fired)}, t0.Add(time.Minute))

	var stopped sync.WaitGroup
	stopped.Add(1)
	var stopErr error
	go func() { defer stopped.Done(); stopErr = l.Stop(context.Background()) }()
	select {
	case <-l.done:
		t.Fatal("Stop returned with an invocation in flight")
	default:
	}
	gate <- struct{}{}
	stopped.Wait()
	if stopErr != nil {
		t.Fatal(stopErr)
	}
	// The run's status was saved, and the lease released.
	wantStatus(t, h.status(), t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(time.Minute))
	if _, err := h.store.AcquireLease(context.Background(), LockName("testhost", "Tick"), "b", time.Minute); err != nil {
		t.Errorf("lease after Stop: %v", err)
	}

	// A Stop whose context ends abandons the invocation.
	h2 := newHarness(t, t0)
	l2 := h2.start(h2.env("a", nil), &recorder{h: h2, owner: "a", fired: fired, gate: make(chan struct{})}, map[string]any{"schedule": "0 * * * * *"})
	h2.settle(2)
	h2.advance(55*time.Second, step, 2)
	h2.advance(5*time.Second, step, 1)
	waitFiring(t, fired)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l2.Stop(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop with a canceled context = %v", err)
	}
}

func TestDaylightSavingTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, schedule string
		start          time.Time
		run            time.Duration
		want           []string
	}{
		{"point in time, spring", "0 30 2 * * *", time.Date(2024, 3, 10, 1, 0, 0, 0, ny), 3 * time.Hour,
			[]string{"03-10 03:30 -04"}},
		{"interval, spring", "0 */30 * * * *", time.Date(2024, 3, 10, 1, 0, 0, 0, ny), 90 * time.Minute,
			[]string{"03-10 01:30 -05", "03-10 03:00 -04", "03-10 03:30 -04"}},
		{"point in time, fall", "0 30 1 * * *", time.Date(2024, 11, 3, 0, 0, 0, 0, ny), 3 * time.Hour,
			[]string{"11-03 01:30 -04"}},
		{"interval, fall", "0 */30 * * * *", time.Date(2024, 11, 3, 0, 45, 0, 0, ny), 2*time.Hour + 45*time.Minute,
			[]string{"11-03 01:00 -04", "11-03 01:30 -04", "11-03 01:00 -05", "11-03 01:30 -05", "11-03 02:00 -05", "11-03 02:30 -05"}},
		{"constant, fall", "00:40:00", time.Date(2024, 11, 3, 0, 40, 0, 0, ny), 2 * time.Hour,
			[]string{"11-03 01:20 -04", "11-03 01:00 -05", "11-03 01:40 -05"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.start)
			fired := make(chan firing, 100)
			h.start(h.env("a", nil, "WEBSITE_TIME_ZONE", "Eastern Standard Time"), &recorder{h: h, owner: "a", fired: fired},
				map[string]any{"schedule": tt.schedule})
			h.settle(2)
			h.advance(tt.run, 15*time.Second, 2)
			var got []string
			for _, f := range drain(fired) {
				got = append(got, f.at.In(ny).Format("01-02 15:04 -07"))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("fired at %v; want %v", got, tt.want)
			}
		})
	}
	// After the fall-back run at 01:30 EDT, the next is tomorrow's 01:30 EST.
	h := newHarness(t, time.Date(2024, 11, 3, 1, 0, 0, 0, ny))
	fired := make(chan firing, 100)
	h.start(h.env("a", nil, "TZ", "America/New_York"), &recorder{h: h, owner: "a", fired: fired}, map[string]any{"schedule": "0 30 1 * * *"})
	h.settle(2)
	h.advance(30*time.Minute, 15*time.Second, 2)
	wantStatus(t, h.status(), time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC), time.Date(2024, 11, 4, 6, 30, 0, 0, time.UTC),
		time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC))
}

// Two listeners of one process (a restart's old and new generations)
// never both run the timer.
func TestOneFiringPerTickInOneProcess(t *testing.T) {
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	props := map[string]any{"schedule": "0 * * * * *"}
	h.start(h.env("proc", nil), &recorder{h: h, owner: "old", fired: fired}, props)
	h.settle(2)
	h.start(h.env("proc", nil), &recorder{h: h, owner: "new", fired: fired}, props)
	h.settle(3)
	h.advance(2*time.Minute, step, 3)
	got := drain(fired)
	wantFirings(t, got, t0.Add(time.Minute), t0.Add(2*time.Minute))
	if got[0].owner != "old" || got[1].owner != "old" {
		t.Errorf("fired by %s and %s", got[0].owner, got[1].owner)
	}
}

func TestListenWithoutStore(t *testing.T) {
	fn := timerFunction(map[string]any{"schedule": "0 * * * * *"})
	_, err := Trigger().Listen(fn, &fn.Bindings[1], &binding.Env{}, binding.InvokerFunc(func(context.Context, binding.Event) error { return nil }))
	if err == nil || !strings.Contains(err.Error(), "no store") {
		t.Errorf("Listen without a store = %v", err)
	}
}

// warnings is a slog handler that sends each warning's message and error
// to a channel.
type warnings struct{ ch chan<- string }

func (w warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w warnings) WithAttrs([]slog.Attr) slog.Handler           { return w }
func (w warnings) WithGroup(string) slog.Handler                { return w }
func (w warnings) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	w.ch <- msg
	return nil
}

// leaseLog records the lease calls of one owner's store, on the fake
// clock; with failRenew its renewals fail, as for a host that can no longer
// reach the store.
type leaseLog struct {
	storage.Store
	clk       *clocktest.Fake
	failRenew atomic.Bool

	mu       sync.Mutex
	acquires []leaseCall
	renewals []leaseCall
}

type leaseCall struct {
	at  time.Time
	err error
}

func (s *leaseLog) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	l, err := s.Store.AcquireLease(ctx, name, owner, ttl)
	s.mu.Lock()
	s.acquires = append(s.acquires, leaseCall{s.clk.Now(), err})
	s.mu.Unlock()
	return l, err
}

func (s *leaseLog) RenewLease(ctx context.Context, l storage.Lease, ttl time.Duration) (storage.Lease, error) {
	var err error
	if s.failRenew.Load() {
		err = errors.New("store unreachable")
	} else {
		l, err = s.Store.RenewLease(ctx, l, ttl)
	}
	s.mu.Lock()
	s.renewals = append(s.renewals, leaseCall{s.clk.Now(), err})
	s.mu.Unlock()
	return l, err
}

func (s *leaseLog) calls() (acquires, renewals []leaseCall) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]leaseCall(nil), s.acquires...), append([]leaseCall(nil), s.renewals...)
}

// With host.json singleton.listenerLockPeriod 00:00:20 the lease lasts
// 20 s and is renewed every 5 s; a holder that stops renewing keeps the
// timer until its lease runs out, and another owner takes it over at its
// first try after that, not before.
func TestListenerLockPeriod(t *testing.T) {
	const period = 20 * time.Second
	h := newHarness(t, t0)
	fired := make(chan firing, 100)
	props := map[string]any{"schedule": "*/10 * * * * *"}
	a := &leaseLog{Store: h.store, clk: h.clk}
	b := &leaseLog{Store: h.store, clk: h.clk}
	aEnv, bEnv := h.env("a", a), h.env("b", b)
	aEnv.ListenerLockPeriod, bEnv.ListenerLockPeriod = period, period
	h.start(aEnv, &recorder{h: h, owner: "a", fired: fired}, props)
	h.settle(2) // a holds the lease: renewal and schedule
	// b starts a second later, so that its tries (every 5 s, a quarter
	// period) fall between a's renewals.
	h.advance(time.Second, time.Second, 2)
	h.start(bEnv, &recorder{h: h, owner: "b", fired: fired}, props)
	h.settle(3)

	h.advance(9*time.Second, time.Second, 3) // a renewed at :05 and :10: its lease runs to :30
	a.failRenew.Store(true)
	h.advance(19*time.Second, time.Second, 3) // to :29, a firing at :20
	acquires, _ := b.calls()
	for _, c := range acquires {
		if !errors.Is(c.err, storage.ErrLeaseHeld) {
			t.Fatalf("b took the lease at %v, before a's ran out at %v", c.at, t0.Add(30*time.Second))
		}
	}
	if n := len(acquires); n != 6 { // :01, :06, ... :26
		t.Errorf("b tried %d times by :29, want 6 (every 5 s)", n)
	}
	// At :30 a's lease runs out: a does not fire and goes back to
	// retrying; at :31 b takes the lease.
	h.advance(time.Second, time.Second, 2)
	h.advance(time.Second, time.Second, 3)
	h.advance(9*time.Second, time.Second, 3) // b fires at :40
	acquires, _ = b.calls()
	if last := acquires[len(acquires)-1]; last.err != nil || !last.at.Equal(t0.Add(31*time.Second)) {
		t.Errorf("b's last try at %v: %v; want the lease taken at %v", last.at, last.err, t0.Add(31*time.Second))
	}
	_, renewals := a.calls()
	if len(renewals) < 5 {
		t.Fatalf("a renewed %d times by :40, want every 5 s", len(renewals))
	}
	for i, c := range renewals[:5] {
		if want := t0.Add(time.Duration(i+1) * 5 * time.Second); !c.at.Equal(want) {
			t.Errorf("a's renewal %d at %v, want %v (every quarter period)", i, c.at, want)
		}
	}
	got := drain(fired)
	wantFirings(t, got, t0.Add(10*time.Second), t0.Add(20*time.Second), t0.Add(40*time.Second))
	if got[0].owner != "a" || got[1].owner != "a" || got[2].owner != "b" {
		t.Errorf("fired by %s, %s, %s; want a, a, b", got[0].owner, got[1].owner, got[2].owner)
	}
}

// Without a period the lease is the default 60 s, renewed every 15 s and
// retried every 10 s; a short period is retried every quarter period.
func TestLeaseTimes(t *testing.T) {
	for _, tc := range []struct{ period, lease, renew, acquire time.Duration }{
		{0, time.Minute, 15 * time.Second, 10 * time.Second},
		{time.Minute, time.Minute, 15 * time.Second, 10 * time.Second},
		{30 * time.Second, 30 * time.Second, 7500 * time.Millisecond, 7500 * time.Millisecond},
		{15 * time.Second, 15 * time.Second, 3750 * time.Millisecond, 3750 * time.Millisecond},
	} {
		lease, renew, acquire := leaseTimes(tc.period)
		if lease != tc.lease || renew != tc.renew || acquire != tc.acquire {
			t.Errorf("leaseTimes(%v) = %v, %v, %v; want %v, %v, %v", tc.period, lease, renew, acquire, tc.lease, tc.renew, tc.acquire)
		}
	}
}
