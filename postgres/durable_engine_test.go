package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/durable"
)

// chainExecutor runs the orchestrator "Chain" (calls "Inc" chainLength
// times in sequence, each with the previous result, and returns the last)
// for one engine, recording into a tally shared by every engine of the
// test.
type chainExecutor struct {
	name  string
	tally *tally
}

const chainLength = 5

// tally counts the work each engine did and catches two engines running
// episodes of one instance at the same time.
type tally struct {
	mu       sync.Mutex
	running  map[string]string // instance -> the engine running an episode of it
	episodes map[string]int    // engine -> episodes run
	acts     map[string]int    // engine -> activities run
	overlaps []string
}

func newTally() *tally {
	return &tally{running: map[string]string{}, episodes: map[string]int{}, acts: map[string]int{}}
}

func (x *chainExecutor) Orchestrate(ctx context.Context, name string, payload []byte) ([]byte, error) {
	var p durable.OrchestrationPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	x.tally.mu.Lock()
	if other, ok := x.tally.running[p.InstanceID]; ok {
		x.tally.overlaps = append(x.tally.overlaps, fmt.Sprintf("%s ran an episode of %s while %s ran one", x.name, p.InstanceID, other))
	}
	x.tally.running[p.InstanceID] = x.name
	x.tally.episodes[x.name]++
	x.tally.mu.Unlock()
	// Hold the episode a little, so that an overlap would show.
	time.Sleep(time.Millisecond)
	defer func() {
		x.tally.mu.Lock()
		delete(x.tally.running, p.InstanceID)
		x.tally.mu.Unlock()
	}()

	var done []string
	for _, ev := range p.History {
		if ev.EventType == durable.TaskCompleted {
			done = append(done, *ev.Result)
		}
	}
	var actions []durable.Action
	in := string(p.Input)
	for i := 0; i <= len(done) && i < chainLength; i++ {
		actions = append(actions, durable.Action{ActionType: durable.CallActivity, FunctionName: "Inc", Input: json.RawMessage(in)})
		if i < len(done) {
			in = done[i]
		}
	}
	st := durable.OrchestratorState{Actions: [][]durable.Action{actions}, SchemaVersion: json.RawMessage("2")}
	if len(done) == chainLength {
		st.IsDone, st.Output = true, json.RawMessage(done[chainLength-1])
	}
	return json.Marshal(st)
}

func (x *chainExecutor) Activity(ctx context.Context, name, instanceID, input string) (string, error) {
	x.tally.mu.Lock()
	x.tally.acts[x.name]++
	x.tally.mu.Unlock()
	n, err := strconv.Atoi(input)
	if err != nil {
		return "", &durable.FunctionError{Message: fmt.Sprintf("Inc: %q is not a number", input)}
	}
	return strconv.Itoa(n + 1), nil
}

func (x *chainExecutor) Entity(ctx context.Context, name string, batch []byte) ([]byte, error) {
	return nil, fmt.Errorf("no entities")
}

// startChainEngine starts an engine named owner on store, stopped when the
// test ends.
func startChainEngine(t testing.TB, store *Store, owner string, tl *tally) *durable.Engine {
	t.Helper()
	e := durable.New(store, durable.Options{Hub: "chains", Owner: owner, Lease: 30 * time.Second})
	e.SetFunctions(durable.Functions{Orchestrators: []string{"Chain"}, Activities: []string{"Inc"}}, &chainExecutor{name: owner, tally: tl})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return e
}

