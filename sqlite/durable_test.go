package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/durable/durabletest"
)

func TestDurableConformance(t *testing.T) {
	durabletest.Run(t, func(t *testing.T, clk clock.Clock) durable.Backend {
		return open(t, t.TempDir(), clk)
	})
}

// lockOne locks the instance's work item, failing the test when there is
// none.
func lockOne(t *testing.T, s *Store, hub string) *durable.OrchestrationWorkItem {
	t.Helper()
	wi, err := s.LockNextOrchestration(context.Background(), hub, "me", time.Minute)
	if err != nil || wi == nil {
		t.Fatalf("LockNextOrchestration = %v, %v", wi, err)
	}
	return wi
}

func startEvent(id, exec string) durable.Message {
	return durable.Message{InstanceID: id, Event: durable.Event{EventType: durable.ExecutionStarted, EventID: -1, Name: "O",
		OrchestrationInstance: &durable.InstanceRef{InstanceID: id, ExecutionID: exec}}}
}

func TestDurableMessageExecutionID(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), clock.Real{})
	const hub = "h"
	if err := s.CreateTaskHub(ctx, hub); err != nil {
		t.Fatal(err)
	}
	inst := durable.Instance{ID: "i", ExecutionID: "e1", Name: "O", Status: durable.Pending}
	if err := s.CreateInstance(ctx, hub, inst, startEvent("i", "e1"), durable.OverwriteAny); err != nil {
		t.Fatal(err)
	}
	done := durable.Message{InstanceID: "i", ExecutionID: "e1", Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: 0}}
	if err := s.SendMessages(ctx, hub, done); err != nil {
		t.Fatal(err)
	}
	wi := lockOne(t, s, hub)
	if len(wi.Messages) != 2 || wi.Messages[0].ExecutionID != "" || wi.Messages[1].ExecutionID != "e1" {
		t.Fatalf("messages = %+v, want the second for execution e1", wi.Messages)
	}
}

// runningInstance creates the task hub and in it the running instance "i"
// (execution "e1") with its start message.
func runningInstance(t *testing.T, s *Store, hub string) durable.Instance {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateTaskHub(ctx, hub); err != nil {
		t.Fatal(err)
	}
	inst := durable.Instance{ID: "i", ExecutionID: "e1", Name: "O", Status: durable.Running}
	if err := s.CreateInstance(ctx, hub, inst, startEvent("i", "e1"), durable.OverwriteAny); err != nil {
		t.Fatal(err)
	}
	return inst
}

// ev is an event of typ stamped now.
func ev(typ durable.EventType, id int) durable.Event {
	return durable.Event{EventType: typ, EventID: id, Timestamp: time.Now().UTC()}
}

