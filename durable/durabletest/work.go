package durabletest

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/funcd/funcd/durable"
)

// sameEvent compares two events, times by instant.
func sameEvent(a, b durable.Event) bool {
	norm := func(ev durable.Event) durable.Event {
		ev.Timestamp = ev.Timestamp.UTC()
		ev.FireAt = ev.FireAt.UTC()
		if ev.ScheduledStartTime != nil {
			ev.ScheduledStartTime = ptr(ev.ScheduledStartTime.UTC())
		}
		return ev
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func messagesInOrderWhenDue(e *env) {
	t := e.t
	e.wantDue("an empty hub", time.Time{}, false)
	inst := e.instance("a")
	e.create(inst)
	later := e.raised("a", "later", 10*time.Second)
	e.must(e.b.SendMessages(e.ctx, e.hub, later, e.raised("a", "x", 0), e.raised("a", "y", 0)), "SendMessages")
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "z", 0)), "SendMessages")
	e.wantDue("with a timer in 10s", later.VisibleAt, true)

	wi := e.lockID("w", "a")
	if got, want := names(wi.Messages), []string{"Hello", "x", "y", "z"}; !slices.Equal(got, want) {
		t.Errorf("due messages = %v, want %v", got, want)
	}
	if got := ids(wi.Messages); !slices.IsSorted(got) || slices.Compact(slices.Clone(got)) == nil || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Errorf("message IDs %v are not increasing", got)
	}
	for _, m := range wi.Messages {
		if !m.VisibleAt.IsZero() {
			t.Errorf("message %s sent for at once has VisibleAt %v", m.Event.Name, m.VisibleAt)
		}
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{Consumed: ids(wi.Messages)}), "CompleteOrchestration")
	e.noWork("before the timer is due")
	e.wantDue("with a timer in 10s", later.VisibleAt, true)

	e.clk.Advance(9 * time.Second)
	e.noWork("a second before the timer is due")
	e.clk.Advance(time.Second)
	e.wantDue("when the timer is due", time.Time{}, false)
	wi = e.lockID("w", "a")
	if len(wi.Messages) != 1 || wi.Messages[0].Event.Name != "later" || !wi.Messages[0].VisibleAt.Equal(later.VisibleAt) {
		t.Fatalf("due messages = %+v, want the timer, visible at %v", wi.Messages, later.VisibleAt)
	}

	// An instance whose oldest due message is oldest is locked first.
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("c", "first", 0)), "SendMessages")
	e.clk.Advance(time.Second)
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("b", "second", 0), e.raised("c", "third", 0)), "SendMessages")
	e.lockID("w", "c")
	e.lockID("w", "b")
	e.noWork("with every instance locked")
}

func messagesWithoutRow(e *env) {
	t := e.t
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("@counter@k", "op1", 0), e.raised("@counter@k", "op2", 0)), "SendMessages")
	wi := e.lockID("w", "@counter@k")
	if wi.Instance != nil {
		t.Errorf("an instance without a row has the work item's Instance %+v", wi.Instance)
	}
	if got := names(wi.Messages); !slices.Equal(got, []string{"op1", "op2"}) {
		t.Errorf("messages = %v, want op1 op2", got)
	}
	// A completion without a row keeps none, and leaves unconsumed
	// messages in the inbox.
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{Consumed: ids(wi.Messages[:1])}), "CompleteOrchestration")
	_, err := e.b.GetInstance(e.ctx, e.hub, "@counter@k")
	e.wantErr(err, durable.ErrNotFound, "GetInstance after a completion without a row")
	wi = e.lockID("w", "@counter@k")
	if got := names(wi.Messages); !slices.Equal(got, []string{"op2"}) {
		t.Errorf("messages = %v, want op2", got)
	}
	ent := durable.Instance{ID: "@counter@k", ExecutionID: "x", Name: "counter", Status: durable.Running, State: []byte(`{"n":2}`)}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{Instance: &ent, Consumed: ids(wi.Messages)}), "CompleteOrchestration")
	want := ent
	want.CreatedAt, want.LastUpdatedAt = e.now(), e.now()
	e.sameInstance("the entity's new row", e.get("@counter@k"), want)

	// A message to an instance not created yet waits for its creation,
	// which keeps it.
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("early", "ev", 0)), "SendMessages")
	e.create(e.instance("early"))
	wi = e.lockID("w", "early")
	if got := names(wi.Messages); !slices.Equal(got, []string{"ev", "Hello"}) {
		t.Errorf("messages = %v, want ev Hello", got)
	}
	if wi.Instance == nil {
		t.Error("the created instance has no row in its work item")
	}
}

