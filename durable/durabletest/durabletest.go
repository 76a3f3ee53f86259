// Package durabletest is the conformance suite every durable.Backend passes:
// one body of tests holding each backend to the behaviour the Backend
// interface documents.
//
// A backend's test opens a fresh, empty backend per subtest:
//
//	func TestDurableConformance(t *testing.T) {
//		durabletest.Run(t, func(t *testing.T, clk clock.Clock) durable.Backend {
//			s, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite passes a fake clock (clocktest.Fake) and advances it to make
// timers due and locks expire; a backend must read every time from it.
package durabletest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/durable"
)

// Opener opens a fresh, empty backend for one test, reading the clock clk,
// and registers its own cleanup with t.Cleanup. It fails the test
// (t.Fatal) when the backend cannot be opened: a missing service is a
// failure, never a skip.
type Opener func(t *testing.T, clk clock.Clock) durable.Backend

// Epoch is the fake clock's time when a backend is opened.
var Epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// hub is the task hub most cases use.
const hub = "testhub"

// lease is the lock duration the cases ask for.
const lease = time.Minute

// Run runs every case of the suite, each on a fresh backend.
func Run(t *testing.T, open Opener) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clk := clocktest.New(Epoch)
			b := open(t, clk)
			e := &env{t: t, ctx: t.Context(), clk: clk, b: b, hub: hub}
			if err := b.CreateTaskHub(e.ctx, hub); err != nil {
				t.Fatalf("CreateTaskHub(%s): %v", hub, err)
			}
			c.run(e)
		})
	}
}

var cases = []struct {
	name string
	run  func(e *env)
}{
	{"CreateGetInstance", createGetInstance},
	{"ReusePolicy", reusePolicy},
	{"MessagesInOrderWhenDue", messagesInOrderWhenDue},
	{"MessagesToInstanceWithoutRow", messagesWithoutRow},
	{"MessageExecutionID", messageExecutionID},
	{"LockExcludesAndExpires", lockExcludesAndExpires},
	{"CompleteOrchestration", completeOrchestration},
	{"CompleteConsumesOnlyListed", completeConsumesOnlyListed},
	{"CompleteAfterLockLost", completeAfterLockLost},
	{"RenewAndAbandon", renewAndAbandon},
	{"Activities", activities},
	{"ActivityDelayAndAbandon", activityDelayAndAbandon},
	{"HubsIsolated", hubsIsolated},
	{"ListInstances", listInstances},
	{"ListInstancesPages", listInstancesPages},
	{"PurgeInstances", purgeInstances},
	{"PurgeInstance", purgeInstance},
	{"HistoryRoundTrip", historyRoundTrip},
	{"Watch", watch},
	{"ConcurrentLocks", concurrentLocks},
}

// env is one case's backend and clock.
type env struct {
	t   *testing.T
	ctx context.Context
	clk *clocktest.Fake
	b   durable.Backend
	hub string
}

func (e *env) now() time.Time { return e.clk.Now() }

// must fails the case at once on an error.
func (e *env) must(err error, what string, args ...any) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantErr checks that err wraps target.
func (e *env) wantErr(err, target error, what string, args ...any) {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Errorf("%s: error %v, want %v", fmt.Sprintf(what, args...), err, target)
	}
}

func ptr[T any](v T) *T { return &v }

// instance is a new orchestration's row, as a client starts it.
func (e *env) instance(id string) durable.Instance {
	return durable.Instance{
		ID:          id,
		ExecutionID: "exec-" + id,
		Name:        "Hello",
		Version:     "1.0",
		Status:      durable.Pending,
		Input:       `{"city":"Tokyo"}`,
	}
}

// started is an instance's ExecutionStarted message.
func (e *env) started(inst durable.Instance) durable.Message {
	return durable.Message{InstanceID: inst.ID, Event: durable.Event{
		EventType:             durable.ExecutionStarted,
		EventID:               durable.NoEventID,
		Timestamp:             e.now(),
		Name:                  inst.Name,
		Version:               inst.Version,
		Input:                 ptr(inst.Input),
		OrchestrationInstance: &durable.InstanceRef{InstanceID: inst.ID, ExecutionID: inst.ExecutionID},
	}}
}