// TestDurableHistoryCache checks that the histories a Store caches follow
// the database: appended episodes, a reset history, and changes made by
// another Store on the same database.
func TestDurableHistoryCache(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, clock.Real{})
	const hub = "h"
	inst := runningInstance(t, s, hub)
	// episode commits the work item with the events and a message that
	// makes the instance ready again, and returns the next work item.
	episode := func(s *Store, wi *durable.OrchestrationWorkItem, reset bool, events ...durable.Event) *durable.OrchestrationWorkItem {
		t.Helper()
		var consumed []int64
		for _, m := range wi.Messages {
			consumed = append(consumed, m.ID)
		}
		next := durable.Message{InstanceID: "i", Event: durable.Event{EventType: durable.EventRaised, EventID: -1, Name: "go"}}
		err := s.CompleteOrchestration(ctx, hub, wi, durable.OrchestrationUpdate{Instance: &inst, ResetHistory: reset,
			NewEvents: events, Consumed: consumed, Messages: []durable.Message{next}})
		if err != nil {
			t.Fatal(err)
		}
		return lockOne(t, s, hub)
	}
	types := func(h []durable.Event) []durable.EventType {
		var out []durable.EventType
		for _, e := range h {
			out = append(out, e.EventType)
		}
		return out
	}
	wantHistory := func(s *Store, wi *durable.OrchestrationWorkItem, want ...durable.EventType) {
		t.Helper()
		if got := types(wi.History); !slices.Equal(got, want) {
			t.Fatalf("work item history = %v, want %v", got, want)
		}
		h, err := s.GetHistory(ctx, hub, "i")
		if err != nil {
			t.Fatal(err)
		}
		if got := types(h); !slices.Equal(got, want) {
			t.Fatalf("stored history = %v, want %v", got, want)
		}
	}
	wi := lockOne(t, s, hub)
	wi = episode(s, wi, false, ev(durable.OrchestratorStarted, -1), ev(durable.ExecutionStarted, -1))
	wantHistory(s, wi, durable.OrchestratorStarted, durable.ExecutionStarted)
	wi.History[0].EventType = durable.TimerFired // the caller's copy: the cache keeps its own
	wi = episode(s, wi, false, ev(durable.TaskScheduled, 0))
	wantHistory(s, wi, durable.OrchestratorStarted, durable.ExecutionStarted, durable.TaskScheduled)
	wi = episode(s, wi, true, ev(durable.OrchestratorStarted, -1))
	wantHistory(s, wi, durable.OrchestratorStarted)

	// Another Store on the same database resets the history and grows it
	// past the length this Store cached: this Store must not trust its
	// cache.
	wi = episode(s, wi, false, ev(durable.TaskScheduled, 0), ev(durable.TaskScheduled, 1))
	wantHistory(s, wi, durable.OrchestratorStarted, durable.TaskScheduled, durable.TaskScheduled)
	if err := s.AbandonOrchestration(ctx, hub, wi, 0); err != nil {
		t.Fatal(err)
	}
	other := open(t, dir, clock.Real{})
	wi2 := lockOne(t, other, hub)
	wi2 = episode(other, wi2, true, ev(durable.ExecutionStarted, -1), ev(durable.TimerCreated, 0), ev(durable.TimerCreated, 1), ev(durable.TimerCreated, 2))
	if err := other.AbandonOrchestration(ctx, hub, wi2, 0); err != nil {
		t.Fatal(err)
	}
	wi = lockOne(t, s, hub)
	wantHistory(s, wi, durable.ExecutionStarted, durable.TimerCreated, durable.TimerCreated, durable.TimerCreated)
	// And purged: a new instance with the same id starts a new history.
	if err := s.AbandonOrchestration(ctx, hub, wi, 0); err != nil {
		t.Fatal(err)
	}
	if err := other.PurgeInstance(ctx, hub, "i"); err != nil {
		t.Fatal(err)
	}
	if err := other.CreateInstance(ctx, hub, inst, startEvent("i", "e2"), durable.OverwriteAny); err != nil {
		t.Fatal(err)
	}
	wi = lockOne(t, s, hub)
	if len(wi.History) != 0 {
		t.Fatalf("history of the new instance = %v, want none", types(wi.History))
	}
}

