package durable_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk/durable"
)

func run(t testing.TB, h *history, fn durable.Orchestrator) []byte {
	t.Helper()
	state, err := durable.RunOrchestrator(context.Background(), h.payload(), fn)
	if err != nil {
		t.Fatalf("RunOrchestrator: %v", err)
	}
	return state
}

// chain calls two activities in sequence.
func chain(ctx *durable.OrchestrationContext) (any, error) {
	var city string
	if err := ctx.GetInput(&city); err != nil {
		return nil, err
	}
	var greeting string
	if err := ctx.CallActivity("SayHello", durable.WithInput(city)).Await(&greeting); err != nil {
		return nil, err
	}
	var n int
	if err := ctx.CallActivity("Count", durable.WithInput(map[string]string{"text": greeting})).Await(&n); err != nil {
		return nil, err
	}
	return fmt.Sprintf("%s (%d)", greeting, n), nil
}

func TestChainingAcrossEpisodes(t *testing.T) {
	h := newHistory(t, "chain", "Tokyo")
	// A string input is encoded twice, an object once.
	sayHello := `{"actionType":0,"functionName":"SayHello","input":"\"Tokyo\""}`
	count := `{"actionType":0,"functionName":"Count","input":{"text":"Hello Tokyo"}}`
	sameJSON(t, run(t, h, chain), `{"isDone":false,"actions":[[`+sayHello+`]],"output":null,"schemaVersion":2}`)

	a := h.scheduled("SayHello")
	h.episode(time.Second).completed(a, `"Hello Tokyo"`)
	sameJSON(t, run(t, h, chain), `{"isDone":false,"actions":[[`+sayHello+`,`+count+`]],"output":null,"schemaVersion":2}`)

	b := h.scheduled("Count")
	h.episode(time.Second).completed(b, `11`)
	sameJSON(t, run(t, h, chain), `{"isDone":true,"actions":[[`+sayHello+`,`+count+`]],"output":"Hello Tokyo (11)","schemaVersion":2}`)
}

func TestFanOutFanIn(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		tasks := []durable.Task{}
		for _, c := range []string{"Tokyo", "Seattle", "Lima"} {
			tasks = append(tasks, ctx.CallActivity("SayHello", durable.WithInput(c)))
		}
		var out []string
		err := durable.WhenAll(tasks...).Await(&out)
		return out, err
	}
	acts := `{"actionType":0,"functionName":"SayHello","input":"\"Tokyo\""},` +
		`{"actionType":0,"functionName":"SayHello","input":"\"Seattle\""},` +
		`{"actionType":0,"functionName":"SayHello","input":"\"Lima\""}`
	h := newHistory(t, "fan", nil)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+acts+`]],"output":null,"schemaVersion":2}`)
	ids := []int{h.scheduled("SayHello"), h.scheduled("SayHello"), h.scheduled("SayHello")}
	// Results arrive out of order, over two episodes.
	h.episode(time.Second).completed(ids[2], `"Hello Lima"`).completed(ids[0], `"Hello Tokyo"`)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+acts+`]],"output":null,"schemaVersion":2}`)
	h.episode(time.Second).completed(ids[1], `"Hello Seattle"`)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+acts+`]],"output":["Hello Tokyo","Hello Seattle","Hello Lima"],"schemaVersion":2}`)
}