// raised is an external event for id, due after delay (0: at once).
func (e *env) raised(id, name string, delay time.Duration) durable.Message {
	m := durable.Message{InstanceID: id, Event: durable.Event{
		EventType: durable.EventRaised,
		EventID:   durable.NoEventID,
		Timestamp: e.now(),
		Name:      name,
		Input:     ptr(`"` + name + `"`),
	}}
	if delay > 0 {
		m.VisibleAt = e.now().Add(delay)
	}
	return m
}

// taskCompleted is an activity's result message for its instance.
func (e *env) taskCompleted(t *durable.ActivityTask, result string) durable.Message {
	return durable.Message{InstanceID: t.InstanceID, Event: durable.Event{
		EventType:       durable.TaskCompleted,
		EventID:         durable.NoEventID,
		Timestamp:       e.now(),
		TaskScheduledID: t.TaskID,
		Result:          ptr(result),
	}}
}

// task is an activity task for an instance's current execution.
func task(inst durable.Instance, name string, taskID int) durable.ActivityTask {
	return durable.ActivityTask{
		InstanceID:  inst.ID,
		ExecutionID: inst.ExecutionID,
		Name:        name,
		TaskID:      taskID,
		Input:       fmt.Sprintf(`{"n":%d}`, taskID),
	}
}

// create creates inst with its start message.
func (e *env) create(inst durable.Instance) durable.Message {
	e.t.Helper()
	start := e.started(inst)
	e.must(e.b.CreateInstance(e.ctx, e.hub, inst, start, durable.OverwriteNonRunning), "CreateInstance(%s)", inst.ID)
	return start
}

// lock takes the next orchestration work item, failing the case on an
// error.
func (e *env) lock(owner string) *durable.OrchestrationWorkItem {
	e.t.Helper()
	wi, err := e.b.LockNextOrchestration(e.ctx, e.hub, owner, lease)
	e.must(err, "LockNextOrchestration(%s)", owner)
	return wi
}

// lockID takes the next work item and checks that it is id's.
func (e *env) lockID(owner, id string) *durable.OrchestrationWorkItem {
	e.t.Helper()
	wi := e.lock(owner)
	if wi == nil {
		e.t.Fatalf("LockNextOrchestration(%s) = nil, want instance %s", owner, id)
	}
	if wi.InstanceID != id {
		e.t.Fatalf("LockNextOrchestration(%s) locked %s, want %s", owner, wi.InstanceID, id)
	}
	return wi
}

// noWork checks that no orchestration is ready.
func (e *env) noWork(when string) {
	e.t.Helper()
	wi, err := e.b.LockNextOrchestration(e.ctx, e.hub, "idle", lease)
	e.must(err, "LockNextOrchestration")
	if wi != nil {
		e.t.Fatalf("%s: LockNextOrchestration locked %s with %d messages, want nothing", when, wi.InstanceID, len(wi.Messages))
	}
}

// noActivity checks that no activity task is ready.
func (e *env) noActivity(when string) {
	e.t.Helper()
	at, err := e.b.LockNextActivity(e.ctx, e.hub, "idle", lease)
	e.must(err, "LockNextActivity")
	if at != nil {
		e.t.Fatalf("%s: LockNextActivity locked task %d (%s of %s), want nothing", when, at.ID, at.Name, at.InstanceID)
	}
}

// lockActivity takes the next activity task, which must exist.
func (e *env) lockActivity(owner string) *durable.ActivityTask {
	e.t.Helper()
	at, err := e.b.LockNextActivity(e.ctx, e.hub, owner, lease)
	e.must(err, "LockNextActivity(%s)", owner)
	if at == nil {
		e.t.Fatalf("LockNextActivity(%s) = nil, want a task", owner)
	}
	return at
}