// Two stores with their own pools, as two processes have, run an engine
// each on one task hub: 100 chains all complete once, no instance has
// episodes in both engines at once, and both engines work.
func TestDurableTwoEngines(t *testing.T) {
	const total = 100
	schema := newSchema(t)
	s1, s2 := openIn(t, schema, clock.Real{}), openIn(t, schema, clock.Real{})
	waitListening(t, s1)
	waitListening(t, s2)
	tl := newTally()
	e1 := startChainEngine(t, s1, "p1", tl)
	startChainEngine(t, s2, "p2", tl)
	c := e1.Client("")
	ctx := t.Context()
	began := time.Now()
	for i := range total {
		if _, err := c.StartNew(ctx, "Chain", durable.StartOptions{InstanceID: "chain-" + strconv.Itoa(i), Input: strconv.Itoa(i * 10)}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		page, _, err := c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d orchestrations completed after 2 minutes", len(page), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d chains of %d activities in %v", total, chainLength, time.Since(began).Round(time.Millisecond))
	for i := range total {
		id := "chain-" + strconv.Itoa(i)
		inst, err := c.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(i*10 + chainLength); inst.Output != want {
			t.Errorf("%s: output %s, want %s", id, inst.Output, want)
		}
		h, err := c.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		results := map[int]int{}
		for _, ev := range h {
			if ev.EventType == durable.TaskCompleted {
				results[ev.TaskScheduledID]++
			}
		}
		if len(results) != chainLength {
			t.Errorf("%s: results of %d tasks, want %d", id, len(results), chainLength)
		}
		for task, n := range results {
			if n != 1 {
				t.Errorf("%s: task %d's result recorded %d times", id, task, n)
			}
		}
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for _, o := range tl.overlaps {
		t.Error(o)
	}
	t.Logf("episodes per engine %v, activities per engine %v", tl.episodes, tl.acts)
	for _, p := range []string{"p1", "p2"} {
		if tl.episodes[p] == 0 || tl.acts[p] == 0 {
			t.Errorf("engine %s ran %d episodes and %d activities; want both engines to work", p, tl.episodes[p], tl.acts[p])
		}
	}
	if n := tl.acts["p1"] + tl.acts["p2"]; n != total*chainLength {
		t.Errorf("%d activities ran, want %d", n, total*chainLength)
	}
}

// A start, a message and an activity's result written by one store wake
// the watches of a task hub in another store (another process).
func TestDurableWatchAcrossStores(t *testing.T) {
	schema := newSchema(t)
	a, b := openIn(t, schema, clock.Real{}), openIn(t, schema, clock.Real{})
	waitListening(t, b)
	ctx := t.Context()
	if err := a.CreateTaskHub(ctx, "hub"); err != nil {
		t.Fatal(err)
	}
	ch, stop := b.Watch("hub")
	defer stop()
	other, stopOther := b.Watch("other")
	defer stopOther()
	drain(ch)
	drain(other)

	inst := durable.Instance{ID: "i", ExecutionID: "e", Name: "O", Status: durable.Pending}
	start := durable.Message{InstanceID: "i", Event: durable.Event{EventType: durable.ExecutionStarted, EventID: -1, Name: "O"}}
	if err := a.CreateInstance(ctx, "hub", inst, start, durable.OverwriteNonRunning); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch, "CreateInstance in another store")

	wi, err := b.LockNextOrchestration(ctx, "hub", "b", time.Minute)
	if err != nil || wi == nil {
		t.Fatalf("LockNextOrchestration = %v, %v", wi, err)
	}
	drain(ch)
	err = b.CompleteOrchestration(ctx, "hub", wi, durable.OrchestrationUpdate{
		Consumed: []int64{wi.Messages[0].ID},
		Tasks:    []durable.ActivityTask{{InstanceID: "i", ExecutionID: "e", Name: "A", TaskID: 0, Input: "1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	at, err := a.LockNextActivity(ctx, "hub", "a", time.Minute)
	if err != nil || at == nil {
		t.Fatalf("LockNextActivity = %v, %v", at, err)
	}
	drain(ch)
	res := durable.Message{InstanceID: "i", ExecutionID: "e", Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1, TaskScheduledID: 0}}
	if err := a.CompleteActivity(ctx, "hub", at, res); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch, "CompleteActivity in another store")

	drain(ch)
	if err := a.SendMessages(ctx, "hub", durable.Message{InstanceID: "i", Event: durable.Event{EventType: durable.EventRaised, EventID: -1, Name: "x"}}); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch, "SendMessages in another store")
	select {
	case <-other:
		t.Error("a watch of another hub was woken")
	default:
	}
}

// Two processes starting one new instance id at once: one start wins, the
// other is refused, and the instance gets one start message.
func TestDurableConcurrentStartsOfOneID(t *testing.T) {
	schema := newSchema(t)
	stores := []*Store{openIn(t, schema, clock.Real{}), openIn(t, schema, clock.Real{})}
	ctx := t.Context()
	for round := range 20 {
		id := "same-" + strconv.Itoa(round)
		errs := make(chan error, 2*len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			for range 2 {
				wg.Go(func() {
					inst := durable.Instance{ID: id, ExecutionID: fmt.Sprintf("e%d", i), Name: "O", Status: durable.Pending}
					start := durable.Message{InstanceID: id, Event: durable.Event{EventType: durable.ExecutionStarted, EventID: -1, Name: "O"}}
					errs <- s.CreateInstance(ctx, "hub", inst, start, durable.OverwriteNonRunning)
				})
			}
		}
		wg.Wait()
		close(errs)
		won := 0
		for err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, durable.ErrInstanceExists):
				t.Fatalf("CreateInstance: %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%s: %d starts succeeded, want 1", id, won)
		}
		var n int
		if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM funcd_durable_messages WHERE hub = 'hub' AND instance = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s has %d start messages, want 1", id, n)
		}
	}
}

