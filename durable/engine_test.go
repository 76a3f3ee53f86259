package durable_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/sqlite"
)

// orchestrator is a scripted orchestrator for the engine's tests: it gets
// the payload and returns its state, as an SDK would.
type orchestrator func(p *durable.OrchestrationPayload) durable.OrchestratorState

// executor runs scripted functions in-process.
type executor struct {
	mu       sync.Mutex
	orch     map[string]orchestrator
	act      map[string]func(input string) (string, error)
	ent      map[string]func(batch []byte) ([]byte, error)
	episodes int
}

func (x *executor) Orchestrate(ctx context.Context, name string, payload []byte) ([]byte, error) {
	var p durable.OrchestrationPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	x.mu.Lock()
	x.episodes++
	fn := x.orch[name]
	x.mu.Unlock()
	st := fn(&p)
	return json.Marshal(st)
}

func (x *executor) Activity(ctx context.Context, name, instanceID, input string) (string, error) {
	out, err := x.act[name](input)
	if err != nil {
		return "", &durable.FunctionError{Message: err.Error()}
	}
	return out, nil
}

func (x *executor) Entity(ctx context.Context, name string, batch []byte) ([]byte, error) {
	return x.ent[name](batch)
}

func (x *executor) functions() durable.Functions {
	var f durable.Functions
	for n := range x.orch {
		f.Orchestrators = append(f.Orchestrators, n)
	}
	for n := range x.act {
		f.Activities = append(f.Activities, n)
	}
	for n := range x.ent {
		f.Entities = append(f.Entities, n)
	}
	return f
}

// results returns the results of the payload's completed tasks, in the
// order they completed, and the raised events' inputs by name.
func results(p *durable.OrchestrationPayload) (done []string, failed []string, events map[string][]string, fired int) {
	events = map[string][]string{}
	for _, ev := range p.History {
		switch ev.EventType {
		case durable.TaskCompleted, durable.SubOrchestrationInstanceCompleted:
			done = append(done, *ev.Result)
		case durable.TaskFailed, durable.SubOrchestrationInstanceFailed:
			failed = append(failed, ev.Reason)
		case durable.EventRaised:
			in := "null"
			if ev.Input != nil {
				in = *ev.Input
			}
			events[ev.Name] = append(events[ev.Name], in)
		case durable.TimerFired:
			fired++
		}
	}
	return done, failed, events, fired
}

func activity(name, input string) durable.Action {
	return durable.Action{ActionType: durable.CallActivity, FunctionName: name, Input: json.RawMessage(input)}
}

// chain calls Inc n times in sequence, each with the previous result.
func chain(n int) orchestrator {
	return func(p *durable.OrchestrationPayload) durable.OrchestratorState {
		done, _, _, _ := results(p)
		var actions []durable.Action
		in := string(p.Input)
		for i := 0; i <= len(done) && i < n; i++ {
			actions = append(actions, activity("Inc", in))
			if i < len(done) {
				in = done[i]
			}
		}
		st := durable.OrchestratorState{Actions: [][]durable.Action{actions}, SchemaVersion: json.RawMessage("2")}
		if len(done) == n {
			st.IsDone, st.Output = true, json.RawMessage(done[n-1])
		}
		return st
	}
}

func inc(input string) (string, error) {
	var n int
	if err := json.Unmarshal([]byte(input), &n); err != nil {
		return "", fmt.Errorf("Inc: %q is not a number", input)
	}
	return fmt.Sprint(n + 1), nil
}

type testEngine struct {
	t     testing.TB
	e     *durable.Engine
	c     *durable.Client
	x     *executor
	clock clock.Clock
	store *sqlite.Store
}

func newEngine(t testing.TB, clk clock.Clock, x *executor) *testEngine {
	t.Helper()
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return startEngine(t, store, clk, x, "owner-1")
}

func startEngine(t testing.TB, store *sqlite.Store, clk clock.Clock, x *executor, owner string) *testEngine {
	t.Helper()
	e := durable.New(store, durable.Options{Owner: owner, Clock: clk, Lease: 30 * time.Second})
	e.SetFunctions(x.functions(), x)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return &testEngine{t: t, e: e, c: e.Client(""), x: x, clock: clk, store: store}
}