func lockExcludesAndExpires(e *env) {
	t := e.t
	e.create(e.instance("a"))
	e.create(e.instance("b"))
	wa := e.lockID("one", "a")
	e.lockID("two", "b")
	e.noWork("with both instances locked")
	// A message to a locked instance waits for its lock.
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "more", 0)), "SendMessages")
	e.noWork("with both instances locked")

	e.clk.Advance(lease - time.Second)
	e.noWork("a second before the locks expire")
	e.clk.Advance(time.Second)
	wa2 := e.lockID("three", "a")
	if got := names(wa2.Messages); !slices.Equal(got, []string{"Hello", "more"}) {
		t.Errorf("the taken-over work item's messages = %v, want Hello more", got)
	}
	if wa2.LockToken == wa.LockToken {
		t.Error("the taken-over work item has the expired lock's token")
	}
	e.lockID("three", "b")
	e.noWork("after the takeover")
	e.wantErr(e.b.RenewOrchestrationLock(e.ctx, e.hub, wa, lease), durable.ErrLockLost, "RenewOrchestrationLock of a lost lock")
	// An abandon by the late owner (nil or ErrLockLost) leaves the new
	// owner's lock alone.
	if err := e.b.AbandonOrchestration(e.ctx, e.hub, wa, 0); err != nil {
		e.wantErr(err, durable.ErrLockLost, "AbandonOrchestration of a lost lock")
	}
	e.noWork("after the late owner's abandon")
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wa2, durable.OrchestrationUpdate{Consumed: ids(wa2.Messages)}), "CompleteOrchestration by the new owner")
}

