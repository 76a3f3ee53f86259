package durabletest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/durable"
)

func createGetInstance(e *env) {
	t := e.t
	inst := e.instance("order-1")
	inst.ParentID = "parent"
	inst.State = []byte{0, 1, 2}
	start := e.create(inst)

	want := inst
	want.CreatedAt, want.LastUpdatedAt = e.now(), e.now()
	e.sameInstance("GetInstance after CreateInstance", e.get("order-1"), want)
	if h := e.history("order-1"); len(h) != 0 {
		t.Errorf("a new instance's history has %d events, want none", len(h))
	}
	_, err := e.b.GetInstance(e.ctx, e.hub, "missing")
	e.wantErr(err, durable.ErrNotFound, "GetInstance of a missing instance")
	_, err = e.b.GetHistory(e.ctx, e.hub, "missing")
	e.wantErr(err, durable.ErrNotFound, "GetHistory of a missing instance")

	wi := e.lockID("w", "order-1")
	e.sameInstance("the work item's instance", wi.Instance, want)
	if len(wi.History) != 0 {
		t.Errorf("the work item's history has %d events, want none", len(wi.History))
	}
	if len(wi.Messages) != 1 || wi.Messages[0].ID == 0 || wi.Messages[0].InstanceID != "order-1" {
		t.Fatalf("the work item's messages are %+v, want the start message with an ID", wi.Messages)
	}
	if got := wi.Messages[0].Event; !sameEvent(got, start.Event) {
		t.Errorf("the start message's event is %+v, want %+v", got, start.Event)
	}
	if wi.LockToken == "" || !wi.LockedUntil.Equal(e.now().Add(lease)) {
		t.Errorf("the work item's lock is %q until %v, want a token until %v", wi.LockToken, wi.LockedUntil, e.now().Add(lease))
	}
}

func reusePolicy(e *env) {
	t := e.t
	for i, status := range []durable.Status{durable.Running, durable.Pending, durable.Suspended, durable.ContinuedAsNew} {
		inst := e.instance(fmt.Sprintf("running-%d", i))
		e.create(inst)
		e.finish(inst, status)
		before := e.get(inst.ID)
		again := inst
		again.ExecutionID = "second"
		err := e.b.CreateInstance(e.ctx, e.hub, again, e.started(again), durable.OverwriteNonRunning)
		e.wantErr(err, durable.ErrInstanceExists, "CreateInstance over a %v instance with OverwriteNonRunning", status)
		e.sameInstance("the refused instance", e.get(inst.ID), *before)
		if h := e.history(inst.ID); len(h) != 3 {
			t.Errorf("the refused instance's history has %d events, want 3", len(h))
		}
	}
	e.noWork("after refused starts")

	terminal := []durable.Status{durable.Completed, durable.Failed, durable.Terminated, durable.Canceled}
	for i, status := range terminal {
		inst := e.instance(fmt.Sprintf("done-%d", i))
		e.create(inst)
		e.finish(inst, status)
	}
	e.clk.Advance(time.Second)
	for i, status := range terminal {
		inst := e.instance(fmt.Sprintf("done-%d", i))
		again := inst
		again.ExecutionID = "second"
		again.Input = `"again"`
		start := e.started(again)
		e.must(e.b.CreateInstance(e.ctx, e.hub, again, start, durable.OverwriteNonRunning),
			"CreateInstance over a %v instance", status)
		want := again
		want.CreatedAt, want.LastUpdatedAt = e.now(), e.now()
		e.sameInstance("the replaced instance", e.get(inst.ID), want)
		if h := e.history(inst.ID); len(h) != 0 {
			t.Errorf("the replaced %v instance's history has %d events, want none", status, len(h))
		}
	}
	// The replaced instances' old messages and tasks are gone: only their
	// new starts are due, even once their old timers would have been.
	e.clk.Advance(2 * time.Hour)
	for {
		wi := e.lock("w")
		if wi == nil {
			break
		}
		if strings.HasPrefix(wi.InstanceID, "done-") && (len(wi.Messages) != 1 ||
			wi.Messages[0].Event.EventType != durable.ExecutionStarted || *wi.Messages[0].Event.Input != `"again"`) {
			t.Errorf("the replaced instance %s's messages are %v, want its new start only", wi.InstanceID, names(wi.Messages))
		}
		e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{Consumed: ids(wi.Messages)}), "CompleteOrchestration")
	}
	for {
		at, err := e.b.LockNextActivity(e.ctx, e.hub, "w", lease)
		e.must(err, "LockNextActivity")
		if at == nil {
			break
		}
		if strings.HasPrefix(at.InstanceID, "done-") {
			t.Errorf("the replaced instance %s's task %s is still there", at.InstanceID, at.Name)
		}
	}

	// OverwriteAny replaces a running instance.
	again := e.instance("running-0")
	again.ExecutionID = "forced"
	e.must(e.b.CreateInstance(e.ctx, e.hub, again, e.started(again), durable.OverwriteAny), "CreateInstance with OverwriteAny")
	if got := e.get("running-0"); got.ExecutionID != "forced" || got.Status != durable.Pending {
		t.Errorf("after OverwriteAny the instance is %+v, want execution forced, Pending", got)
	}
	if h := e.history("running-0"); len(h) != 0 {
		t.Errorf("after OverwriteAny the history has %d events, want none", len(h))
	}
	// A new id with OverwriteAny is an ordinary start.
	fresh := e.instance("fresh")
	e.must(e.b.CreateInstance(e.ctx, e.hub, fresh, e.started(fresh), durable.OverwriteAny), "CreateInstance(fresh)")
	e.get("fresh")
}