func TestWhenAllFailsFast(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		a, b := ctx.CallActivity("A"), ctx.CallActivity("B")
		err := durable.WhenAll(a, b).Await(nil)
		return fmt.Sprintf("b done: %v, err: %v", b.IsComplete(), err), nil
	}
	h := newHistory(t, "o", nil)
	a, _ := h.scheduled("A"), h.scheduled("B")
	h.episode(time.Second).failed(a, "Activity function 'A' failed: no", "stack")
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[{"actionType":0,"functionName":"A"},{"actionType":0,"functionName":"B"}]],
		"output":"b done: false, err: Activity function 'A' failed: no","schemaVersion":2}`)
}

func TestWhenAnyAndTimer(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		work := ctx.CallActivity("Slow")
		timeout := ctx.CreateTimer(time.Hour)
		var i int
		if err := durable.WhenAny(work, timeout).Await(&i); err != nil {
			return nil, err
		}
		if i == 1 {
			return "timed out at " + ctx.CurrentUTCDateTime().Format(time.RFC3339), nil
		}
		var s string
		err := work.Await(&s)
		return s, err
	}
	fireAt := t0.Add(time.Hour)
	acts := `{"actionType":0,"functionName":"Slow"},{"actionType":5,"fireAt":"2025-01-01T01:00:00.000Z","isCanceled":false}`
	h := newHistory(t, "o", nil)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+acts+`]],"output":null,"schemaVersion":2}`)
	a, tm := h.scheduled("Slow"), h.timerCreated(fireAt)

	won := *h
	won.events = append([]map[string]any(nil), h.events...)
	won.episode(time.Minute).completed(a, `"fast enough"`)
	sameJSON(t, run(t, &won, fn), `{"isDone":true,"actions":[[`+acts+`]],"output":"fast enough","schemaVersion":2}`)

	h.episode(time.Hour).timerFired(tm, fireAt)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+acts+`]],"output":"timed out at 2025-01-01T01:00:00Z","schemaVersion":2}`)
}

// approval waits for an activity, then for two "approve" events.
func approval(ctx *durable.OrchestrationContext) (any, error) {
	if err := ctx.CallActivity("Ask").Await(nil); err != nil {
		return nil, err
	}
	var first, second string
	if err := ctx.WaitForExternalEvent("approve", -1).Await(&first); err != nil {
		return nil, err
	}
	if err := ctx.WaitForExternalEvent("approve", -1).Await(&second); err != nil {
		return nil, err
	}
	return first + "," + second, nil
}

func TestExternalEventBufferedBeforeTheWait(t *testing.T) {
	h := newHistory(t, "o", nil)
	a := h.scheduled("Ask")
	// Both events arrive while the activity still runs.
	h.episode(time.Second).raised("approve", `"alice"`)
	h.episode(time.Second).raised("approve", `"bob"`)
	h.episode(time.Second).completed(a, `null`)
	sameJSON(t, run(t, h, approval), `{"isDone":true,"actions":[[{"actionType":0,"functionName":"Ask"},
		{"actionType":6,"externalEventName":"approve","reason":"ExternalEvent"},
		{"actionType":6,"externalEventName":"approve","reason":"ExternalEvent"}]],"output":"alice,bob","schemaVersion":2}`)
}

func TestExternalEventAfterTheWait(t *testing.T) {
	h := newHistory(t, "o", nil)
	a := h.scheduled("Ask")
	h.episode(time.Second).completed(a, `null`)
	wait := `{"actionType":6,"externalEventName":"approve","reason":"ExternalEvent"}`
	sameJSON(t, run(t, h, approval), `{"isDone":false,"actions":[[{"actionType":0,"functionName":"Ask"},`+wait+`]],"output":null,"schemaVersion":2}`)
	h.episode(time.Second).raised("other", `1`).raised("approve", `"carol"`)
	sameJSON(t, run(t, h, approval), `{"isDone":false,"actions":[[{"actionType":0,"functionName":"Ask"},`+wait+`,`+wait+`]],"output":null,"schemaVersion":2}`)
	h.episode(time.Second).raised("approve", `"dave"`)
	sameJSON(t, run(t, h, approval), `{"isDone":true,"actions":[[{"actionType":0,"functionName":"Ask"},`+wait+`,`+wait+`]],"output":"carol,dave","schemaVersion":2}`)
}

func TestWaitForExternalEventWithTimeout(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		var v int
		err := ctx.WaitForExternalEvent("go", 10*time.Minute).Await(&v)
		if errors.Is(err, durable.ErrTaskCanceled) {
			return "timeout", nil
		}
		return v, err
	}
	fireAt := t0.Add(10 * time.Minute)
	wait := `{"actionType":6,"externalEventName":"go","reason":"ExternalEvent"}`
	h := newHistory(t, "o", nil)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+wait+`,{"actionType":5,"fireAt":"2025-01-01T00:10:00.000Z","isCanceled":false}]],"output":null,"schemaVersion":2}`)
	tm := h.timerCreated(fireAt)

	arrived := *h
	arrived.events = append([]map[string]any(nil), h.events...)
	arrived.episode(time.Minute).raised("go", `7`)
	sameJSON(t, run(t, &arrived, fn), `{"isDone":true,"actions":[[`+wait+`,{"actionType":5,"fireAt":"2025-01-01T00:10:00.000Z","isCanceled":true}]],"output":7,"schemaVersion":2}`)

	h.episode(10*time.Minute).timerFired(tm, fireAt)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+wait+`,{"actionType":5,"fireAt":"2025-01-01T00:10:00.000Z","isCanceled":false}]],"output":"timeout","schemaVersion":2}`)
}

func retrying(ctx *durable.OrchestrationContext) (any, error) {
	p := &durable.RetryPolicy{MaxAttempts: 3, InitialRetryInterval: 5 * time.Second, BackoffCoefficient: 2}
	var out string
	err := ctx.CallActivity("Flaky", durable.WithInput(1), durable.WithRetryPolicy(p)).Await(&out)
	if err != nil {
		return "gave up: " + err.Error(), nil
	}
	// The next task's number follows the retry's timers and attempts.
	err = ctx.CallActivity("After").Await(nil)
	return out, err
}

const flaky = `{"actionType":0,"functionName":"Flaky","input":1}`

// timerAt is a CreateTimer action.
func timerAt(at time.Time) string {
	return `{"actionType":5,"fireAt":"` + at.UTC().Format("2006-01-02T15:04:05.000Z") + `","isCanceled":false}`
}

func TestRetryThenSuccess(t *testing.T) {
	h := newHistory(t, "o", nil)
	sameJSON(t, run(t, h, retrying), `{"isDone":false,"actions":[[`+flaky+`]],"output":null,"schemaVersion":2}`)
	// The SDK runs the retries itself, each wait and attempt a task of its
	// own: TaskScheduled 0 → TaskFailed → TimerCreated 1 → TimerFired →
	// TaskScheduled 2 → ...
	a := h.scheduled("Flaky")
	h.episode(time.Second).failed(a, "Activity function 'Flaky' failed: 1", "")
	first := h.now.Add(5 * time.Second)
	sameJSON(t, run(t, h, retrying), `{"isDone":false,"actions":[[`+flaky+`,`+timerAt(first)+`]],"output":null,"schemaVersion":2}`)
	tm := h.timerCreated(first)
	h.episode(5*time.Second).timerFired(tm, h.now)
	a2 := h.scheduled("Flaky")
	h.episode(time.Second).failed(a2, "Activity function 'Flaky' failed: 2", "")
	second := h.now.Add(10 * time.Second) // backoff coefficient 2
	tm2 := h.timerCreated(second)
	h.episode(10*time.Second).timerFired(tm2, h.now)
	a3 := h.scheduled("Flaky")
	attempts := flaky + `,` + timerAt(first) + `,` + flaky + `,` + timerAt(second) + `,` + flaky
	sameJSON(t, run(t, h, retrying), `{"isDone":false,"actions":[[`+attempts+`]],"output":null,"schemaVersion":2}`)
	h.episode(time.Second).completed(a3, `"third time"`)
	after := `{"actionType":0,"functionName":"After"}`
	sameJSON(t, run(t, h, retrying), `{"isDone":false,"actions":[[`+attempts+`,`+after+`]],"output":null,"schemaVersion":2}`)
	if b := h.scheduled("After"); b != 5 {
		t.Fatalf("After got id %d in the test's history, want 5", b)
	}
	h.episode(time.Second).completed(5, `null`)
	sameJSON(t, run(t, h, retrying), `{"isDone":true,"actions":[[`+attempts+`,`+after+`]],"output":"third time","schemaVersion":2}`)
}

func TestRetryGivesUp(t *testing.T) {
	h := newHistory(t, "o", nil)
	var actions []string
	for i := range 3 {
		a := h.scheduled("Flaky")
		actions = append(actions, flaky)
		h.episode(time.Second).failed(a, fmt.Sprintf("Activity function 'Flaky' failed: attempt %d", i+1), "details")
		if i < 2 {
			at := h.now.Add(5 * time.Second << i)
			actions = append(actions, timerAt(at))
			tm := h.timerCreated(at)
			h.episode(5*time.Second<<i).timerFired(tm, h.now)
		}
	}
	// No timer after the last attempt: the task fails at once.
	sameJSON(t, run(t, h, retrying), `{"isDone":true,"actions":[[`+strings.Join(actions, ",")+`]],"output":"gave up: Activity function 'Flaky' failed: attempt 3","schemaVersion":2}`)
}

func TestSubOrchestration(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		var n int
		err := ctx.CallSubOrchestrator("Child", durable.WithInput("x"), durable.WithInstanceID("child-1")).Await(&n)
		return n + 1, err
	}
	child := `{"actionType":2,"functionName":"Child","instanceId":"child-1","input":"x"}`
	h := newHistory(t, "o", nil)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+child+`]],"output":null,"schemaVersion":2}`)
	id := h.subCreated("Child", "child-1")
	h.episode(time.Second).subCompleted(id, `41`)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+child+`]],"output":42,"schemaVersion":2}`)
}

func TestContinueAsNewAndCustomStatus(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		var n int
		if err := ctx.GetInput(&n); err != nil {
			return nil, err
		}
		if err := ctx.SetCustomStatus(map[string]int{"round": n}); err != nil {
			return nil, err
		}
		if err := ctx.CreateTimer(time.Minute).Await(nil); err != nil {
			return nil, err
		}
		if err := ctx.ContinueAsNew(n + 1); err != nil {
			return nil, err
		}
		ctx.CallActivity("Ignored") // after ContinueAsNew: dropped
		return "ignored", nil
	}
	h := newHistory(t, "o", 3)
	timer := `{"actionType":5,"fireAt":"2025-01-01T00:01:00.000Z","isCanceled":false}`
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+timer+`]],"output":null,"customStatus":{"round":3},"schemaVersion":2}`)
	tm := h.timerCreated(t0.Add(time.Minute))
	h.episode(time.Minute).timerFired(tm, t0.Add(time.Minute))
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+timer+`,{"actionType":4,"input":4}]],"output":null,"customStatus":{"round":3},"schemaVersion":2}`)
}

func TestActivityFailureReachesTheOrchestrator(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		err := ctx.CallActivity("Charge").Await(nil)
		var tf *durable.TaskFailedError
		if !errors.As(err, &tf) {
			return nil, fmt.Errorf("want a *TaskFailedError, got %v", err)
		}
		return map[string]string{"reason": tf.Reason, "details": tf.Details, "name": tf.Name}, nil
	}
	h := newHistory(t, "o", nil)
	a := h.scheduled("Charge")
	h.episode(time.Second).failed(a, "Activity function 'Charge' failed: card declined", `{"$type":"System.Exception"}`)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[{"actionType":0,"functionName":"Charge"}]],
		"output":{"reason":"Activity function 'Charge' failed: card declined","details":"{\"$type\":\"System.Exception\"}","name":"Charge"},"schemaVersion":2}`)
}

