package durable

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// hist builds histories the way the engine records them.
type hist struct {
	events []Event
	now    time.Time
}

func newHist() *hist {
	in := "null"
	h := &hist{now: t0}
	h.add(Event{EventType: OrchestratorStarted})
	h.add(Event{EventType: ExecutionStarted, Name: "Orch", Input: &in, OrchestrationInstance: &InstanceRef{InstanceID: "i1", ExecutionID: "e1"}})
	return h
}

func (h *hist) add(evs ...Event) *hist {
	for _, ev := range evs {
		if ev.EventID == 0 && !scheduling(ev.EventType) {
			ev.EventID = NoEventID
		}
		ev.Timestamp = h.now
		h.events = append(h.events, ev)
	}
	return h
}

func scheduling(t EventType) bool {
	return t == TaskScheduled || t == TimerCreated || t == SubOrchestrationInstanceCreated || t == EventSent
}

// episode starts a new episode at now+d.
func (h *hist) episode(d time.Duration) *hist {
	h.add(Event{EventType: OrchestratorCompleted})
	h.now = h.now.Add(d)
	return h.add(Event{EventType: OrchestratorStarted})
}

func (h *hist) apply(p *plan) *hist {
	for _, ev := range p.events {
		ev.Timestamp = h.now
		h.events = append(h.events, ev)
	}
	return h
}