func TestDurableBatchLocks(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), clock.Real{})
	const hub = "h"
	if err := s.CreateTaskHub(ctx, hub); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		inst := durable.Instance{ID: id, ExecutionID: "e", Name: "O", Status: durable.Pending}
		if err := s.CreateInstance(ctx, hub, inst, startEvent(id, "e"), durable.OverwriteAny); err != nil {
			t.Fatal(err)
		}
	}
	// A second message to a: still one work item for it.
	if err := s.SendMessages(ctx, hub, durable.Message{InstanceID: "a", Event: durable.Event{EventType: durable.EventRaised, EventID: -1, Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	wis, err := s.LockNextOrchestrations(ctx, hub, "me", time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(wis) != 2 || wis[0].InstanceID != "a" || wis[1].InstanceID != "b" || len(wis[0].Messages) != 2 || wis[0].Instance == nil {
		t.Fatalf("first claim = %+v, want a (2 messages) and b", wis)
	}
	wis2, err := s.LockNextOrchestrations(ctx, hub, "me", time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(wis2) != 1 || wis2[0].InstanceID != "c" {
		t.Fatalf("second claim = %+v, want c alone", wis2)
	}
	if none, err := s.LockNextOrchestrations(ctx, hub, "me", time.Minute, 10); err != nil || len(none) != 0 {
		t.Fatalf("third claim = %v, %v, want none", none, err)
	}
	// Each lock is its own: completing a's leaves b locked.
	if err := s.CompleteOrchestration(ctx, hub, wis[0], durable.OrchestrationUpdate{
		Tasks: []durable.ActivityTask{{InstanceID: "a", ExecutionID: "e", Name: "T", TaskID: 1, Input: "1"},
			{InstanceID: "a", ExecutionID: "e", Name: "T", TaskID: 2, Input: "2"},
			{InstanceID: "a", ExecutionID: "e", Name: "T", TaskID: 3, Input: "3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteOrchestration(ctx, hub, wis[0], durable.OrchestrationUpdate{}); err == nil {
		t.Fatal("a second completion of a's work item succeeded")
	}
	tasks, err := s.LockNextActivities(ctx, hub, "me", time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 2 || tasks[0].TaskID != 1 || tasks[1].TaskID != 2 || tasks[0].Attempts != 1 {
		t.Fatalf("tasks = %+v, want tasks 1 and 2", tasks)
	}
	rest, err := s.LockNextActivities(ctx, hub, "me", time.Minute, 5)
	if err != nil || len(rest) != 1 || rest[0].TaskID != 3 {
		t.Fatalf("rest = %+v, %v, want task 3", rest, err)
	}
	for _, tk := range append(tasks, rest...) {
		if err := s.CompleteActivity(ctx, hub, tk, durable.Message{InstanceID: "a", ExecutionID: "e",
			Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: tk.TaskID}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDurableHandoff checks the work a commit locks for its owner: the
// activity tasks an episode schedules, and the instance an activity's
// result is for once its last task is done.
func TestDurableHandoff(t *testing.T) {
	ctx := context.Background()
	clk := clocktest.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	s := open(t, t.TempDir(), clk)
	const hub = "h"
	if err := s.CreateTaskHub(ctx, hub); err != nil {
		t.Fatal(err)
	}
	inst := durable.Instance{ID: "i", ExecutionID: "e1", Name: "O", Status: durable.Running}
	if err := s.CreateInstance(ctx, hub, inst, startEvent("i", "e1"), durable.OverwriteAny); err != nil {
		t.Fatal(err)
	}
	wi := lockOne(t, s, hub)
	task := func(name string, id int, delay time.Duration) durable.ActivityTask {
		t := durable.ActivityTask{InstanceID: "i", ExecutionID: "e1", Name: name, TaskID: id, Input: "1"}
		if delay > 0 {
			t.VisibleAt = clk.Now().Add(delay)
		}
		return t
	}
	u := durable.OrchestrationUpdate{Instance: &inst, Consumed: []int64{wi.Messages[0].ID},
		NewEvents: []durable.Event{{EventType: durable.ExecutionStarted, EventID: -1, Name: "O"}},
		Tasks:     []durable.ActivityTask{task("Later", 0, time.Hour), task("A", 1, 0), task("B", 2, 0), task("C", 3, 0)}}

	// A commit under a lock that is not the instance's locks nothing.
	stale := *wi
	stale.LockToken = formatToken(1)
	if got, err := s.CompleteOrchestrationLocking(ctx, hub, &stale, u, "me", time.Minute, 2); !errors.Is(err, durable.ErrLockLost) || got != nil {
		t.Fatalf("CompleteOrchestrationLocking with a stale lock = %v, %v; want ErrLockLost", got, err)
	}

	locked, err := s.CompleteOrchestrationLocking(ctx, hub, wi, u, "me", time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(locked) != 2 || locked[0].Name != "A" || locked[1].Name != "B" {
		t.Fatalf("locked %+v, want the tasks A and B (due at once, in order, at most 2)", locked)
	}
	for _, lt := range locked {
		if lt.ID == 0 || lt.Attempts != 1 || lt.LockToken == "" || lt.InstanceID != "i" || lt.ExecutionID != "e1" || lt.Input != "1" {
			t.Fatalf("locked task %+v lacks its id, attempt, lock or fields", lt)
		}
	}
	// Another owner gets C only: A and B are locked, Later is not due.
	other, err := s.LockNextActivity(ctx, hub, "other", time.Minute)
	if err != nil || other == nil || other.Name != "C" {
		t.Fatalf("LockNextActivity = %+v, %v; want task C", other, err)
	}
	if again, err := s.LockNextActivity(ctx, hub, "other", time.Minute); err != nil || again != nil {
		t.Fatalf("LockNextActivity = %+v, %v; want none", again, err)
	}
	// The handed-off locks are real: renewing works, and so does the
	// completion, which leaves the instance alone while tasks remain.
	if err := s.RenewActivityLock(ctx, hub, locked[0], time.Minute); err != nil {
		t.Fatal(err)
	}
	result := func(at *durable.ActivityTask) durable.Message {
		out := "2"
		return durable.Message{InstanceID: "i", ExecutionID: "e1", Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: at.TaskID, Result: &out}}
	}
	for _, at := range []*durable.ActivityTask{locked[0], locked[1], other} {
		next, err := s.CompleteActivityLocking(ctx, hub, at, result(at), "me", time.Minute)
		if err != nil || next != nil {
			t.Fatalf("CompleteActivityLocking(%s) = %+v, %v; want no work item while other tasks of the instance remain", at.Name, next, err)
		}
	}
	// The results wait for a claim, as usual.
	wi = lockOne(t, s, hub)
	if len(wi.Messages) != 3 {
		t.Fatalf("claimed %d messages, want the 3 results", len(wi.Messages))
	}
	var consumed []int64
	for _, m := range wi.Messages {
		consumed = append(consumed, m.ID)
	}
	// Later is cancelled with its instance's next episode: only D runs.
	if _, err := s.w.Exec(`DELETE FROM durable_tasks WHERE name = 'Later'`); err != nil {
		t.Fatal(err)
	}
	locked, err = s.CompleteOrchestrationLocking(ctx, hub, wi, durable.OrchestrationUpdate{Instance: &inst, Consumed: consumed,
		Tasks: []durable.ActivityTask{task("D", 4, 0)}}, "me", time.Minute, 16)
	if err != nil || len(locked) != 1 {
		t.Fatalf("CompleteOrchestrationLocking = %+v, %v; want task D", locked, err)
	}
	// D is the instance's last task: its result locks the instance for
	// the owner and comes back as the work item.
	next, err := s.CompleteActivityLocking(ctx, hub, locked[0], result(locked[0]), "me", time.Minute)
	if err != nil || next == nil {
		t.Fatalf("CompleteActivityLocking(D) = %v, %v; want the instance's work item", next, err)
	}
	if next.InstanceID != "i" || next.Instance == nil || len(next.Messages) != 1 || next.Messages[0].Event.TaskScheduledID != 4 || next.LockToken == "" {
		t.Fatalf("work item %+v, want instance i with D's result", next)
	}
	if wi, err := s.LockNextOrchestration(ctx, hub, "other", time.Minute); err != nil || wi != nil {
		t.Fatalf("LockNextOrchestration = %+v, %v; want none: the instance is locked", wi, err)
	}
	if err := s.CompleteOrchestration(ctx, hub, next, durable.OrchestrationUpdate{Consumed: []int64{next.Messages[0].ID}}); err != nil {
		t.Fatalf("completing the handed-off work item: %v", err)
	}

	// A result for an instance locked by another owner locks nothing.
	if err := s.SendMessages(ctx, hub, durable.Message{InstanceID: "i", Event: durable.Event{EventType: durable.EventRaised, EventID: -1, Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	held, err := s.LockNextOrchestration(ctx, hub, "other", time.Minute)
	if err != nil || held == nil {
		t.Fatalf("LockNextOrchestration = %v, %v", held, err)
	}
	if err := s.insertTasksNow(ctx, hub, task("E", 5, 0)); err != nil {
		t.Fatal(err)
	}
	e, err := s.LockNextActivity(ctx, hub, "me", time.Minute)
	if err != nil || e == nil {
		t.Fatalf("LockNextActivity = %v, %v", e, err)
	}
	if next, err := s.CompleteActivityLocking(ctx, hub, e, result(e), "me", time.Minute); err != nil || next != nil {
		t.Fatalf("CompleteActivityLocking for a locked instance = %+v, %v; want none", next, err)
	}
	// Once its lock expires, the instance is the owner's again.
	clk.Advance(2 * time.Minute)
	if err := s.insertTasksNow(ctx, hub, task("F", 6, 0)); err != nil {
		t.Fatal(err)
	}
	f, err := s.LockNextActivity(ctx, hub, "me", time.Minute)
	if err != nil || f == nil {
		t.Fatalf("LockNextActivity = %v, %v", f, err)
	}
	if next, err := s.CompleteActivityLocking(ctx, hub, f, result(f), "me", time.Minute); err != nil || next == nil || len(next.Messages) != 3 {
		t.Fatalf("CompleteActivityLocking after the lock expired = %+v, %v; want the work item with the event and the two results", next, err)
	}
}

// insertTasksNow schedules tasks outside an episode.
func (s *Store) insertTasksNow(ctx context.Context, hub string, tasks ...durable.ActivityTask) error {
	return s.inBatch(ctx, func(ctx context.Context, tx *sql.Tx) error {
		return s.insertTasks(ctx, tx, hub, s.clock.Now(), tasks)
	})
}

// TestDurableHandoffHistory checks the history of a work item that an
// activity's completion hands off, which this Store may take from its
// cache without reading it: it must be the database's after this Store's
// own episodes, after another process wrote the history, and when the
// episode that wrote it commits in the same batch as the completion.
func TestDurableHandoffHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, clock.Real{})
	const hub = "h"
	inst := runningInstance(t, s, hub)
	consumed := func(wi *durable.OrchestrationWorkItem) []int64 {
		var ids []int64
		for _, m := range wi.Messages {
			ids = append(ids, m.ID)
		}
		return ids
	}
	tasks := func(ids ...int) []durable.ActivityTask {
		var out []durable.ActivityTask
		for _, id := range ids {
			out = append(out, durable.ActivityTask{InstanceID: "i", ExecutionID: "e1", Name: "A", TaskID: id, Input: "1"})
		}
		return out
	}
	result := func(at *durable.ActivityTask) durable.Message {
		return durable.Message{InstanceID: "i", ExecutionID: "e1", Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: at.TaskID}}
	}
	sameAsStored := func(wi *durable.OrchestrationWorkItem, want int) {
		t.Helper()
		stored, err := s.GetHistory(ctx, hub, "i")
		if err != nil {
			t.Fatal(err)
		}
		if len(wi.History) != want || len(stored) != want {
			t.Fatalf("handed-off history has %d events, stored %d; want %d", len(wi.History), len(stored), want)
		}
		for i := range stored {
			if wi.History[i].EventType != stored[i].EventType || wi.History[i].EventID != stored[i].EventID {
				t.Fatalf("handed-off history event %d = %v %d, stored %v %d", i, wi.History[i].EventType, wi.History[i].EventID, stored[i].EventType, stored[i].EventID)
			}
		}
		row, err := s.GetInstance(ctx, hub, "i")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(wi.Instance, row) {
			t.Fatalf("handed-off instance = %+v, stored %+v", wi.Instance, row)
		}
	}

	// This Store's own episode, then its task's result.
	wi := lockOne(t, s, hub)
	locked, err := s.CompleteOrchestrationLocking(ctx, hub, wi, durable.OrchestrationUpdate{Instance: &inst, Consumed: consumed(wi),
		NewEvents: []durable.Event{ev(durable.OrchestratorStarted, -1), ev(durable.ExecutionStarted, -1), ev(durable.TaskScheduled, 0)},
		Tasks:     tasks(0)}, "me", time.Minute, 16)
	if err != nil || len(locked) != 1 {
		t.Fatalf("CompleteOrchestrationLocking = %v, %v", locked, err)
	}
	next, err := s.CompleteActivityLocking(ctx, hub, locked[0], result(locked[0]), "me", time.Minute)
	if err != nil || next == nil {
		t.Fatalf("CompleteActivityLocking = %v, %v; want the work item", next, err)
	}
	sameAsStored(next, 3)

	// Another process appends to the history while a task runs.
	locked, err = s.CompleteOrchestrationLocking(ctx, hub, next, durable.OrchestrationUpdate{Instance: &inst, Consumed: consumed(next),
		NewEvents: []durable.Event{ev(durable.OrchestratorStarted, -1), ev(durable.TaskCompleted, -1), ev(durable.TaskScheduled, 1)},
		Tasks:     tasks(1)}, "me", time.Minute, 16)
	if err != nil || len(locked) != 1 {
		t.Fatalf("CompleteOrchestrationLocking = %v, %v", locked, err)
	}
	other := open(t, dir, clock.Real{})
	if err := other.SendMessages(ctx, hub, durable.Message{InstanceID: "i", Event: durable.Event{EventType: durable.EventRaised, EventID: -1, Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	owi := lockOne(t, other, hub)
	changed := inst
	changed.CustomStatus = `"waiting"`
	if err := other.CompleteOrchestration(ctx, hub, owi, durable.OrchestrationUpdate{Instance: &changed, Consumed: consumed(owi),
		NewEvents: []durable.Event{ev(durable.OrchestratorStarted, -1), ev(durable.EventRaised, -1)}}); err != nil {
		t.Fatal(err)
	}
	next, err = s.CompleteActivityLocking(ctx, hub, locked[0], result(locked[0]), "me", time.Minute)
	if err != nil || next == nil {
		t.Fatalf("CompleteActivityLocking = %v, %v; want the work item", next, err)
	}
	sameAsStored(next, 8)

	// The episode that writes the history and the completion of the
	// instance's last task commit in one batch, the episode first.
	locked, err = s.CompleteOrchestrationLocking(ctx, hub, next, durable.OrchestrationUpdate{Instance: &inst, Consumed: consumed(next),
		NewEvents: []durable.Event{ev(durable.OrchestratorStarted, -1), ev(durable.TaskCompleted, -1), ev(durable.TaskScheduled, 2), ev(durable.TaskScheduled, 3)},
		Tasks:     tasks(2, 3)}, "me", time.Minute, 16)
	if err != nil || len(locked) != 2 {
		t.Fatalf("CompleteOrchestrationLocking = %v, %v", locked, err)
	}
	if n, err := s.CompleteActivityLocking(ctx, hub, locked[0], result(locked[0]), "me", time.Minute); err != nil || n != nil {
		t.Fatalf("CompleteActivityLocking = %v, %v; want no work item while a task remains", n, err)
	}
	wi = lockOne(t, s, hub)
	release := make(chan struct{})
	blocked := make(chan struct{})
	go func() {
		_ = s.inBatch(ctx, func(context.Context, *sql.Tx) error {
			close(blocked)
			<-release
			return nil
		})
	}()
	<-blocked
	pending := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
			s.batch.mu.Lock()
			got := len(s.batch.pending)
			s.batch.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes wait for the batch, want %d", got, n)
			}
		}
	}
	episodeDone := make(chan error, 1)
	go func() {
		episodeDone <- s.CompleteOrchestration(ctx, hub, wi, durable.OrchestrationUpdate{Instance: &inst, Consumed: consumed(wi),
			NewEvents: []durable.Event{ev(durable.OrchestratorStarted, -1), ev(durable.TaskCompleted, -1)}})
	}()
	pending(1)
	type handoff struct {
		wi  *durable.OrchestrationWorkItem
		err error
	}
	handedOff := make(chan handoff, 1)
	go func() {
		n, err := s.CompleteActivityLocking(ctx, hub, locked[1], result(locked[1]), "me", time.Minute)
		handedOff <- handoff{n, err}
	}()
	pending(2)
	close(release)
	if err := <-episodeDone; err != nil {
		t.Fatal(err)
	}
	h := <-handedOff
	if h.err != nil || h.wi == nil {
		t.Fatalf("CompleteActivityLocking = %v, %v; want the work item", h.wi, h.err)
	}
	sameAsStored(h.wi, 14)
}