func completeOrchestration(e *env) {
	t := e.t
	parent := e.instance("parent")
	e.create(parent)
	other := e.instance("other")
	e.create(other)
	e.clk.Advance(time.Second)
	wi := e.lockID("w", "parent")
	if wi.Instance == nil {
		t.Fatal("no row in the work item")
	}
	e.clk.Advance(time.Second)

	row := *wi.Instance
	row.Status = durable.Running
	row.CustomStatus = `"step 1"`
	row.State = []byte("engine state")
	events := e.episode(parent)
	sched := e.event(durable.TaskScheduled)
	sched.EventID, sched.Name, sched.Input = 0, "Greet", ptr(`"Tokyo"`)
	timer := e.event(durable.TimerCreated)
	timer.EventID, timer.FireAt = 1, e.now().Add(time.Hour)
	sub := e.event(durable.SubOrchestrationInstanceCreated)
	sub.EventID, sub.Name, sub.InstanceID = 2, "Child", "parent:2"
	events = slices.Insert(events, 2, sched, timer, sub)

	child := durable.Instance{ID: "parent:2", ExecutionID: "exec-child", Name: "Child", Status: durable.Pending, ParentID: "parent", Input: `1`}
	fired := durable.Message{InstanceID: "parent", VisibleAt: timer.FireAt, Event: durable.Event{
		EventType: durable.TimerFired, EventID: durable.NoEventID, Timestamp: e.now(), FireAt: timer.FireAt, TimerID: 1}}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Instance:  &row,
		NewEvents: events,
		Consumed:  ids(wi.Messages),
		Messages:  []durable.Message{fired, e.raised("other", "hi", 0), e.raised("@e@1", "signal", 0)},
		Starts:    []durable.Start{{Instance: child, Message: e.started(child)}},
		Tasks:     []durable.ActivityTask{task(row, "Greet", 0)},
	}), "CompleteOrchestration")

	e.wantDue("with the timer set", timer.FireAt, true)
	want := row
	want.LastUpdatedAt = e.now()
	e.sameInstance("the completed episode's row", e.get("parent"), want)
	if got := e.history("parent"); len(got) != len(events) || !sameEvent(got[3], timer) {
		t.Errorf("history = %v, want %v", types(got), types(events))
	}
	wantChild := child
	wantChild.CreatedAt, wantChild.LastUpdatedAt = e.now(), e.now()
	e.sameInstance("the started child", e.get("parent:2"), wantChild)
	if h := e.history("parent:2"); len(h) != 0 {
		t.Errorf("the child's history has %d events, want none", len(h))
	}
	at := e.lockActivity("w")
	want1 := task(row, "Greet", 0)
	if at.InstanceID != "parent" || at.ExecutionID != row.ExecutionID || at.Name != "Greet" || at.TaskID != 0 ||
		at.Input != want1.Input || at.Attempts != 1 || at.ID == 0 || at.LockToken == "" {
		t.Errorf("the scheduled task is %+v, want %+v, attempt 1", at, want1)
	}

	// The messages reached their inboxes: other's (with its start), the
	// entity's without a row, the child's start; the timer waits.
	got := map[string][]string{}
	for {
		w := e.lock("w")
		if w == nil {
			break
		}
		got[w.InstanceID] = names(w.Messages)
		if w.InstanceID == "@e@1" && w.Instance != nil {
			t.Errorf("the entity without a row has one: %+v", w.Instance)
		}
		e.must(e.b.CompleteOrchestration(e.ctx, e.hub, w, durable.OrchestrationUpdate{Consumed: ids(w.Messages)}), "CompleteOrchestration")
	}
	wantMsgs := map[string][]string{"other": {"Hello", "hi"}, "@e@1": {"signal"}, "parent:2": {"Child"}}
	if !reflect.DeepEqual(got, wantMsgs) {
		t.Errorf("the episode's messages reached %v, want %v", got, wantMsgs)
	}
	e.clk.Advance(time.Hour)
	w := e.lockID("w", "parent")
	if len(w.History) != len(events) || len(w.Messages) != 1 || !sameEvent(w.Messages[0].Event, fired.Event) {
		t.Errorf("after the timer: %d events, messages %+v; want %d events and the TimerFired", len(w.History), w.Messages, len(events))
	}

	// A new execution replaces the history.
	fresh := []durable.Event{e.event(durable.OrchestratorStarted), e.started(parent).Event}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, w, durable.OrchestrationUpdate{
		ResetHistory: true, NewEvents: fresh, Consumed: ids(w.Messages),
	}), "CompleteOrchestration with ResetHistory")
	if got := e.history("parent"); !slices.Equal(types(got), types(fresh)) {
		t.Errorf("history after ResetHistory = %v, want %v", types(got), types(fresh))
	}
	// Instance nil left the row as it was.
	e.sameInstance("the row after an update without one", e.get("parent"), want)
}

func completeConsumesOnlyListed(e *env) {
	t := e.t
	e.create(e.instance("a"))
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "x", 0), e.raised("a", "y", 0)), "SendMessages")
	wi := e.lockID("w", "a")
	if len(wi.Messages) != 3 {
		t.Fatalf("messages = %v, want Hello x y", names(wi.Messages))
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		NewEvents: []durable.Event{e.event(durable.OrchestratorStarted)},
		Consumed:  []int64{wi.Messages[0].ID, wi.Messages[2].ID},
	}), "CompleteOrchestration")
	wi = e.lockID("w", "a")
	if got := names(wi.Messages); !slices.Equal(got, []string{"x"}) {
		t.Errorf("messages left = %v, want x", got)
	}
	if len(wi.History) != 1 {
		t.Errorf("history has %d events, want 1", len(wi.History))
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		NewEvents: []durable.Event{e.event(durable.EventRaised), e.event(durable.OrchestratorCompleted)},
		Consumed:  ids(wi.Messages),
	}), "CompleteOrchestration")
	if got := types(e.history("a")); !slices.Equal(got, []durable.EventType{durable.OrchestratorStarted, durable.EventRaised, durable.OrchestratorCompleted}) {
		t.Errorf("appended history = %v", got)
	}
	e.noWork("after every message was consumed")
}