func state(t *testing.T, actions string) *OrchestratorState {
	t.Helper()
	var st OrchestratorState
	if err := json.Unmarshal([]byte(`{"isDone":false,"schemaVersion":2,"actions":[`+actions+`]}`), &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func run(t *testing.T, h *hist, actions string) *plan {
	t.Helper()
	opts := Options{MaxShortTimer: 6 * 24 * time.Hour, LongTimerInterval: 3 * 24 * time.Hour, MaxActions: 1000}
	p, err := replay(&opts, &Instance{ID: "i1", ExecutionID: "e1", Name: "Orch"}, h.events, state(t, actions))
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	return p
}

func scheduled(p *plan) string {
	var b strings.Builder
	for _, ev := range p.events {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(ev.EventType.String())
		b.WriteString(":")
		b.WriteString(itoa(ev.EventID))
		if ev.Name != "" {
			b.WriteString(":" + ev.Name)
		}
	}
	return b.String()
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func want(t *testing.T, p *plan, s string) {
	t.Helper()
	if got := scheduled(p); got != s {
		t.Fatalf("scheduled %q, want %q", got, s)
	}
}

const (
	actA = `{"actionType":0,"functionName":"A","input":"\"x\""}`
	actB = `{"actionType":0,"functionName":"B","input":1}`
)

func TestReplayChain(t *testing.T) {
	h := newHist()
	p := run(t, h, `[`+actA+`]`)
	want(t, p, "TaskScheduled:0:A")
	if len(p.tasks) != 1 || p.tasks[0].Name != "A" || p.tasks[0].TaskID != 0 || p.tasks[0].Input != `"\"x\""` || ActivityInput(p.tasks[0].Input) != `"x"` {
		t.Fatalf("tasks %+v", p.tasks)
	}
	res := `"done"`
	h.apply(p).episode(time.Second).add(Event{EventType: TaskCompleted, TaskScheduledID: 0, Result: &res})
	p = run(t, h, `[`+actA+`,`+actB+`]`)
	want(t, p, "TaskScheduled:1:B")
	// Replaying the same actions again schedules nothing new.
	h.apply(p)
	if p := run(t, h, `[`+actA+`,`+actB+`]`); len(p.events) != 0 {
		t.Fatalf("replay scheduled %s again", scheduled(p))
	}
}

func TestReplayNondeterminism(t *testing.T) {
	h := newHist()
	h.apply(run(t, h, `[`+actA+`]`)).episode(time.Second)
	opts := Options{MaxShortTimer: time.Hour, LongTimerInterval: time.Hour, MaxActions: 10}
	_, err := replay(&opts, &Instance{ID: "i1", ExecutionID: "e1"}, h.events, state(t, `[`+actB+`]`))
	var nd *NondeterminismError
	if !errors.As(err, &nd) || !strings.Contains(err.Error(), "'A'") || !strings.Contains(err.Error(), "'B'") {
		t.Fatalf("err = %v, want a nondeterminism error naming A and B", err)
	}
	// An orchestrator that no longer schedules a recorded task.
	_, err = replay(&opts, &Instance{ID: "i1", ExecutionID: "e1"}, h.events, state(t, `[{"actionType":6,"externalEventName":"E"}]`))
	if !errors.As(err, &nd) {
		t.Fatalf("err = %v, want a nondeterminism error", err)
	}
}

func TestReplayFanOutFanIn(t *testing.T) {
	h := newHist()
	all := `[{"actionType":12,"compoundActions":[` + actA + `,` + actA + `,` + actA + `]}]`
	p := run(t, h, all)
	want(t, p, "TaskScheduled:0:A TaskScheduled:1:A TaskScheduled:2:A")
	r := `1`
	h.apply(p).episode(time.Second).add(
		Event{EventType: TaskCompleted, TaskScheduledID: 2, Result: &r},
		Event{EventType: TaskCompleted, TaskScheduledID: 0, Result: &r},
		Event{EventType: TaskCompleted, TaskScheduledID: 1, Result: &r})
	p = run(t, h, strings.TrimSuffix(all, "]")+`,`+actB+`]`)
	want(t, p, "TaskScheduled:3:B")
}

func TestReplayRetry(t *testing.T) {
	retry := `[{"actionType":1,"functionName":"A","input":null,"retryOptions":{"firstRetryIntervalInMilliseconds":1000,"maxNumberOfAttempts":2,"backoffCoefficient":2}}]`
	h := newHist()
	h.apply(run(t, h, retry)).episode(time.Second).add(Event{EventType: TaskFailed, TaskScheduledID: 0, Reason: "boom", Details: ""})
	p := run(t, h, retry)
	want(t, p, "TimerCreated:1")
	if !p.events[0].FireAt.Equal(h.now.Add(time.Second)) || len(p.messages) != 1 || p.messages[0].Event.TimerID != 1 {
		t.Fatalf("retry timer %+v, messages %+v", p.events[0], p.messages)
	}
	h.apply(p).episode(time.Second).add(Event{EventType: TimerFired, TimerID: 1})
	p = run(t, h, retry)
	want(t, p, "TaskScheduled:2:A")
	// The last attempt fails: a timer firing at once, then the failure.
	h.apply(p).episode(time.Second).add(Event{EventType: TaskFailed, TaskScheduledID: 2, Reason: "boom"})
	p = run(t, h, retry)
	want(t, p, "TimerCreated:3")
	if !p.events[0].FireAt.Equal(h.now) {
		t.Fatalf("last timer fires at %v, want now (%v)", p.events[0].FireAt, h.now)
	}
	h.apply(p).episode(time.Second).add(Event{EventType: TimerFired, TimerID: 3})
	p = run(t, h, strings.TrimSuffix(retry, "]")+`,`+actB+`]`)
	want(t, p, "TaskScheduled:4:B")
}

func TestReplayLongTimer(t *testing.T) {
	h := newHist()
	fire := t0.Add(10 * 24 * time.Hour).Format(time.RFC3339Nano)
	timer := `[{"actionType":5,"fireAt":"` + fire + `","isCanceled":false}]`
	p := run(t, h, timer)
	want(t, p, "TimerCreated:0")
	if got := p.events[0].FireAt; !got.Equal(t0.Add(3 * 24 * time.Hour)) {
		t.Fatalf("first segment fires at %v", got)
	}
	h.apply(p).episode(3 * 24 * time.Hour).add(Event{EventType: TimerFired, TimerID: 0})
	p = run(t, h, timer)
	want(t, p, "TimerCreated:1")
	if got := p.events[0].FireAt; !got.Equal(t0.Add(6 * 24 * time.Hour)) {
		t.Fatalf("second segment fires at %v", got)
	}
	h.apply(p).episode(3 * 24 * time.Hour).add(Event{EventType: TimerFired, TimerID: 1})
	p = run(t, h, timer)
	want(t, p, "TimerCreated:2")
	if got := p.events[0].FireAt; !got.Equal(t0.Add(10 * 24 * time.Hour)) {
		t.Fatalf("last segment fires at %v", got)
	}
	h.apply(p).episode(4 * 24 * time.Hour).add(Event{EventType: TimerFired, TimerID: 2})
	want(t, run(t, h, strings.TrimSuffix(timer, "]")+`,`+actB+`]`), "TaskScheduled:3:B")
}

func TestReplayExternalEventBufferedAndTimeout(t *testing.T) {
	h := newHist()
	// The event arrives before the orchestrator waits for it.
	in := `"approved"`
	h.episode(time.Second).add(Event{EventType: EventRaised, Name: "Approval", Input: &in})
	fire := t0.Add(time.Hour).Format(time.RFC3339Nano)
	any := `[{"actionType":11,"compoundActions":[{"actionType":6,"externalEventName":"Approval","reason":"ExternalEvent"},{"actionType":5,"fireAt":"` + fire + `","isCanceled":true}]}` + `,` + actB + `]`
	p := run(t, h, any)
	want(t, p, "TimerCreated:0 TaskScheduled:1:B")
	if len(p.messages) != 0 {
		t.Fatalf("a cancelled timer was scheduled: %+v", p.messages)
	}
}

func TestReplayFlatListFromGo(t *testing.T) {
	// An SDK that issues two tasks before awaiting either.
	h := newHist()
	p := run(t, h, `[`+actA+`,`+actB+`]`)
	want(t, p, "TaskScheduled:0:A TaskScheduled:1:B")
	r := `2`
	h.apply(p).episode(time.Second).add(Event{EventType: TaskCompleted, TaskScheduledID: 1, Result: &r})
	if p := run(t, h, `[`+actA+`,`+actB+`]`); len(p.events) != 0 {
		t.Fatalf("scheduled %s", scheduled(p))
	}
}

func TestReplayEntityCall(t *testing.T) {
	h := newHist()
	call := `[{"actionType":7,"instanceId":"@counter@k","operation":"add","input":1}]`
	p := run(t, h, call)
	want(t, p, "EventSent:0:op")
	var req RequestMessage
	if err := json.Unmarshal([]byte(*p.events[0].Input), &req); err != nil || req.ID == "" || req.Parent != "i1" || req.Op != "add" || req.Input != "1" {
		t.Fatalf("request %+v (%v)", req, err)
	}
	if len(p.messages) != 1 || p.messages[0].InstanceID != "@counter@k" {
		t.Fatalf("messages %+v", p.messages)
	}
	resp := `{"result":"5"}`
	h.apply(p).episode(time.Second).add(Event{EventType: EventRaised, Name: req.ID, Input: &resp})
	want(t, run(t, h, strings.TrimSuffix(call, "]")+`,`+actB+`]`), "TaskScheduled:1:B")
}

func TestParseOrchestratorResult(t *testing.T) {
	st, err := ParseOrchestratorResult(nil, "boom\n\n$OutOfProcData$:{\"isDone\":false,\"actions\":[[]],\"error\":\"Error: boom\",\"schemaVersion\":2}")
	if err != nil || st.Error != "Error: boom" {
		t.Fatalf("st %+v err %v", st, err)
	}
	st, _ = ParseOrchestratorResult(nil, "plain failure")
	if st.Error != "plain failure" {
		t.Fatalf("st %+v", st)
	}
	if _, err := ParseOrchestratorResult([]byte(`42`), ""); err == nil {
		t.Fatal("a number was taken for a state")
	}
}

// A critical section as the JavaScript SDK (schema V4) writes it: the
// lock takes one number, a call inside it one, the release one per entity.
func TestReplayCriticalSection(t *testing.T) {
	h := newHist()
	lock := `{"actionType":13,"lockRequestId":"L1","lockSet":[{"name":"Counter","key":"b"},{"name":"counter","key":"a"},{"name":"Counter","key":"b"}]}`
	p := run(t, h, `[`+lock+`]`)
	want(t, p, "EventSent:0:op")
	var req RequestMessage
	if err := json.Unmarshal([]byte(*p.events[0].Input), &req); err != nil || req.ID != "L1" || req.Parent != "i1" || req.ParentExecution != "e1" ||
		len(req.LockSet) != 2 || req.LockSet[0].Key != "a" || req.Pos != 0 || p.messages[0].InstanceID != "@counter@a" {
		t.Fatalf("lock request %+v (%v) to %s", req, err, p.messages[0].InstanceID)
	}
	acquired := `{"result":"Lock Acquisition Completed"}`
	h.apply(p).episode(time.Second).add(Event{EventType: EventRaised, Name: "L1", Input: &acquired})
	call := `{"actionType":7,"instanceId":"@counter@a","operation":"get"}`
	p = run(t, h, `[`+lock+`,`+call+`]`)
	want(t, p, "EventSent:1:op")
	var get RequestMessage
	_ = json.Unmarshal([]byte(*p.events[0].Input), &get)
	resp := `{"result":"5"}`
	h.apply(p).episode(time.Second).add(Event{EventType: EventRaised, Name: get.ID, Input: &resp})
	p = run(t, h, `[`+lock+`,`+call+`,{"actionType":14},`+actA+`]`)
	want(t, p, "EventSent:2:release EventSent:3:release TaskScheduled:4:A")
	var rel releaseMessage
	if err := json.Unmarshal([]byte(*p.events[0].Input), &rel); err != nil || rel.Parent != "i1" || rel.ID != "L1" ||
		p.messages[0].InstanceID != "@counter@a" || p.messages[1].InstanceID != "@counter@b" {
		t.Fatalf("release %+v (%v), messages %+v", rel, err, p.messages)
	}
	if p.lock != nil {
		t.Errorf("the lock is still held after the release")
	}

	// Misuse fails clearly.
	opts := Options{MaxShortTimer: time.Hour, LongTimerInterval: time.Hour, MaxActions: 10}
	for actions, msg := range map[string]string{
		`[{"actionType":14}]`:                                    "outside a critical section",
		`[` + lock + `,` + lock + `]`:                            "do not nest",
		`[{"actionType":13,"lockSet":[{"name":"c","key":"k"}]}]`: "lockRequestId",
	} {
		_, err := replay(&opts, &Instance{ID: "i1", ExecutionID: "e1"}, newHist().events, state(t, actions))
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err = %v, want one saying %q", actions, err, msg)
		}
	}
}

// The same orchestration (A and B at once, then C) in each replay schema
// the JavaScript SDK sends: V1 gives one array per yield, V2 to V4 one
// array with a WhenAll.
func TestReplaySchemaVersions(t *testing.T) {
	actC := `{"actionType":0,"functionName":"C","input":null}`
	for _, c := range []struct {
		name, schema, first, second string
	}{
		{"V1", "0", `[` + actA + `,` + actB + `]`, `[` + actA + `,` + actB + `],[` + actC + `]`},
		{"V2", "1", `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]}]`, `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]},` + actC + `]`},
		{"V3", "2", `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]}]`, `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]},` + actC + `]`},
		{"V4", `"V4"`, `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]}]`, `[{"actionType":12,"compoundActions":[` + actA + `,` + actB + `]},` + actC + `]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{MaxShortTimer: time.Hour, LongTimerInterval: time.Hour, MaxActions: 100}
			parse := func(actions string) *OrchestratorState {
				var st OrchestratorState
				if err := json.Unmarshal([]byte(`{"isDone":false,"schemaVersion":`+c.schema+`,"actions":[`+actions+`]}`), &st); err != nil {
					t.Fatal(err)
				}
				return &st
			}
			inst := &Instance{ID: "i1", ExecutionID: "e1", Name: "Orch"}
			h := newHist()
			p, err := replay(&opts, inst, h.events, parse(c.first))
			if err != nil {
				t.Fatal(err)
			}
			want(t, p, "TaskScheduled:0:A TaskScheduled:1:B")
			a, b := `"a"`, `"b"`
			h.apply(p).episode(time.Second).add(Event{EventType: TaskCompleted, TaskScheduledID: 1, Result: &b}, Event{EventType: TaskCompleted, TaskScheduledID: 0, Result: &a})
			p, err = replay(&opts, inst, h.events, parse(c.second))
			if err != nil {
				t.Fatal(err)
			}
			want(t, p, "TaskScheduled:2:C")
		})
	}
}

// An action without a field it needs fails the orchestration with an
// error that names the action and the field, at the top level and inside a
// WhenAll alike.
func TestReplayActionsMissingFields(t *testing.T) {
	opts := Options{MaxShortTimer: time.Hour, LongTimerInterval: time.Hour, MaxActions: 10}
	for _, c := range []struct{ action, want string }{
		{`{"actionType":0,"input":1}`, "a CallActivity action has no functionName"},
		{`{"actionType":2}`, "a CallSubOrchestrator action has no functionName"},
		{`{"actionType":1,"retryOptions":{"firstRetryIntervalInMilliseconds":1,"maxNumberOfAttempts":2}}`, "a CallActivityWithRetry action has no functionName"},
		{`{"actionType":5,"isCanceled":false}`, "a CreateTimer action has no fireAt"},
		{`{"actionType":6}`, "a WaitForExternalEvent action has no externalEventName"},
		{`{"actionType":9,"instanceId":"@@k","operation":"add"}`, `SignalEntity targets "@@k", an entity instance id without an entity name`},
		{`{"actionType":12,"compoundActions":[` + actA + `,{"actionType":0}]}`, "a CallActivity action has no functionName"},
	} {
		_, err := replay(&opts, &Instance{ID: "i1", ExecutionID: "e1"}, newHist().events, state(t, `[`+c.action+`]`))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.action, err, c.want)
		}
	}
}
