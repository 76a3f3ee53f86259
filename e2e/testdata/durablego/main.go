// Command durablego is the Durable Functions patterns of funcd's
// end-to-end tests, written with funcd's Go SDK.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/durable"
	"github.com/funcd/funcd/sdk/worker"
)

func main() {
	app := sdk.FunctionApp()
	app.Activity("SayHello", func(_ context.Context, name string) (string, error) { return "Hello " + name + "!", nil })
	app.Activity("Double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	app.Activity("Flaky", flaky)
	app.Activity("Fail", func(_ context.Context, msg string) error { return errors.New(msg) })
	app.Activity("Inc", inc)
	app.Orchestration("Chain5", chain5)
	app.Orchestration("Chain", chain)
	app.Orchestration("FanOut", fanOut)
	app.Orchestration("Retry", retry)
	app.Orchestration("Failing", failing)
	app.Orchestration("Parent", parent)
	app.Orchestration("Eternal", eternal)
	app.Orchestration("Approval", approval)
	app.Orchestration("UseCounter", useCounter)
	app.Orchestration("Transfer", transfer)
	app.Orchestration("Monitor", monitor)
	app.Orchestration("RetryExhausted", retryExhausted)
	app.HTTP("start", startHTTP).Methods("POST").Route("orchestrators/{name}").Auth("anonymous").DurableClient("client")
	app.Activity("CheckJob", func(_ context.Context, poll int) (string, error) {
		if poll >= 2 {
			return "done", nil
		}
		return "running", nil
	})
	app.Entity("Counter", counter)
	worker.Start(app)
}

func chain(ctx *durable.OrchestrationContext) (any, error) {
	var out []string
	for _, city := range []string{"Tokyo", "Seattle", "London"} {
		var s string
		if err := ctx.CallActivity("SayHello", durable.WithInput(city)).Await(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// chain5 adds 1 to its input five times, one activity after the other.
func chain5(ctx *durable.OrchestrationContext) (any, error) {
	var n int
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	for range 5 {
		if err := ctx.CallActivity("Inc", durable.WithInput(n)).Await(&n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

func fanOut(ctx *durable.OrchestrationContext) (any, error) {
	n := 5
	if err := ctx.GetInput(&n); err != nil {
		return nil, err
	}
	tasks := make([]durable.Task, n)
	for i := range n {
		tasks[i] = ctx.CallActivity("Double", durable.WithInput(i+1))
	}
	var results []int
	if err := durable.WhenAll(tasks...).Await(&results); err != nil {
		return nil, err
	}
	sum := 0
	for _, r := range results {
		sum += r
	}
	return sum, nil
}

var (
	attemptsMu sync.Mutex
	attempts   = map[string]int{}
)

func flaky(_ context.Context, key string) (string, error) {
	attemptsMu.Lock()
	defer attemptsMu.Unlock()
	attempts[key]++
	if attempts[key] < 3 {
		return "", fmt.Errorf("attempt %d of %s failed", attempts[key], key)
	}
	return fmt.Sprintf("%s succeeded on attempt %d", key, attempts[key]), nil
}

func retry(ctx *durable.OrchestrationContext) (any, error) {
	// Two tasks with retries at once: their attempts and waits interleave.
	p := &durable.RetryPolicy{MaxAttempts: 5, InitialRetryInterval: 100 * time.Millisecond}
	a := ctx.CallActivity("Flaky", durable.WithInput(ctx.InstanceID()+"-a"), durable.WithRetryPolicy(p))
	b := ctx.CallActivity("Flaky", durable.WithInput(ctx.InstanceID()+"-b"), durable.WithRetryPolicy(p))
	var out []string
	err := durable.WhenAll(a, b).Await(&out)
	return out, err
}

// retryExhausted fails until it is rewound: Flaky fails its first two
// attempts; the third succeeds.
func retryExhausted(ctx *durable.OrchestrationContext) (any, error) {
	p := &durable.RetryPolicy{MaxAttempts: 2, InitialRetryInterval: 20 * time.Millisecond}
	var first, second string
	if err := ctx.CallActivity("Flaky", durable.WithInput(ctx.InstanceID()), durable.WithRetryPolicy(p)).Await(&first); err != nil {
		return nil, err
	}
	if err := ctx.CallActivity("SayHello", durable.WithInput("again")).Await(&second); err != nil {
		return nil, err
	}
	return []string{first, second}, nil
}

func failing(ctx *durable.OrchestrationContext) (any, error) {
	if err := ctx.CallActivity("Fail", durable.WithInput("first")).Await(nil); err != nil {
		if err := ctx.SetCustomStatus("caught"); err != nil {
			return nil, err
		}
	}
	return nil, ctx.CallActivity("Fail", durable.WithInput("second")).Await(nil)
}

func parent(ctx *durable.OrchestrationContext) (any, error) {
	var chained []string
	if err := ctx.CallSubOrchestrator("Chain").Await(&chained); err != nil {
		return nil, err
	}
	var sum int
	if err := ctx.CallSubOrchestrator("FanOut", durable.WithInput(3), durable.WithInstanceID(ctx.InstanceID()+"-child")).Await(&sum); err != nil {
		return nil, err
	}
	return map[string]any{"chain": chained, "sum": sum}, nil
}

func eternal(ctx *durable.OrchestrationContext) (any, error) {
	var st struct{ Count, Limit int }
	if err := ctx.GetInput(&st); err != nil {
		return nil, err
	}
	if st.Count >= st.Limit {
		return st.Count, nil
	}
	if err := ctx.CreateTimer(10 * time.Millisecond).Await(nil); err != nil {
		return nil, err
	}
	st.Count++
	return nil, ctx.ContinueAsNew(st)
}

func approval(ctx *durable.OrchestrationContext) (any, error) {
	seconds := 60
	if err := ctx.GetInput(&seconds); err != nil {
		return nil, err
	}
	if err := ctx.SetCustomStatus("waiting"); err != nil {
		return nil, err
	}
	var v any
	err := ctx.WaitForExternalEvent("Approval", time.Duration(seconds)*time.Second).Await(&v)
	if errors.Is(err, durable.ErrTaskCanceled) {
		return "timed out", nil
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func useCounter(ctx *durable.OrchestrationContext) (any, error) {
	key := "k"
	if err := ctx.GetInput(&key); err != nil {
		return nil, err
	}
	id := durable.NewEntityID("Counter", key)
	if err := ctx.SignalEntity(id, "add", durable.WithInput(5)); err != nil {
		return nil, err
	}
	if err := ctx.CallEntity(id, "add", durable.WithInput(2)).Await(nil); err != nil {
		return nil, err
	}
	var n int
	err := ctx.CallEntity(id, "get").Await(&n)
	return n, err
}

// incDelay is how long Inc takes: the app setting INC_DELAY (a Go
// duration), none when unset; tests that must catch work in flight set it.
var incDelay, _ = time.ParseDuration(os.Getenv("INC_DELAY"))

func inc(ctx context.Context, n int) (int, error) {
	if incDelay > 0 {
		select {
		case <-time.After(incDelay):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	return n + 1, nil
}

// startHTTP starts the orchestration the route names with the request's
// body as its input, and answers with the check-status response.
func startHTTP(w http.ResponseWriter, r *http.Request) {
	client, err := durable.GetClient(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var opts []durable.Option
	if body, _ := io.ReadAll(r.Body); len(body) > 0 {
		opts = append(opts, durable.WithInput(json.RawMessage(body)))
	}
	id, err := client.StartNew(r.Context(), r.PathValue("name"), opts...)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client.CreateCheckStatusResponse(w, r, id)
}

// monitor polls a job's status on a durable timer until it is done or the
// monitor expires.
func monitor(ctx *durable.OrchestrationContext) (any, error) {
	expiry := ctx.CurrentUTCDateTime().Add(30 * time.Second)
	for poll := 0; ctx.CurrentUTCDateTime().Before(expiry); poll++ {
		var status string
		if err := ctx.CallActivity("CheckJob", durable.WithInput(poll)).Await(&status); err != nil {
			return nil, err
		}
		if err := ctx.SetCustomStatus(map[string]any{"poll": poll, "status": status}); err != nil {
			return nil, err
		}
		if status == "done" {
			return poll, nil
		}
		if err := ctx.CreateTimer(50 * time.Millisecond).Await(nil); err != nil {
			return nil, err
		}
	}
	return "expired", nil
}

// transfer is a read-modify-write of two counters in a critical section.
func transfer(ctx *durable.OrchestrationContext) (any, error) {
	var in struct{ From, To string }
	if err := ctx.GetInput(&in); err != nil {
		return nil, err
	}
	a, b := durable.NewEntityID("Counter", in.From), durable.NewEntityID("Counter", in.To)
	lock, err := ctx.Lock(a, b)
	if err != nil {
		return nil, err
	}
	var x, y int
	if err := ctx.CallEntity(a, "get").Await(&x); err != nil {
		return nil, err
	}
	if err := ctx.CallEntity(b, "get").Await(&y); err != nil {
		return nil, err
	}
	if err := ctx.CreateTimer(20 * time.Millisecond).Await(nil); err != nil {
		return nil, err
	}
	if err := ctx.CallEntity(a, "set", durable.WithInput(x-1)).Await(nil); err != nil {
		return nil, err
	}
	if err := ctx.CallEntity(b, "set", durable.WithInput(y+1)).Await(nil); err != nil {
		return nil, err
	}
	lock.Release()
	return ctx.Locked() != nil, nil
}

func counter(ctx *durable.EntityContext) error {
	var n int
	if err := ctx.GetState(&n); err != nil {
		return err
	}
	switch ctx.Operation() {
	case "add":
		var d int
		if err := ctx.GetInput(&d); err != nil {
			return err
		}
		return ctx.SetState(n + d)
	case "get":
		return ctx.Return(n)
	case "set":
		var v int
		if err := ctx.GetInput(&v); err != nil {
			return err
		}
		return ctx.SetState(v)
	}
	return fmt.Errorf("Counter: no operation %q", ctx.Operation())
}