func hubsIsolated(e *env) {
	t := e.t
	const other = "otherhub"
	e.must(e.b.CreateTaskHub(e.ctx, other), "CreateTaskHub")
	e.must(e.b.CreateTaskHub(e.ctx, other), "CreateTaskHub again")
	a := e.instance("same")
	e.create(a)
	b := a
	b.Input = `"other hub"`
	e.must(e.b.CreateInstance(e.ctx, other, b, e.started(b), durable.OverwriteNonRunning), "CreateInstance in %s", other)

	if got := e.get("same"); got.Input != a.Input {
		t.Errorf("instance in %s has input %s, want %s", e.hub, got.Input, a.Input)
	}
	got, err := e.b.GetInstance(e.ctx, other, "same")
	e.must(err, "GetInstance in %s", other)
	if got.Input != b.Input {
		t.Errorf("instance in %s has input %s, want %s", other, got.Input, b.Input)
	}

	wi := e.lockID("w", "same")
	e.must(e.b.CompleteOrchestration(e.ctx, e.hub, wi, durable.OrchestrationUpdate{
		Instance:  &a,
		NewEvents: e.episode(a),
		Consumed:  ids(wi.Messages),
		Tasks:     []durable.ActivityTask{task(a, "OnlyHere", 0)},
	}), "CompleteOrchestration")
	e.noWork("after the only instance of the hub ran")
	if h, _ := e.b.GetHistory(e.ctx, other, "same"); len(h) != 0 {
		t.Errorf("the other hub's instance has %d history events, want none", len(h))
	}
	at, err := e.b.LockNextActivity(e.ctx, other, "w", lease)
	e.must(err, "LockNextActivity in %s", other)
	if at != nil {
		t.Errorf("LockNextActivity in %s took %s's task %s", other, e.hub, at.Name)
	}
	// The other hub's instance is still there to lock.
	wi2, err := e.b.LockNextOrchestration(e.ctx, other, "w", lease)
	e.must(err, "LockNextOrchestration in %s", other)
	if wi2 == nil || wi2.Instance == nil || wi2.Instance.Input != b.Input {
		t.Fatalf("LockNextOrchestration in %s = %+v, want its instance", other, wi2)
	}
	page, _, err := e.b.ListInstances(e.ctx, other, durable.InstanceQuery{})
	e.must(err, "ListInstances")
	if len(page) != 1 {
		t.Errorf("ListInstances in %s lists %d instances, want 1", other, len(page))
	}

	e.must(e.b.DeleteTaskHub(e.ctx, other), "DeleteTaskHub")
	_, err = e.b.GetInstance(e.ctx, other, "same")
	e.wantErr(err, durable.ErrNotFound, "GetInstance in a deleted hub")
	wi2, err = e.b.LockNextOrchestration(e.ctx, other, "w2", lease)
	e.must(err, "LockNextOrchestration in a deleted hub")
	if wi2 != nil {
		t.Errorf("a deleted hub still has work for %s", wi2.InstanceID)
	}
	// The first hub is untouched.
	e.get("same")
	e.lockActivity("w")
}

// listed are the ids of a page.
func listed(page []*durable.Instance) []string {
	out := make([]string, len(page))
	for i, inst := range page {
		out[i] = inst.ID
	}
	return out
}