func TestOrchestratorErrorFailsWithOutOfProcData(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		if err := ctx.CallActivity("A").Await(nil); err != nil {
			return nil, err
		}
		ctx.CallActivity("B")
		return nil, errors.New("cannot go on")
	}
	h := newHistory(t, "o", nil)
	a := h.scheduled("A")
	h.episode(time.Second).completed(a, `null`)
	_, err := durable.RunOrchestrator(context.Background(), h.payload(), fn)
	var f *durable.OrchestrationFailure
	if !errors.As(err, &f) {
		t.Fatalf("want an *OrchestrationFailure, got %v", err)
	}
	msg, data, ok := strings.Cut(err.Error(), "\n\n$OutOfProcData$:")
	if !ok || msg != "cannot go on" {
		t.Fatalf("error message %q", err.Error())
	}
	sameJSON(t, []byte(data), `{"isDone":false,"actions":[[{"actionType":0,"functionName":"A"},{"actionType":0,"functionName":"B"}]],
		"output":null,"error":"cannot go on","schemaVersion":2}`)
}

func TestOrchestratorPanic(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		ctx.CallActivity("A")
		panic(errors.New("broken invariant"))
	}
	_, err := durable.RunOrchestrator(context.Background(), newHistory(t, "o", nil).payload(), fn)
	var pe *durable.PanicError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "panic: broken invariant\n\n$OutOfProcData$:") ||
		!strings.Contains(err.Error(), `"actions":[[{"actionType":0,"functionName":"A"}]]`) {
		t.Fatalf("want a panic failure with the actions, got %v", err)
	}
}