// ids are the IDs of msgs.
func ids(msgs []durable.Message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.ID
	}
	return out
}

// names are the event names of msgs (an ExecutionStarted's is its
// orchestrator's name).
func names(msgs []durable.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Event.Name
	}
	return out
}

// types are the event types of events.
func types(events []durable.Event) []durable.EventType {
	out := make([]durable.EventType, len(events))
	for i, ev := range events {
		out[i] = ev.EventType
	}
	return out
}

// event is a bare event of type t, as an episode appends it.
func (e *env) event(t durable.EventType) durable.Event {
	return durable.Event{EventType: t, EventID: durable.NoEventID, Timestamp: e.now()}
}

// episode is a first episode's history: the orchestrator ran and
// scheduled something.
func (e *env) episode(inst durable.Instance) []durable.Event {
	start := e.started(inst).Event
	start.IsPlayed = true
	return []durable.Event{e.event(durable.OrchestratorStarted), start, e.event(durable.OrchestratorCompleted)}
}

// finish locks inst (which must be next), records its first episode and
// sets its status, leaving a timer message and an activity task behind.
func (e *env) finish(inst durable.Instance, status durable.Status) {
	e.t.Helper()
	wi := e.lockID("w", inst.ID)
	inst.Status = status
	if wi.Instance != nil {
		inst.CreatedAt = wi.Instance.CreatedAt
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Instance:  &inst,
		NewEvents: e.episode(inst),
		Consumed:  ids(wi.Messages),
		Messages:  []durable.Message{e.raised(inst.ID, "later", time.Hour)},
		Tasks:     []durable.ActivityTask{task(inst, "Leftover", 0)},
	}), "CompleteOrchestration(%s)", inst.ID)
}

// get reads an instance's row.
func (e *env) get(id string) *durable.Instance {
	e.t.Helper()
	inst, err := e.b.GetInstance(e.ctx, e.hub, id)
	e.must(err, "GetInstance(%s)", id)
	return inst
}

// history reads an instance's history.
func (e *env) history(id string) []durable.Event {
	e.t.Helper()
	h, err := e.b.GetHistory(e.ctx, e.hub, id)
	e.must(err, "GetHistory(%s)", id)
	return h
}

// sameInstance compares an instance's row with the one expected.
func (e *env) sameInstance(what string, got *durable.Instance, want durable.Instance) {
	e.t.Helper()
	if got == nil {
		e.t.Errorf("%s: no instance, want %+v", what, want)
		return
	}
	g := *got
	if !g.CreatedAt.Equal(want.CreatedAt) || !g.LastUpdatedAt.Equal(want.LastUpdatedAt) {
		e.t.Errorf("%s: CreatedAt %v, LastUpdatedAt %v, want %v, %v", what, g.CreatedAt, g.LastUpdatedAt, want.CreatedAt, want.LastUpdatedAt)
	}
	g.CreatedAt, g.LastUpdatedAt, want.CreatedAt, want.LastUpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if len(g.State) == 0 && len(want.State) == 0 {
		g.State, want.State = nil, nil
	}
	if g.ID != want.ID || g.ExecutionID != want.ExecutionID || g.Name != want.Name || g.Version != want.Version ||
		g.Status != want.Status || g.Input != want.Input || g.Output != want.Output ||
		g.CustomStatus != want.CustomStatus || g.ParentID != want.ParentID || !slices.Equal(g.State, want.State) {
		e.t.Errorf("%s:\n got %+v\nwant %+v", what, g, want)
	}
}

// wantDue checks NextDue.
func (e *env) wantDue(what string, want time.Time, wantOK bool) {
	e.t.Helper()
	got, ok, err := e.b.NextDue(e.ctx, e.hub)
	e.must(err, "NextDue")
	if ok != wantOK || (ok && !got.Equal(want)) {
		e.t.Errorf("%s: NextDue = %v, %v; want %v, %v", what, got, ok, want, wantOK)
	}
}