func completeAfterLockLost(e *env) {
	t := e.t
	inst := e.instance("a")
	e.create(inst)
	late := e.lockID("late", "a")
	e.clk.Advance(lease + time.Second)
	fresh := e.lockID("fresh", "a")

	done := inst
	done.Status = durable.Completed
	err := e.b.CompleteOrchestration(e.ctx, e.hub, late, durable.OrchestrationUpdate{
		Instance:  &done,
		NewEvents: e.episode(inst),
		Consumed:  ids(late.Messages),
		Messages:  []durable.Message{e.raised("b", "from the late owner", 0)},
		Starts:    []durable.Start{{Instance: e.instance("c"), Message: e.started(e.instance("c"))}},
		Tasks:     []durable.ActivityTask{task(inst, "Late", 0)},
	})
	e.wantErr(err, durable.ErrLockLost, "CompleteOrchestration after the lock was taken over")
	if got := e.get("a"); got.Status != durable.Pending {
		t.Errorf("the late owner's completion changed the status to %v", got.Status)
	}
	if h := e.history("a"); len(h) != 0 {
		t.Errorf("the late owner's completion appended %d events", len(h))
	}
	_, err = e.b.GetInstance(e.ctx, e.hub, "c")
	e.wantErr(err, durable.ErrNotFound, "the late owner's start")
	e.noWork("after the late owner's completion")
	e.noActivity("after the late owner's completion")
	// The new owner's messages were not consumed.
	e.must(e.b.AbandonOrchestration(e.ctx, e.hub, fresh, 0), "AbandonOrchestration")
	wi := e.lockID("w", "a")
	if len(wi.Messages) != 1 {
		t.Errorf("messages after the late completion = %v, want the start", names(wi.Messages))
	}
	// A renewed lock outlives its first lease.
	e.clk.Advance(lease / 2)
	e.must(e.b.RenewOrchestrationLock(e.ctx, e.hub, wi, lease), "RenewOrchestrationLock")
	e.clk.Advance(lease * 3 / 4)
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{Consumed: ids(wi.Messages)}), "CompleteOrchestration after a renewal")
}

func renewAndAbandon(e *env) {
	t := e.t
	e.create(e.instance("a"))
	wi := e.lockID("w", "a")
	e.clk.Advance(lease - time.Second)
	e.must(e.b.RenewOrchestrationLock(e.ctx, e.hub, wi, lease), "RenewOrchestrationLock")
	if !wi.LockedUntil.Equal(e.now().Add(lease)) {
		t.Errorf("LockedUntil after a renewal = %v, want %v", wi.LockedUntil, e.now().Add(lease))
	}
	e.clk.Advance(30 * time.Second)
	e.noWork("past the first lease, inside the renewed one")

	e.must(e.b.AbandonOrchestration(e.ctx, e.hub, wi, 20*time.Second), "AbandonOrchestration")
	e.noWork("inside the abandon's delay")
	due, ok, err := e.b.NextDue(e.ctx, e.hub)
	e.must(err, "NextDue")
	if !ok || due.After(e.now().Add(20*time.Second)) || !due.After(e.now()) {
		t.Errorf("NextDue after an abandon with a delay of 20s = %v, %v; want a time within 20s", due, ok)
	}
	e.clk.Advance(20 * time.Second)
	wi2 := e.lockID("w2", "a")
	if got := names(wi2.Messages); !slices.Equal(got, []string{"Hello"}) {
		t.Errorf("messages after the abandon = %v, want Hello", got)
	}
	e.must(e.b.AbandonOrchestration(e.ctx, e.hub, wi2, 0), "AbandonOrchestration")
	e.lockID("w3", "a")
	e.wantErr(e.b.CompleteOrchestration(e.ctx, e.hub, wi2, durable.OrchestrationUpdate{}), durable.ErrLockLost, "CompleteOrchestration after an abandon")
}

// scheduled completes inst's first episode scheduling tasks named by
// names, and returns the row.
func (e *env) scheduled(inst durable.Instance, names ...string) durable.Instance {
	e.t.Helper()
	wi := e.lockID("w", inst.ID)
	row := inst
	row.Status = durable.Running
	var tasks []durable.ActivityTask
	for i, n := range names {
		tasks = append(tasks, task(row, n, i))
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Instance: &row, NewEvents: e.episode(inst), Consumed: ids(wi.Messages), Tasks: tasks,
	}), "CompleteOrchestration")
	return row
}