// A pending Await ends the episode: a recover in the orchestrator does not
// catch it, deferred calls run, and no goroutine is left behind.
func TestPendingAwaitEndsTheEpisodeCleanly(t *testing.T) {
	deferred := 0
	fn := func(ctx *durable.OrchestrationContext) (out any, err error) {
		defer func() {
			deferred++
			if v := recover(); v != nil {
				out, err = "recovered", nil
			}
		}()
		err = ctx.CallActivity("A").Await(nil)
		return "after the await", err
	}
	before := runtime.NumGoroutine()
	for range 50 {
		sameJSON(t, run(t, newHistory(t, "o", nil), fn), `{"isDone":false,"actions":[[{"actionType":0,"functionName":"A"}]],"output":null,"schemaVersion":2}`)
	}
	if deferred != 50 {
		t.Errorf("the orchestrator's deferred call ran %d times, want 50", deferred)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after 50 episodes, %d before", n, before)
	}
}

func TestDeterministicValues(t *testing.T) {
	type seen struct {
		Replaying []bool
		Times     []string
		GUIDs     []string
	}
	var got seen
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		got = seen{}
		note := func() {
			got.Replaying = append(got.Replaying, ctx.IsReplaying())
			got.Times = append(got.Times, ctx.CurrentUTCDateTime().Format(time.RFC3339))
			got.GUIDs = append(got.GUIDs, ctx.NewGUID())
		}
		note()
		if err := ctx.CallActivity("A").Await(nil); err != nil {
			return nil, err
		}
		note()
		return nil, ctx.CallActivity("B").Await(nil)
	}
	h := newHistory(t, "o", nil)
	run(t, h, fn)
	first := got
	a := h.scheduled("A")
	h.episode(time.Minute).completed(a, `null`)
	run(t, h, fn)
	if got.GUIDs[0] != first.GUIDs[0] || got.GUIDs[0] == got.GUIDs[1] {
		t.Errorf("GUIDs %v after %v: want the first repeated, the second new", got.GUIDs, first.GUIDs)
	}
	want := seen{Replaying: []bool{true, false}, Times: []string{"2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z"}, GUIDs: got.GUIDs}
	if fmt.Sprint(got) != fmt.Sprint(want) || first.Replaying[0] {
		t.Errorf("got %+v (first episode %+v), want %+v", got, first, want)
	}
}