// listAll reads every page of q.
func (e *env) listAll(q durable.InstanceQuery) []string {
	e.t.Helper()
	var out []string
	for range 1000 {
		page, next, err := e.b.ListInstances(e.ctx, e.hub, q)
		e.must(err, "ListInstances(%+v)", q)
		out = append(out, listed(page)...)
		if next == "" {
			return out
		}
		q.Continuation = next
	}
	e.t.Fatalf("ListInstances(%+v) never reached its last page", q)
	return nil
}

func listInstances(e *env) {
	t := e.t
	t0 := e.now()
	// One instance a minute: a, b, c orchestrations, then two entities,
	// then d; b completes and c fails an hour after t0.
	for _, id := range []string{"a", "b", "c", "@counter@1", "@counter@2", "@other@1", "d"} {
		e.create(e.instance(id))
		e.clk.Advance(time.Minute)
	}
	e.clk.Advance(time.Hour)
	e.finish(e.instance("a"), durable.Running)
	e.finish(e.instance("b"), durable.Completed)
	e.finish(e.instance("c"), durable.Failed)
	// The entities are locked next; leave them and d be.

	for _, c := range []struct {
		what string
		q    durable.InstanceQuery
		want []string
	}{
		{"everything (orchestrations)", durable.InstanceQuery{}, []string{"a", "b", "c", "d"}},
		{"entities", durable.InstanceQuery{Entities: true}, []string{"@counter@1", "@counter@2", "@other@1"}},
		{"one entity name", durable.InstanceQuery{Entities: true, IDPrefix: "@counter@"}, []string{"@counter@1", "@counter@2"}},
		{"created from", durable.InstanceQuery{CreatedFrom: t0.Add(time.Minute)}, []string{"b", "c", "d"}},
		{"created to", durable.InstanceQuery{CreatedTo: t0.Add(2 * time.Minute)}, []string{"a", "b", "c"}},
		{"created range", durable.InstanceQuery{CreatedFrom: t0.Add(time.Minute), CreatedTo: t0.Add(time.Minute)}, []string{"b"}},
		{"updated from", durable.InstanceQuery{LastUpdatedFrom: t0.Add(time.Hour)}, []string{"a", "b", "c"}},
		{"updated to", durable.InstanceQuery{LastUpdatedTo: t0.Add(time.Hour)}, []string{"d"}},
		{"statuses", durable.InstanceQuery{Statuses: []durable.Status{durable.Completed, durable.Failed}}, []string{"b", "c"}},
		{"pending", durable.InstanceQuery{Statuses: []durable.Status{durable.Pending}}, []string{"d"}},
		{"pending entities", durable.InstanceQuery{Entities: true, Statuses: []durable.Status{durable.Pending}}, []string{"@counter@1", "@counter@2", "@other@1"}},
		{"prefix", durable.InstanceQuery{IDPrefix: "b"}, []string{"b"}},
		{"no match", durable.InstanceQuery{IDPrefix: "zz"}, nil},
		{"combined", durable.InstanceQuery{CreatedFrom: t0.Add(time.Minute), Statuses: []durable.Status{durable.Running, durable.Completed}}, []string{"b"}},
	} {
		if got := e.listAll(c.q); !slices.Equal(got, c.want) {
			t.Errorf("ListInstances %s = %v, want %v", c.what, got, c.want)
		}
	}

	// A listing carries the whole row.
	page, _, err := e.b.ListInstances(e.ctx, e.hub, durable.InstanceQuery{IDPrefix: "d"})
	e.must(err, "ListInstances")
	if len(page) != 1 {
		t.Fatalf("ListInstances(d) = %v, want d", listed(page))
	}
	want := e.instance("d")
	want.CreatedAt, want.LastUpdatedAt = t0.Add(6*time.Minute), t0.Add(6*time.Minute)
	e.sameInstance("listed d", page[0], want)
}