func activities(e *env) {
	t := e.t
	inst := e.instance("a")
	e.create(inst)
	e.scheduled(inst, "t0", "t1", "t2")
	var first []*durable.ActivityTask
	for i := range 3 {
		at := e.lockActivity(fmt.Sprintf("w%d", i))
		if at.Name != fmt.Sprintf("t%d", i) || at.Attempts != 1 {
			t.Errorf("lock %d took %s attempt %d, want t%d attempt 1", i, at.Name, at.Attempts, i)
		}
		first = append(first, at)
	}
	e.noActivity("with every task locked")
	e.clk.Advance(lease - time.Second)
	e.must(e.b.RenewActivityLock(e.ctx, e.hub, first[2], lease), "RenewActivityLock")
	e.clk.Advance(time.Second)

	// t0 and t1 expired and are delivered again, oldest first; t2 was
	// renewed.
	again := e.lockActivity("x")
	if again.Name != "t0" || again.Attempts != 2 || again.LockToken == first[0].LockToken {
		t.Errorf("after the lease: %s attempt %d, want t0 attempt 2 with a new token", again.Name, again.Attempts)
	}
	e.wantErr(e.b.CompleteActivity(e.ctx, e.hub, first[0], e.taskCompleted(first[0], `"late"`)), durable.ErrLockLost,
		"CompleteActivity after the lock was taken over")
	e.wantErr(e.b.RenewActivityLock(e.ctx, e.hub, first[0], lease), durable.ErrLockLost, "RenewActivityLock after the lock was taken over")
	e.noWork("after a lost CompleteActivity")

	e.must(e.b.CompleteActivity(e.ctx, e.hub, again, e.taskCompleted(again, `"done"`)), "CompleteActivity")
	wi := e.lockID("w", "a")
	if len(wi.Messages) != 1 || wi.Messages[0].Event.EventType != durable.TaskCompleted || *wi.Messages[0].Event.Result != `"done"` {
		t.Errorf("the instance's inbox after CompleteActivity = %+v, want the TaskCompleted", wi.Messages)
	}
	t1 := e.lockActivity("x")
	if t1.Name != "t1" {
		t.Errorf("next task = %s, want t1", t1.Name)
	}
	e.noActivity("with t1 and t2 locked and t0 done")
	e.clk.Advance(2 * lease)
	// t0 is gone for good; t1 and t2 come back.
	var left []string
	for range 2 {
		left = append(left, e.lockActivity("y").Name)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"t1", "t2"}) {
		t.Errorf("tasks after their leases = %v, want t1 t2", left)
	}
	e.noActivity("with t0 completed")
}

func activityDelayAndAbandon(e *env) {
	t := e.t
	inst := e.instance("a")
	e.create(inst)
	row := e.scheduled(inst)
	wi := e.lock("w")
	if wi != nil {
		t.Fatalf("unexpected work for %s", wi.InstanceID)
	}
	// A task with a VisibleAt waits for it (a retry's delay).
	delayed := task(row, "retry", 1)
	delayed.VisibleAt = e.now().Add(time.Minute)
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "go", 0)), "SendMessages")
	wi = e.lockID("w", "a")
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Consumed: ids(wi.Messages), Tasks: []durable.ActivityTask{delayed, task(row, "now", 2)},
	}), "CompleteOrchestration")
	e.wantDue("with a delayed task", delayed.VisibleAt, true)
	now := e.lockActivity("w")
	if now.Name != "now" {
		t.Errorf("first task = %s, want now", now.Name)
	}
	e.noActivity("before the delayed task is due")
	e.must(e.b.AbandonActivity(e.ctx, e.hub, now, 2*time.Minute), "AbandonActivity")
	e.clk.Advance(time.Minute)
	at := e.lockActivity("w")
	if at.Name != "retry" || !at.VisibleAt.Equal(delayed.VisibleAt) {
		t.Errorf("task due after a minute = %s visible at %v, want retry at %v", at.Name, at.VisibleAt, delayed.VisibleAt)
	}
	e.noActivity("inside the abandon's delay")
	e.must(e.b.AbandonActivity(e.ctx, e.hub, at, 0), "AbandonActivity")
	again := e.lockActivity("w")
	if again.Name != "retry" || again.Attempts != 2 {
		t.Errorf("after an abandon without delay: %s attempt %d, want retry attempt 2", again.Name, again.Attempts)
	}
	e.must(e.b.CompleteActivity(e.ctx, e.hub, again, e.taskCompleted(again, "1")), "CompleteActivity")
	e.clk.Advance(time.Minute)
	if again := e.lockActivity("w"); again.Name != "now" || again.Attempts != 2 {
		t.Errorf("after the abandon's delay: %s attempt %d, want now attempt 2", again.Name, again.Attempts)
	}
}