func TestNewGUIDMatchesTheJavaScriptSDK(t *testing.T) {
	// The JavaScript SDK's value for instance "inst" at 2025-01-01T00:00:00Z
	// (1735689600000 ms), counter 0: uuid v5 with the SHA-1 of the name as
	// namespace and the namespace string as name.
	var g string
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		g = ctx.NewGUID()
		return nil, nil
	}
	run(t, newHistory(t, "o", nil), fn)
	if want := "b9b88abd-2d80-5aab-a8bd-5d13a7903810"; g != want {
		t.Errorf("NewGUID = %s, want %s", g, want)
	}
}

func TestLongTimerFiresInSegments(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		if err := ctx.CreateTimer(10 * 24 * time.Hour).Await(nil); err != nil {
			return nil, err
		}
		return nil, ctx.CallActivity("After").Await(nil)
	}
	final := t0.Add(10 * 24 * time.Hour)
	h := newHistory(t, "o", nil)
	// Longer than the host's maximum (6 days): segments of 3 days while
	// more than 6 days remain, then the rest, each a timer of its own.
	var timers []string
	for _, at := range []time.Time{t0.Add(72 * time.Hour), t0.Add(144 * time.Hour), final} {
		timers = append(timers, timerAt(at))
		sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+strings.Join(timers, ",")+`]],"output":null,"schemaVersion":2}`)
		id := h.timerCreated(at)
		h.episode(at.Sub(h.now)).timerFired(id, at)
	}
	after := `{"actionType":0,"functionName":"After"}`
	all := strings.Join(timers, ",") + `,` + after
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+all+`]],"output":null,"schemaVersion":2}`)
	if id := h.scheduled("After"); id != 3 {
		t.Fatalf("After's id in the test history is %d", id)
	}
	h.episode(time.Second).completed(3, `null`)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+all+`]],"output":null,"schemaVersion":2}`)
}