// A lock held by one store (process) is taken by another only after it
// expired; the first owner then loses it, and an expired lock nobody took
// still lets its owner commit. Activity tasks alike.
func TestDurableLockTakeoverAcrossStores(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	a, b := openIn(t, schema, clk), openIn(t, schema, clk)
	ctx := t.Context()
	start := func(id string) {
		inst := durable.Instance{ID: id, ExecutionID: "e-" + id, Name: "O", Status: durable.Pending}
		msg := durable.Message{InstanceID: id, Event: durable.Event{EventType: durable.ExecutionStarted, EventID: -1, Name: "O"}}
		if err := a.CreateInstance(ctx, "hub", inst, msg, durable.OverwriteNonRunning); err != nil {
			t.Fatal(err)
		}
	}
	start("i")
	wa, err := a.LockNextOrchestration(ctx, "hub", "a", time.Minute)
	if err != nil || wa == nil {
		t.Fatalf("a: LockNextOrchestration = %v, %v", wa, err)
	}
	if wb, err := b.LockNextOrchestration(ctx, "hub", "b", time.Minute); err != nil || wb != nil {
		t.Fatalf("b locked %v (%v) while a's lock runs", wb, err)
	}
	clk.Advance(time.Minute)
	wb, err := b.LockNextOrchestration(ctx, "hub", "b", time.Minute)
	if err != nil || wb == nil || wb.InstanceID != "i" {
		t.Fatalf("b: LockNextOrchestration after a's lock expired = %v, %v", wb, err)
	}
	u := durable.OrchestrationUpdate{Consumed: []int64{wa.Messages[0].ID},
		Tasks: []durable.ActivityTask{{InstanceID: "i", ExecutionID: "e-i", Name: "A", Input: "1"}}}
	if err := a.RenewOrchestrationLock(ctx, "hub", wa, time.Minute); !errors.Is(err, durable.ErrLockLost) {
		t.Errorf("a: Renew after the takeover: %v, want ErrLockLost", err)
	}
	if err := a.CompleteOrchestration(ctx, "hub", wa, u); !errors.Is(err, durable.ErrLockLost) {
		t.Errorf("a: Complete after the takeover: %v, want ErrLockLost", err)
	}
	if n := countRows(t, a, "funcd_durable_tasks"); n != 0 {
		t.Errorf("the lost episode scheduled %d tasks", n)
	}
	if err := b.CompleteOrchestration(ctx, "hub", wb, u); err != nil {
		t.Fatalf("b: Complete: %v", err)
	}

	// An expired lock that nobody took: its owner still commits.
	start("j")
	wj, err := a.LockNextOrchestration(ctx, "hub", "a", time.Minute)
	if err != nil || wj == nil || wj.InstanceID != "j" {
		t.Fatalf("a: LockNextOrchestration = %v, %v", wj, err)
	}
	clk.Advance(2 * time.Minute)
	if err := a.CompleteOrchestration(ctx, "hub", wj, durable.OrchestrationUpdate{Consumed: []int64{wj.Messages[0].ID}}); err != nil {
		t.Errorf("a: Complete of an expired lock nobody took: %v", err)
	}

	// The task: taken over after its lock expired; the first owner's
	// result is refused, the second's delivered once.
	ta, err := a.LockNextActivity(ctx, "hub", "a", time.Minute)
	if err != nil || ta == nil {
		t.Fatalf("a: LockNextActivity = %v, %v", ta, err)
	}
	if tb, err := b.LockNextActivity(ctx, "hub", "b", time.Minute); err != nil || tb != nil {
		t.Fatalf("b locked task %v (%v) while a's lock runs", tb, err)
	}
	clk.Advance(time.Minute)
	tb, err := b.LockNextActivity(ctx, "hub", "b", time.Minute)
	if err != nil || tb == nil || tb.ID != ta.ID || tb.Attempts != 2 {
		t.Fatalf("b: LockNextActivity after a's lock expired = %+v, %v; want task %d, attempt 2", tb, err, ta.ID)
	}
	res := durable.Message{InstanceID: "i", ExecutionID: "e-i", Event: durable.Event{EventType: durable.TaskCompleted, EventID: -1}}
	if err := a.CompleteActivity(ctx, "hub", ta, res); !errors.Is(err, durable.ErrLockLost) {
		t.Errorf("a: CompleteActivity after the takeover: %v, want ErrLockLost", err)
	}
	if err := b.CompleteActivity(ctx, "hub", tb, res); err != nil {
		t.Fatalf("b: CompleteActivity: %v", err)
	}
	wi, err := a.LockNextOrchestration(ctx, "hub", "a", time.Minute)
	if err != nil || wi == nil || len(wi.Messages) != 1 || wi.Messages[0].Event.EventType != durable.TaskCompleted {
		t.Fatalf("the result's work item = %+v, %v; want one TaskCompleted", wi, err)
	}
}

// countRows counts a table's rows.
func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