func historyRoundTrip(e *env) {
	t := e.t
	inst := e.instance("h")
	e.create(inst)
	wi := e.lockID("w", "h")
	zone := time.FixedZone("UTC+9", 9*3600)
	at := time.Date(2031, 5, 6, 7, 8, 9, 123456789, zone)
	full := durable.Event{
		EventType: durable.ExecutionStarted, EventID: 7, IsPlayed: true, Timestamp: at,
		Name: "n", Version: "v", Input: ptr(`{"a":[1,"two",null]}`), Result: ptr(`null`),
		TaskScheduledID: 3, Reason: "r", Details: "d",
		FailureDetails: &durable.FailureDetails{ErrorType: "Error", ErrorMessage: "boom", StackTrace: ptr("at x"),
			InnerFailure: &durable.FailureDetails{ErrorType: "Inner", ErrorMessage: ""}, IsNonRetriable: true},
		InstanceID: "child", FireAt: at.Add(time.Nanosecond), TimerID: 4, OrchestrationStatus: durable.Failed,
		OrchestrationInstance: &durable.InstanceRef{InstanceID: "h", ExecutionID: "e"},
		ParentInstance: &durable.ParentInstance{Name: "p", Version: "pv", TaskScheduleID: 5,
			OrchestrationInstance: &durable.InstanceRef{InstanceID: "ph", ExecutionID: "pe"}},
		ScheduledStartTime: ptr(at.Add(time.Hour)),
		Tags:               map[string]string{"k": "v", "empty": ""},
		Data:               "data",
	}
	events := []durable.Event{
		full,
		{EventType: durable.TaskCompleted, EventID: durable.NoEventID, Timestamp: at, Result: ptr(``)},
		{EventType: durable.TaskCompleted, EventID: durable.NoEventID, Timestamp: at, Result: ptr(`"null"`)},
		{EventType: durable.TaskCompleted, EventID: 0, Timestamp: at}, // nil Result, zero times elsewhere
		{EventType: durable.GenericEvent, EventID: durable.NoEventID, Reason: "Rewound: x", Tags: map[string]string{}},
		{EventType: durable.EventType(99), EventID: -5, Data: "unknown type"},
	}
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{NewEvents: events, Consumed: ids(wi.Messages)}),
		"CompleteOrchestration")
	check := func(what string, got []durable.Event) {
		t.Helper()
		if len(got) != len(events) {
			t.Fatalf("%s: %d events, want %d", what, len(got), len(events))
		}
		for i, ev := range got {
			if !sameEvent(ev, events[i]) {
				t.Errorf("%s: event %d =\n %#v\nwant\n %#v", what, i, ev, events[i])
			}
			for _, tm := range []time.Time{ev.Timestamp, ev.FireAt} {
				if !tm.IsZero() && tm.Location() != time.UTC {
					t.Errorf("%s: event %d has a time in %v, want UTC", what, i, tm.Location())
				}
			}
		}
		if got[0].Input == nil || got[3].Result != nil || got[1].Result == nil || *got[1].Result != "" || *got[2].Result != `"null"` {
			t.Errorf("%s: nil and empty values did not survive", what)
		}
		if got[4].Tags == nil || got[0].Timestamp.Nanosecond() != 123456789 {
			t.Errorf("%s: empty tags or nanoseconds did not survive", what)
		}
	}
	check("GetHistory", e.history("h"))
	e.must(e.b.SendMessages(e.ctx, e.hub, durable.Message{InstanceID: "h", Event: full}), "SendMessages")
	wi = e.lockID("w", "h")
	check("the work item's history", wi.History)
	if len(wi.Messages) != 1 || !sameEvent(wi.Messages[0].Event, full) {
		t.Errorf("a message's event did not round-trip:\n %#v\nwant\n %#v", wi.Messages, full)
	}
}

// signalWait is how long a watch may take to signal: a deadline for a
// hang, not a measure of speed.
const signalWait = 10 * time.Second