func TestEntityCallAndSignal(t *testing.T) {
	counter := durable.NewEntityID("Counter", "k1")
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		if err := ctx.SignalEntity(counter, "add", durable.WithInput(5)); err != nil {
			return nil, err
		}
		var n int
		err := ctx.CallEntity(counter, "get").Await(&n)
		if err != nil {
			return nil, err
		}
		err = ctx.CallEntity(counter, "boom").Await(nil)
		return fmt.Sprintf("%d, %v", n, err), nil
	}
	signal := `{"actionType":9,"instanceId":"@counter@k1","operation":"add","input":5}`
	get := `{"actionType":7,"instanceId":"@counter@k1","operation":"get"}`
	boom := `{"actionType":7,"instanceId":"@counter@k1","operation":"boom"}`
	h := newHistory(t, "o", nil)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+signal+`,`+get+`]],"output":null,"schemaVersion":2}`)
	h.eventSent("@counter@k1", `{"op":"add","signal":true,"input":"5","id":"r0"}`)
	h.eventSent("@counter@k1", `{"op":"get","input":null,"id":"r1","parent":"inst"}`)
	h.episode(time.Second).raised("r1", `{"result":"5"}`)
	sameJSON(t, run(t, h, fn), `{"isDone":false,"actions":[[`+signal+`,`+get+`,`+boom+`]],"output":null,"schemaVersion":2}`)
	h.eventSent("@counter@k1", `{"op":"boom","input":null,"id":"r2","parent":"inst"}`)
	h.episode(time.Second).raised("r2", `{"result":"\"no such operation\"","exceptionType":"Error"}`)
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+signal+`,`+get+`,`+boom+`]],"output":"5, Error: no such operation","schemaVersion":2}`)
}