func (te *testEngine) start(name, input string) string {
	te.t.Helper()
	id, err := te.c.StartNew(context.Background(), name, durable.StartOptions{Input: input})
	if err != nil {
		te.t.Fatal(err)
	}
	return id
}

// wait polls the instance until cond holds.
func (te *testEngine) wait(id string, what string, cond func(*durable.Instance) bool) *durable.Instance {
	te.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		inst, err := te.c.Status(context.Background(), id)
		if err == nil && cond(inst) {
			return inst
		}
		if time.Now().After(deadline) {
			te.t.Fatalf("instance %s: %s did not happen in 10s (last %+v, %v)", id, what, inst, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (te *testEngine) waitStatus(id string, s durable.Status) *durable.Instance {
	te.t.Helper()
	return te.wait(id, "status "+s.String(), func(i *durable.Instance) bool { return i.Status == s })
}

func TestEngineChain(t *testing.T) {
	x := &executor{orch: map[string]orchestrator{"Chain": chain(5)}, act: map[string]func(string) (string, error){"Inc": inc}}
	te := newEngine(t, clock.Real{}, x)
	id := te.start("Chain", "10")
	inst := te.waitStatus(id, durable.Completed)
	if inst.Output != "15" {
		t.Fatalf("output %q, want 15", inst.Output)
	}
	h, err := te.c.History(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var scheduled []int
	for _, ev := range h {
		if ev.EventType == durable.TaskScheduled {
			scheduled = append(scheduled, ev.EventID)
		}
	}
	if fmt.Sprint(scheduled) != "[0 1 2 3 4]" {
		t.Fatalf("TaskScheduled ids %v", scheduled)
	}
	if last := h[len(h)-2]; last.EventType != durable.ExecutionCompleted || last.OrchestrationStatus != durable.Completed {
		t.Fatalf("history ends with %v", h[len(h)-2:])
	}
}

func TestEngineActivityFailureAndUnknownActivity(t *testing.T) {
	x := &executor{
		orch: map[string]orchestrator{
			"Calls": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
				var name string
				_ = json.Unmarshal(p.Input, &name)
				_, failed, _, _ := results(p)
				st := durable.OrchestratorState{Actions: [][]durable.Action{{activity(name, "1")}}}
				if len(failed) > 0 {
					st.IsDone, st.Error = true, failed[0]
				}
				return st
			},
		},
		act: map[string]func(string) (string, error){"Boom": func(string) (string, error) { return "", errors.New("kaboom") }},
	}
	te := newEngine(t, clock.Real{}, x)
	inst := te.waitStatus(te.start("Calls", `"Boom"`), durable.Failed)
	if !strings.Contains(inst.Output, "Activity function 'Boom' failed: kaboom") || !strings.Contains(inst.Output, "Orchestrator function 'Calls' failed") {
		t.Fatalf("output %s", inst.Output)
	}
	inst = te.waitStatus(te.start("Calls", `"Missing"`), durable.Failed)
	if !strings.Contains(inst.Output, "'Missing' doesn't exist") {
		t.Fatalf("output %s", inst.Output)
	}
}

// waiter waits for the event "go" and returns its data.
func waiter(p *durable.OrchestrationPayload) durable.OrchestratorState {
	_, _, events, _ := results(p)
	st := durable.OrchestratorState{Actions: [][]durable.Action{{{ActionType: durable.WaitForExternalEvent, ExternalEventName: "go"}}}}
	if ev := events["go"]; len(ev) > 0 {
		st.IsDone, st.Output = true, json.RawMessage(ev[0])
	}
	return st
}

func TestEngineEventsTerminateSuspend(t *testing.T) {
	x := &executor{orch: map[string]orchestrator{"Wait": waiter}}
	te := newEngine(t, clock.Real{}, x)
	ctx := context.Background()

	id := te.start("Wait", "")
	te.waitStatus(id, durable.Running)
	if err := te.c.RaiseEvent(ctx, id, "go", `{"n":1}`); err != nil {
		t.Fatal(err)
	}
	if inst := te.waitStatus(id, durable.Completed); inst.Output != `{"n":1}` {
		t.Fatalf("output %q", inst.Output)
	}
	if err := te.c.RaiseEvent(ctx, id, "go", "1"); !errors.Is(err, durable.ErrGone) {
		t.Fatalf("raise to a completed instance: %v, want ErrGone", err)
	}
	if err := te.c.RaiseEvent(ctx, "nope", "go", "1"); !errors.Is(err, durable.ErrNotFound) {
		t.Fatalf("raise to a missing instance: %v, want ErrNotFound", err)
	}

	id = te.start("Wait", "")
	te.waitStatus(id, durable.Running)
	if err := te.c.Terminate(ctx, id, "enough"); err != nil {
		t.Fatal(err)
	}
	if inst := te.waitStatus(id, durable.Terminated); inst.Output != `"enough"` {
		t.Fatalf("terminated output %q", inst.Output)
	}

	id = te.start("Wait", "")
	te.waitStatus(id, durable.Running)
	if err := te.c.Suspend(ctx, id, "pause"); err != nil {
		t.Fatal(err)
	}
	te.waitStatus(id, durable.Suspended)
	if err := te.c.RaiseEvent(ctx, id, "go", "2"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if inst, _ := te.c.Status(ctx, id); inst.Status != durable.Suspended {
		t.Fatalf("a suspended instance ran its event: %s", inst.Status)
	}
	if err := te.c.Resume(ctx, id, "go on"); err != nil {
		t.Fatal(err)
	}
	if inst := te.waitStatus(id, durable.Completed); inst.Output != "2" {
		t.Fatalf("output after resume %q", inst.Output)
	}
}

func TestEngineTimerWithFakeClock(t *testing.T) {
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	x := &executor{orch: map[string]orchestrator{"Sleep": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
		_, _, _, fired := results(p)
		started := p.History[0].Timestamp
		st := durable.OrchestratorState{Actions: [][]durable.Action{{{ActionType: durable.CreateTimer, FireAt: started.Add(time.Hour)}}}}
		if fired > 0 {
			st.IsDone, st.Output = true, json.RawMessage(`"woke"`)
		}
		return st
	}}}
	te := newEngine(t, clk, x)
	id := te.start("Sleep", "")
	te.waitStatus(id, durable.Running)
	time.Sleep(50 * time.Millisecond)
	if inst, _ := te.c.Status(context.Background(), id); inst.Status != durable.Running {
		t.Fatalf("status before the timer fired: %s", inst.Status)
	}
	clk.Advance(time.Hour + time.Second)
	if inst := te.waitStatus(id, durable.Completed); inst.Output != `"woke"` {
		t.Fatalf("output %q", inst.Output)
	}
}

func TestEngineContinueAsNew(t *testing.T) {
	x := &executor{orch: map[string]orchestrator{"Count": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
		var n int
		_ = json.Unmarshal(p.Input, &n)
		if n >= 3 {
			return durable.OrchestratorState{IsDone: true, Output: json.RawMessage(fmt.Sprint(n)), Actions: [][]durable.Action{{}}}
		}
		return durable.OrchestratorState{IsDone: true, Actions: [][]durable.Action{{{ActionType: durable.ContinueAsNewAction, Input: json.RawMessage(fmt.Sprint(n + 1))}}}}
	}}}
	te := newEngine(t, clock.Real{}, x)
	if inst := te.waitStatus(te.start("Count", "0"), durable.Completed); inst.Output != "3" || inst.Input != "3" {
		t.Fatalf("instance %+v", inst)
	}
}

func TestEngineNondeterminism(t *testing.T) {
	var calls sync.Map
	x := &executor{
		orch: map[string]orchestrator{"Fickle": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			n, _ := calls.LoadOrStore(p.InstanceID, 0)
			calls.Store(p.InstanceID, n.(int)+1)
			name := "Inc"
			if n.(int) > 0 {
				name = "Other"
			}
			return durable.OrchestratorState{Actions: [][]durable.Action{{activity(name, "1")}}}
		}},
		act: map[string]func(string) (string, error){"Inc": inc, "Other": inc},
	}
	te := newEngine(t, clock.Real{}, x)
	inst := te.waitStatus(te.start("Fickle", ""), durable.Failed)
	if !strings.Contains(inst.Output, "Non-Deterministic workflow detected") || !strings.Contains(inst.Output, "'Inc'") {
		t.Fatalf("output %s", inst.Output)
	}
}

// counter is an entity holding a number: "add" adds its input, "get"
// returns it.
func counter(batch []byte) ([]byte, error) {
	var b struct {
		Exists bool    `json:"exists"`
		State  *string `json:"state"`
		Batch  []struct {
			Name  string  `json:"name"`
			Input *string `json:"input"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(batch, &b); err != nil {
		return nil, err
	}
	n := 0
	if b.State != nil {
		_ = json.Unmarshal([]byte(*b.State), &n)
	}
	type result struct {
		IsError bool   `json:"isError"`
		Result  string `json:"result"`
	}
	var res []result
	for _, op := range b.Batch {
		switch op.Name {
		case "add":
			var d int
			_ = json.Unmarshal([]byte(*op.Input), &d)
			n += d
			res = append(res, result{Result: "null"})
		case "get":
			res = append(res, result{Result: fmt.Sprint(n)})
		default:
			res = append(res, result{IsError: true, Result: `"unknown operation"`})
		}
	}
	state := fmt.Sprint(n)
	return json.Marshal(map[string]any{"entityExists": true, "entityState": state, "results": res, "signals": []any{}})
}

func TestEngineEntity(t *testing.T) {
	x := &executor{
		orch: map[string]orchestrator{"UseCounter": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			_, _, events, _ := results(p)
			actions := []durable.Action{
				{ActionType: durable.SignalEntity, InstanceID: "@counter@k", Operation: "add", Input: json.RawMessage("5")},
				{ActionType: durable.CallEntity, InstanceID: "@counter@k", Operation: "add", Input: json.RawMessage("2")},
			}
			var replies []string
			for name, v := range events {
				if name != "" {
					replies = append(replies, v...)
				}
			}
			st := durable.OrchestratorState{Actions: [][]durable.Action{actions}}
			if len(replies) >= 1 {
				st.Actions[0] = append(st.Actions[0], durable.Action{ActionType: durable.CallEntity, InstanceID: "@counter@k", Operation: "get"})
			}
			if len(replies) >= 2 {
				var last struct{ Result string }
				for _, r := range replies {
					_ = json.Unmarshal([]byte(r), &last)
					if last.Result != "null" {
						break
					}
				}
				st.IsDone, st.Output = true, json.RawMessage(last.Result)
			}
			return st
		}},
		ent: map[string]func([]byte) ([]byte, error){"Counter": counter},
	}
	te := newEngine(t, clock.Real{}, x)
	if inst := te.waitStatus(te.start("UseCounter", ""), durable.Completed); inst.Output != "7" {
		t.Fatalf("output %q", inst.Output)
	}
	st, err := te.c.ReadEntity(context.Background(), durable.EntityID{Name: "Counter", Key: "k"})
	if err != nil || !st.Exists || st.State != "7" {
		t.Fatalf("entity %+v, %v", st, err)
	}
	if err := te.c.SignalEntity(context.Background(), durable.EntityID{Name: "Counter", Key: "k"}, "add", "3", time.Time{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := te.c.ReadEntity(context.Background(), durable.EntityID{Name: "Counter", Key: "k"})
		if st.State == "10" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entity state %q after a signal, want 10", st.State)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineRewindRestartPurge(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	x := &executor{
		orch: map[string]orchestrator{"Calls": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			done, failed, _, _ := results(p)
			st := durable.OrchestratorState{Actions: [][]durable.Action{{activity("FailOnce", "1")}}}
			switch {
			case len(done) > 0:
				st.IsDone, st.Output = true, json.RawMessage(done[0])
			case len(failed) > 0:
				st.IsDone, st.Error = true, failed[0]
			}
			return st
		}},
		act: map[string]func(string) (string, error){"FailOnce": func(string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return "", errors.New("first call fails")
			}
			return `"fine"`, nil
		}},
	}
	te := newEngine(t, clock.Real{}, x)
	ctx := context.Background()
	id := te.start("Calls", "")
	te.waitStatus(id, durable.Failed)
	if err := te.c.Rewind(ctx, "missing", "x"); !errors.Is(err, durable.ErrNotFound) {
		t.Fatalf("rewind of a missing instance: %v", err)
	}
	if err := te.c.Rewind(ctx, id, "try again"); err != nil {
		t.Fatal(err)
	}
	if inst := te.waitStatus(id, durable.Completed); inst.Output != `"fine"` {
		t.Fatalf("output after the rewind %q", inst.Output)
	}
	if err := te.c.Rewind(ctx, id, "again"); !errors.Is(err, durable.ErrNotFailed) {
		t.Fatalf("rewind of a completed instance: %v, want ErrNotFailed", err)
	}
	h, _ := te.c.History(ctx, id)
	rewound := 0
	for _, ev := range h {
		if ev.EventType == durable.GenericEvent && strings.HasPrefix(ev.Data, "Rewound: try again") {
			rewound++
		}
		if ev.EventType == durable.TaskFailed {
			t.Errorf("the rewound history still has a TaskFailed: %+v", ev)
		}
	}
	if rewound == 0 {
		t.Error("no GenericEvent marks the rewound failure")
	}

	next, err := te.c.Restart(ctx, id, true)
	if err != nil || next == id {
		t.Fatalf("Restart = %q, %v", next, err)
	}
	te.waitStatus(next, durable.Completed)
	if err := te.c.Purge(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := te.c.Status(ctx, id); !errors.Is(err, durable.ErrNotFound) {
		t.Fatalf("status after purge: %v", err)
	}
}

// A sub-orchestration of a function the app does not have fails, and its
// parent hears of it, instead of being retried forever.
func TestEngineUnknownSubOrchestratorFails(t *testing.T) {
	x := &executor{orch: map[string]orchestrator{
		"Parent": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			_, failed, _, _ := results(p)
			st := durable.OrchestratorState{Actions: [][]durable.Action{{{ActionType: durable.CallSubOrchestrator, FunctionName: "Nope"}}}}
			if len(failed) > 0 {
				st.IsDone, st.Output = true, json.RawMessage(fmt.Sprintf("%q", failed[0]))
			}
			return st
		},
	}}
	te := newEngine(t, clock.Real{}, x)
	inst := te.waitStatus(te.start("Parent", ""), durable.Completed)
	if !strings.Contains(inst.Output, "The function 'Nope' doesn't exist, is disabled, or is not an orchestrator function.") {
		t.Fatalf("parent's output %s", inst.Output)
	}
}

// An orchestrator whose reply is not an OrchestratorState fails its
// instance with a message that names the function, as any failure does.
func TestEngineGarbageReplyNamesTheFunction(t *testing.T) {
	x := &garbageExecutor{executor: executor{orch: map[string]orchestrator{"Garbage": nil}}}
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	e := durable.New(store, durable.Options{Owner: "o"})
	e.SetFunctions(x.functions(), x)
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop(context.Background()) })
	te := &testEngine{t: t, e: e, c: e.Client(""), x: &x.executor}
	inst := te.waitStatus(te.start("Garbage", ""), durable.Failed)
	want := `"Orchestrator function 'Garbage' failed: the orchestrator function's return value is not an OrchestratorState: `
	if !strings.HasPrefix(inst.Output, want) {
		t.Fatalf("output %s, want it to start with %s", inst.Output, want)
	}
}

// garbageExecutor's orchestrators answer 42.
type garbageExecutor struct{ executor }

func (x *garbageExecutor) Orchestrate(context.Context, string, []byte) ([]byte, error) {
	return []byte("42"), nil
}

// An entity function that returns fewer results than the batch has
// operations fails the batch's calls with a message that says so, and the
// entity keeps its state.
func TestEngineEntityShortResults(t *testing.T) {
	x := &executor{
		orch: map[string]orchestrator{"CallShort": func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			_, _, events, _ := results(p)
			st := durable.OrchestratorState{Actions: [][]durable.Action{{{ActionType: durable.CallEntity, InstanceID: "@short@k", Operation: "get"}}}}
			for name, v := range events {
				if name != "" && len(v) > 0 {
					st.IsDone, st.Output = true, json.RawMessage(v[0])
				}
			}
			return st
		}},
		ent: map[string]func([]byte) ([]byte, error){"Short": func([]byte) ([]byte, error) {
			return []byte(`{"entityExists":true,"entityState":"1","results":[]}`), nil
		}},
	}
	te := newEngine(t, clock.Real{}, x)
	inst := te.waitStatus(te.start("CallShort", ""), durable.Completed)
	var resp struct{ Result, ExceptionType string }
	if err := json.Unmarshal([]byte(inst.Output), &resp); err != nil {
		t.Fatalf("output %s: %v", inst.Output, err)
	}
	if resp.ExceptionType != "Error" || !strings.Contains(resp.Result, "returned 0 results for a batch of 1 operations") {
		t.Fatalf("the call's response %s, want an error that counts the results", inst.Output)
	}
	if st, err := te.c.ReadEntity(context.Background(), durable.EntityID{Name: "Short", Key: "k"}); err != nil || st.Exists {
		t.Fatalf("entity %+v, %v; want no state", st, err)
	}
}

// A sub-orchestration whose instanceId belongs to a running instance fails
// and leaves that instance alone; one that names its parent's own id, or an
// entity's, fails the parent.
func TestEngineSubOrchestrationIDInUse(t *testing.T) {
	subWith := func(id string) orchestrator {
		return func(p *durable.OrchestrationPayload) durable.OrchestratorState {
			done, failed, _, _ := results(p)
			st := durable.OrchestratorState{Actions: [][]durable.Action{{{ActionType: durable.CallSubOrchestrator, FunctionName: "Wait", InstanceID: id}}}}
			if len(failed) > 0 {
				st.IsDone, st.Output = true, json.RawMessage(fmt.Sprintf("%q", failed[0]))
			} else if len(done) > 0 {
				st.IsDone, st.Output = true, json.RawMessage(`"the sub-orchestration completed"`)
			}
			return st
		}
	}
	x := &executor{orch: map[string]orchestrator{"Wait": waiter, "UsesBusy": subWith("busy"), "UsesSelf": subWith("self"), "UsesEntity": subWith("@counter@k")}}
	te := newEngine(t, clock.Real{}, x)
	ctx := context.Background()
	if _, err := te.c.StartNew(ctx, "Wait", durable.StartOptions{InstanceID: "busy", Input: `"mine"`}); err != nil {
		t.Fatal(err)
	}
	te.waitStatus("busy", durable.Running)

	inst := te.waitStatus(te.start("UsesBusy", ""), durable.Completed)
	if !strings.Contains(inst.Output, "An orchestration instance with the id 'busy' already exists and is Running") {
		t.Fatalf("UsesBusy's output %s", inst.Output)
	}
	if busy, err := te.c.Status(ctx, "busy"); err != nil || busy.Status != durable.Running || busy.Input != `"mine"` || busy.ParentID != "" {
		t.Fatalf("busy after UsesBusy: %+v, %v; want it untouched", busy, err)
	}

	if _, err := te.c.StartNew(ctx, "UsesSelf", durable.StartOptions{InstanceID: "self"}); err != nil {
		t.Fatal(err)
	}
	inst = te.waitStatus("self", durable.Failed)
	if inst.Name != "UsesSelf" || !strings.Contains(inst.Output, `gives the sub-orchestration its parent's instance id \"self\"`) {
		t.Fatalf("self: %s %s", inst.Name, inst.Output)
	}
	inst = te.waitStatus(te.start("UsesEntity", ""), durable.Failed)
	if !strings.Contains(inst.Output, "has a bad instanceId") || !strings.Contains(inst.Output, "reserved for entities") {
		t.Fatalf("UsesEntity's output %s", inst.Output)
	}
}