func watch(e *env) {
	ch, stop := e.b.Watch(e.hub)
	defer stop()
	drain := func() {
		select {
		case <-ch:
		default:
		}
	}
	want := func(after string) {
		e.t.Helper()
		select {
		case <-ch:
		case <-time.After(signalWait):
			e.t.Errorf("no signal within %v after %s", signalWait, after)
		}
	}
	drain()
	inst := e.instance("a")
	e.create(inst)
	want("CreateInstance")
	drain()
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "x", 0)), "SendMessages")
	want("SendMessages")
	wi := e.lockID("w", "a")
	drain()
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Consumed: ids(wi.Messages), Tasks: []durable.ActivityTask{task(inst, "t", 0)},
	}), "CompleteOrchestration")
	want("CompleteOrchestration")
	at := e.lockActivity("w")
	drain()
	e.must(e.b.CompleteActivity(e.ctx, e.hub, at, e.taskCompleted(at, "1")), "CompleteActivity")
	want("CompleteActivity")

	// A stopped watch hears nothing more; stop is idempotent.
	stop()
	stop()
	drain()
	e.must(e.b.SendMessages(e.ctx, e.hub, e.raised("a", "y", 0)), "SendMessages")
	select {
	case <-ch:
		e.t.Error("a stopped watch was signalled")
	case <-time.After(50 * time.Millisecond):
	}
}

// messageExecutionID checks that a message's ExecutionID comes back with
// it through every way a message is sent: SendMessages, an episode's
// messages, a start, and an activity's result; a message sent without one
// comes back without one.
func messageExecutionID(e *env) {
	t := e.t
	inst := e.instance("x")
	start := e.started(inst)
	start.ExecutionID = inst.ExecutionID
	e.must(e.b.CreateInstance(e.ctx, e.hub, inst, start, durable.OverwriteNonRunning), "CreateInstance(x)")
	sent := e.raised("x", "sent", 0)
	sent.ExecutionID = "exec-old"
	e.must(e.b.SendMessages(e.ctx, e.hub, sent, e.raised("x", "none", 0)), "SendMessages")
	wi := e.lockID("w", "x")
	want := map[string]string{"Hello": inst.ExecutionID, "sent": "exec-old", "none": ""}
	for _, m := range wi.Messages {
		if w := want[m.Event.Name]; m.ExecutionID != w {
			t.Errorf("message %s: ExecutionID %q, want %q", m.Event.Name, m.ExecutionID, w)
		}
	}
	if len(wi.Messages) != len(want) {
		t.Fatalf("the work item has %d messages, want %d", len(wi.Messages), len(want))
	}

	timer := e.raised("x", "timer", time.Second)
	timer.ExecutionID = inst.ExecutionID
	child := e.instance("x-child")
	childStart := e.started(child)
	childStart.ExecutionID = child.ExecutionID
	inst.Status = durable.Running
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Instance: &inst,
		Consumed: ids(wi.Messages),
		Messages: []durable.Message{timer},
		Starts:   []durable.Start{{Instance: child, Message: childStart}},
		Tasks:    []durable.ActivityTask{task(inst, "Act", 1)},
	}), "CompleteOrchestration")

	wi = e.lockID("w", "x-child")
	if len(wi.Messages) != 1 || wi.Messages[0].ExecutionID != child.ExecutionID {
		t.Errorf("the sub-orchestration's start message is %+v, want ExecutionID %q", wi.Messages, child.ExecutionID)
	}
	at := e.lockActivity("w")
	result := e.taskCompleted(at, "1")
	result.ExecutionID = at.ExecutionID
	e.must(e.b.CompleteActivity(e.ctx, e.hub, at, result), "CompleteActivity")
	e.clk.Advance(time.Second)
	wi = e.lockID("w", "x")
	got := map[string]string{}
	for _, m := range wi.Messages {
		got[m.Event.Name] = m.ExecutionID
		if m.Event.EventType == durable.TaskCompleted {
			got["result"] = m.ExecutionID
		}
	}
	if got["timer"] != inst.ExecutionID || got["result"] != inst.ExecutionID {
		t.Errorf("the timer's and the result's ExecutionIDs are %q and %q, want %q", got["timer"], got["result"], inst.ExecutionID)
	}
}