func TestBadPayloads(t *testing.T) {
	noop := func(*durable.OrchestrationContext) (any, error) { return nil, nil }
	for name, p := range map[string]string{
		"not JSON":       `{`,
		"no history":     `{"instanceId":"i","upperSchemaVersion":1}`,
		"no start event": `{"instanceId":"i","upperSchemaVersion":1,"history":[{"EventType":0,"EventId":-1,"Timestamp":"2025-01-01T00:00:00Z"}]}`,
		"no execution":   `{"instanceId":"i","upperSchemaVersion":1,"history":[{"EventType":12,"EventId":-1,"Timestamp":"2025-01-01T00:00:00Z"}]}`,
	} {
		if _, err := durable.RunOrchestrator(context.Background(), []byte(p), noop); err == nil || !strings.HasPrefix(err.Error(), "durable: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSubOrchestrationRetryAndFailureDetails(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		p := &durable.RetryPolicy{MaxAttempts: 2, InitialRetryInterval: time.Second, MaxRetryInterval: time.Minute, RetryTimeout: time.Hour}
		err := ctx.CallSubOrchestrator("Child", durable.WithRetryPolicy(p), durable.WithVersion("2")).Await(nil)
		var tf *durable.TaskFailedError
		if !errors.As(err, &tf) || tf.Kind != "sub-orchestration" {
			return nil, fmt.Errorf("want a sub-orchestration's *TaskFailedError, got %v", err)
		}
		return err.Error(), nil
	}
	child := `{"actionType":2,"functionName":"Child","version":"2"}`
	h := newHistory(t, "o", nil)
	var actions []string
	for i := range 2 {
		id := h.subCreated("Child", "exec1:0")
		actions = append(actions, child)
		h.episode(time.Second)
		h.add(9, -1, map[string]any{"TaskScheduledId": id, "Reason": nil, "Details": nil,
			"FailureDetails": map[string]any{"ErrorType": "InvalidOperationException", "ErrorMessage": "child broke", "StackTrace": nil}})
		if i == 0 {
			at := h.now.Add(time.Second)
			actions = append(actions, timerAt(at))
			tm := h.timerCreated(at)
			h.episode(time.Second).timerFired(tm, h.now)
		}
	}
	sameJSON(t, run(t, h, fn), `{"isDone":true,"actions":[[`+strings.Join(actions, ",")+`]],"output":"InvalidOperationException: child broke","schemaVersion":2}`)
}

func TestHistoryTimesWithoutZone(t *testing.T) {
	// Newtonsoft writes a DateTime of unspecified kind without a zone.
	p := `{"instanceId":"i","upperSchemaVersion":1,"upperSchemaVersionNew":2,"input":null,"history":[
		{"EventType":12,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-03-04T05:06:07.1234567"},
		{"EventType":0,"EventId":-1,"IsPlayed":false,"Timestamp":"2025-03-04T05:06:07.1234567","Name":"o","Input":null}]}`
	var now time.Time
	state, err := durable.RunOrchestrator(context.Background(), []byte(p), func(ctx *durable.OrchestrationContext) (any, error) {
		now = ctx.CurrentUTCDateTime()
		return ctx.Name(), nil
	})
	if err != nil || !now.Equal(time.Date(2025, 3, 4, 5, 6, 7, 123456700, time.UTC)) {
		t.Fatalf("time %v, %v", now, err)
	}
	sameJSON(t, state, `{"isDone":true,"actions":[[]],"output":"o","schemaVersion":2}`)
}

// A deferred call that panics while a pending Await ends the episode
// fails the orchestration instead of crashing the worker.
func TestPanicWhileTheEpisodeEnds(t *testing.T) {
	fn := func(ctx *durable.OrchestrationContext) (any, error) {
		defer func() { panic("cleanup failed") }()
		return nil, ctx.CallActivity("A").Await(nil)
	}
	_, err := durable.RunOrchestrator(context.Background(), newHistory(t, "o", nil).payload(), fn)
	var pe *durable.PanicError
	if !errors.As(err, &pe) || pe.Value != "cleanup failed" {
		t.Fatalf("want the deferred call's panic, got %v", err)
	}
}
