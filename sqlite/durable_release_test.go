package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
)

// ReleaseLocks frees, at once, the instance and task locks of the owners
// it is told are gone, and only theirs.
func TestDurableReleaseLocks(t *testing.T) {
	s := open(t, t.TempDir(), clock.Real{})
	ctx, hub := context.Background(), "hub"
	if err := s.CreateTaskHub(ctx, hub); err != nil {
		t.Fatal(err)
	}
	start := func(id string) {
		t.Helper()
		inst := durable.Instance{ID: id, ExecutionID: "e-" + id, Name: "Hello", Status: durable.Pending}
		msg := durable.Message{InstanceID: id, Event: durable.Event{EventType: durable.ExecutionStarted, EventID: durable.NoEventID,
			Timestamp: time.Now(), Name: "Hello", OrchestrationInstance: &durable.InstanceRef{InstanceID: id, ExecutionID: inst.ExecutionID}}}
		if err := s.CreateInstance(ctx, hub, inst, msg, durable.OverwriteNonRunning); err != nil {
			t.Fatal(err)
		}
	}
	lock := func(owner string) *durable.OrchestrationWorkItem {
		t.Helper()
		wi, err := s.LockNextOrchestration(ctx, hub, owner, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return wi
	}
	lockTask := func(owner string) *durable.ActivityTask {
		t.Helper()
		task, err := s.LockNextActivity(ctx, hub, owner, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return task
	}

	// The dead owner holds a1's activity task, a2's work item; the live
	// one holds a3's.
	start("a1")
	wi := lock("dead")
	inst := *wi.Instance
	inst.Status = durable.Running
	u := durable.OrchestrationUpdate{Instance: &inst, Tasks: []durable.ActivityTask{{InstanceID: "a1", ExecutionID: inst.ExecutionID, Name: "Act", Input: "1"}}}
	for _, m := range wi.Messages {
		u.Consumed = append(u.Consumed, m.ID)
	}
	if err := s.CompleteOrchestration(ctx, hub, wi, u); err != nil {
		t.Fatal(err)
	}
	if lockTask("dead") == nil {
		t.Fatal("no activity task to lock")
	}
	start("a2")
	if wi := lock("dead"); wi == nil || wi.InstanceID != "a2" {
		t.Fatalf("locked %+v, want a2", wi)
	}
	start("a3")
	if wi := lock("live"); wi == nil || wi.InstanceID != "a3" {
		t.Fatalf("locked %+v, want a3", wi)
	}
	if wi, task := lock("new"), lockTask("new"); wi != nil || task != nil {
		t.Fatalf("before the release: %+v, %+v; want nothing to lock", wi, task)
	}

	n, err := s.ReleaseLocks(ctx, hub, func(owner string) bool { return owner == "dead" })
	if err != nil || n != 2 {
		t.Fatalf("ReleaseLocks = %d, %v; want 2 locks released", n, err)
	}
	if wi := lock("new"); wi == nil || wi.InstanceID != "a2" {
		t.Fatalf("after the release: locked %+v, want a2", wi)
	}
	if task := lockTask("new"); task == nil || task.InstanceID != "a1" {
		t.Fatalf("after the release: locked task %+v, want a1's", task)
	}
	if wi := lock("new"); wi != nil {
		t.Fatalf("after the release: locked %s, which the live owner holds", wi.InstanceID)
	}
}