func listInstancesPages(e *env) {
	t := e.t
	var all []string
	for i := range 7 {
		id := fmt.Sprintf("i%02d", i)
		all = append(all, id)
		e.create(e.instance(id))
		// Two instances share each creation time, so that pages break
		// between equal times.
		if i%2 == 1 {
			e.clk.Advance(time.Second)
		}
	}
	q := durable.InstanceQuery{PageSize: 2}
	var got []string
	pages := 0
	for {
		page, next, err := e.b.ListInstances(e.ctx, e.hub, q)
		e.must(err, "ListInstances page %d", pages)
		pages++
		if len(page) > 2 {
			t.Fatalf("page %d has %d instances, want at most 2", pages, len(page))
		}
		got = append(got, listed(page)...)
		if pages == 2 {
			// Instances created while a listing is paged come after it
			// (they are newer) and do not shift the pages already read.
			e.clk.Advance(time.Second)
			e.create(e.instance("late"))
			all = append(all, "late")
		}
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatal("the listing never ends")
		}
		q.Continuation = next
	}
	if !slices.Equal(got, all) {
		t.Errorf("paged listing = %v, want %v", got, all)
	}
	if pages != 4 {
		t.Errorf("listing 8 instances 2 a page took %d pages, want 4", pages)
	}
	// The default page size is 100.
	for i := range 100 {
		e.create(e.instance(fmt.Sprintf("bulk%03d", i)))
	}
	page, next, err := e.b.ListInstances(e.ctx, e.hub, durable.InstanceQuery{})
	e.must(err, "ListInstances")
	if len(page) != 100 || next == "" {
		t.Errorf("default page: %d instances, next %q; want 100 and a token", len(page), next)
	}
	page, next, err = e.b.ListInstances(e.ctx, e.hub, durable.InstanceQuery{Continuation: next})
	e.must(err, "ListInstances")
	if len(page) != 8 || next != "" {
		t.Errorf("second default page: %d instances, next %q; want 8 and none", len(page), next)
	}
	// A token the backend did not issue is bad input.
	for _, tok := range []string{"garbage!!", "Zm9v"} {
		if _, _, err := e.b.ListInstances(e.ctx, e.hub, durable.InstanceQuery{Continuation: tok}); funcd.ErrorCode(err) != funcd.EINVALID {
			t.Errorf("ListInstances with the continuation token %q: %v, want an EINVALID error", tok, err)
		}
	}
}

func purgeInstances(e *env) {
	t := e.t
	var done []string
	for i := range 5 {
		inst := e.instance(fmt.Sprintf("p%d", i))
		e.create(inst)
		status := durable.Running
		if i%2 == 0 {
			status = durable.Completed
			done = append(done, inst.ID)
		}
		e.finish(inst, status)
	}
	n, err := e.b.PurgeInstances(e.ctx, e.hub, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 1})
	e.must(err, "PurgeInstances")
	if n != len(done) {
		t.Errorf("PurgeInstances deleted %d instances, want %d", n, len(done))
	}
	for _, id := range done {
		_, err := e.b.GetInstance(e.ctx, e.hub, id)
		e.wantErr(err, durable.ErrNotFound, "GetInstance of purged %s", id)
		_, err = e.b.GetHistory(e.ctx, e.hub, id)
		e.wantErr(err, durable.ErrNotFound, "GetHistory of purged %s", id)
	}
	if got := e.listAll(durable.InstanceQuery{}); !slices.Equal(got, []string{"p1", "p3"}) {
		t.Errorf("after the purge the hub lists %v, want p1 p3", got)
	}
	// The purged instances' timers and tasks are gone too; the others'
	// remain.
	e.clk.Advance(2 * time.Hour)
	seen := map[string]bool{}
	for range 2 {
		wi := e.lock("w")
		if wi == nil {
			t.Fatal("the kept instances' timers are gone")
		}
		seen[wi.InstanceID] = true
	}
	e.noWork("after the purge")
	if !seen["p1"] || !seen["p3"] {
		t.Errorf("timers fired for %v, want p1 and p3", seen)
	}
	for range 2 {
		at := e.lockActivity("w")
		if at.InstanceID != "p1" && at.InstanceID != "p3" {
			t.Errorf("purged %s's task %s is still there", at.InstanceID, at.Name)
		}
	}
	e.noActivity("after the purge")

	n, err = e.b.PurgeInstances(e.ctx, e.hub, durable.InstanceQuery{IDPrefix: "nothing"})
	e.must(err, "PurgeInstances")
	if n != 0 {
		t.Errorf("PurgeInstances of nothing deleted %d", n)
	}
}

func purgeInstance(e *env) {
	inst := e.instance("one")
	e.create(inst)
	e.finish(inst, durable.Running)
	e.create(e.instance("two"))
	e.must(e.b.PurgeInstance(e.ctx, e.hub, "one"), "PurgeInstance")
	_, err := e.b.GetInstance(e.ctx, e.hub, "one")
	e.wantErr(err, durable.ErrNotFound, "GetInstance after PurgeInstance")
	e.wantErr(e.b.PurgeInstance(e.ctx, e.hub, "one"), durable.ErrNotFound, "PurgeInstance again")
	e.wantErr(e.b.PurgeInstance(e.ctx, e.hub, "never"), durable.ErrNotFound, "PurgeInstance of a missing instance")
	e.clk.Advance(2 * time.Hour)
	e.lockID("w", "two")
	e.noWork("after PurgeInstance")
	e.noActivity("after PurgeInstance")
}
