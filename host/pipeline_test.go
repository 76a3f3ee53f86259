package host

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock/clocktest"
)

// events records what happened, in order, across the test doubles.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, s)
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.log...)
}

// scriptWorker fails its first failures invocations and records every
// invocation it gets.
type scriptWorker struct {
	ev       *events
	name     string
	mu       sync.Mutex
	failures int
	invs     []*funcd.Invocation
	reply    func(*funcd.Invocation) *funcd.Result
}

func (w *scriptWorker) Start(context.Context) error { return nil }
func (w *scriptWorker) Invoke(_ context.Context, inv *funcd.Invocation) (*funcd.Result, error) {
	w.mu.Lock()
	w.invs = append(w.invs, inv)
	fail := w.failures > 0
	if fail {
		w.failures--
	}
	w.mu.Unlock()
	if fail {
		return nil, errors.New("handler failed")
	}
	if w.reply != nil {
		return w.reply(inv), nil
	}
	return &funcd.Result{}, nil
}
func (w *scriptWorker) Shutdown(context.Context) error {
	w.ev.add(w.name + ": worker stopped")
	return nil
}
func (w *scriptWorker) invocations() []*funcd.Invocation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*funcd.Invocation(nil), w.invs...)
}

// testListener is a listener double: it records its lifecycle and exposes
// the Invoker it was given.
type testListener struct {
	ev       *events
	name     string
	inv      binding.Invoker
	startErr error
}

func (l *testListener) Start(context.Context) error {
	if l.startErr != nil {
		return l.startErr
	}
	l.ev.add(l.name + ": listener started")
	return nil
}
func (l *testListener) Stop(context.Context) error {
	l.ev.add(l.name + ": listener stopped")
	return nil
}

// kit is a set of test Kinds: testTrigger (listens), testIn (reads
// "in:<name>" from the data's "name"), testOut (records writes).
type kit struct {
	ev        *events
	mu        sync.Mutex
	listeners []*testListener
	writes    []string
	startErr  error
	gen       int
}

func (k *kit) kinds() []binding.Kind {
	return []binding.Kind{
		{Type: "timerTrigger", Manual: func(context.Context, *binding.Env, *funcd.Function, *funcd.Binding, string) (binding.Event, error) {
			return binding.Event{Value: funcd.JSONValue(json.RawMessage(`{"IsPastDue":false}`))}, nil
		}},
		{
			Type: "testTrigger",
			Validate: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env) error {
				if binding.StringProperty(b, "source") == "" {
					return &funcd.ConfigError{Field: "source", Msg: "source is required", Hint: "Name the source."}
				}
				_, err := env.Connect(binding.StringProperty(b, "connection"))
				return err
			},
			Listen: func(fn *funcd.Function, b *funcd.Binding, env *binding.Env, inv binding.Invoker) (binding.Listener, error) {
				k.mu.Lock()
				defer k.mu.Unlock()
				l := &testListener{ev: k.ev, name: "gen" + itoa(k.gen), inv: inv, startErr: k.startErr}
				k.listeners = append(k.listeners, l)
				return l, nil
			},
		},
		{
			Type: "testIn",
			Read: func(_ context.Context, _ *binding.Env, _ *funcd.Function, b *funcd.Binding, data binding.Data) (funcd.Value, error) {
				var name string
				_ = json.Unmarshal(data["name"], &name)
				return funcd.StringValue("in:" + name), nil
			},
		},
		{
			Type: "testOut",
			Write: func(_ context.Context, _ *binding.Env, _ *funcd.Function, b *funcd.Binding, data binding.Data, v funcd.Value) error {
				k.mu.Lock()
				defer k.mu.Unlock()
				if string(v.Data) == "fail" {
					return errors.New("output refused")
				}
				k.writes = append(k.writes, b.Name+"="+string(v.Data))
				return nil
			},
		},
	}
}

func (k *kit) listener(i int) *testListener {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.listeners[i]
}

func (k *kit) written() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.writes...)
}

type appFiles map[string]string

func writeApp(t *testing.T, files appFiles) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const testHostJSON = `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`

// pipelineApp is an app with a test-triggered function that has an input
// and an output binding, and an HTTP function with the same.
func pipelineApp(hostJSON, retry string) appFiles {
	return appFiles{
		"host.json":           hostJSON,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}`,
		"work/function.json": `{"bindings": [
			{"type": "testTrigger", "direction": "in", "name": "item", "source": "s"},
			{"type": "testIn", "direction": "in", "name": "extra"},
			{"type": "testOut", "direction": "out", "name": "out"}
		]` + retry + `}`,
		"web/function.json": `{"bindings": [
			{"type": "httpTrigger", "direction": "in", "name": "req", "route": "web/{name}"},
			{"type": "http", "direction": "out", "name": "res"},
			{"type": "testIn", "direction": "in", "name": "extra"},
			{"type": "testOut", "direction": "out", "name": "msg"}
		]}`,
	}
}

type pipelineHost struct {
	*Host
	kit     *kit
	ev      *events
	clock   *clocktest.Fake
	workers []*scriptWorker
	mu      sync.Mutex
}

func (p *pipelineHost) worker(i int) *scriptWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers[i]
}

func startPipelineHost(t *testing.T, files appFiles, setup func(w *scriptWorker)) *pipelineHost {
	t.Helper()
	ev := &events{}
	p := &pipelineHost{kit: &kit{ev: ev}, ev: ev, clock: clocktest.New(time.Date(2024, 10, 24, 12, 0, 0, 0, time.UTC))}
	h, err := New(Config{
		ScriptRoot: writeApp(t, files),
		StateDir:   t.TempDir(),
		Logger:     slog.New(slog.DiscardHandler),
		Clock:      p.clock,
		Kinds:      p.kit.kinds(),
		Store:      fakeStore{},
		NewWorker: func(*funcd.App, WorkerOptions) (Worker, error) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.kit.mu.Lock()
			p.kit.gen++
			w := &scriptWorker{ev: ev, name: "gen" + itoa(p.kit.gen)}
			p.kit.mu.Unlock()
			if setup != nil {
				setup(w)
			}
			p.workers = append(p.workers, w)
			return w, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.Host = h
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return p
}

func queueEvent(text string) binding.Event {
	return binding.Event{
		Value: funcd.StringValue(text),
		Data:  binding.Data{"name": json.RawMessage(`"ada"`), "DequeueCount": json.RawMessage(`1`)},
	}
}

// An event goes through inputs, the worker and outputs: the worker gets
// the trigger value, the input read with the trigger's data and the data
// as Metadata; the output it returns is written.
func TestInvokerInputsWorkerOutputs(t *testing.T) {
	p := startPipelineHost(t, pipelineApp(testHostJSON, ""), func(w *scriptWorker) {
		w.reply = func(inv *funcd.Invocation) *funcd.Result {
			return &funcd.Result{Outputs: map[string]funcd.Value{"out": funcd.StringValue("done:" + string(inv.Trigger.Data))}}
		}
	})
	if err := p.kit.listener(0).inv.Invoke(context.Background(), queueEvent("hello")); err != nil {
		t.Fatal(err)
	}
	invs := p.worker(0).invocations()
	if len(invs) != 1 {
		t.Fatalf("%d invocations", len(invs))
	}
	inv := invs[0]
	if inv.Function.Name != "work" || string(inv.Trigger.Data) != "hello" || inv.Retry != nil {
		t.Errorf("invocation %+v", inv)
	}
	if v := inv.Inputs["extra"]; string(v.Data) != "in:ada" {
		t.Errorf("input = %q", v.Data)
	}
	if string(inv.Metadata["DequeueCount"]) != "1" {
		t.Errorf("metadata = %s", inv.Metadata)
	}
	if got := p.kit.written(); len(got) != 1 || got[0] != "out=done:hello" {
		t.Errorf("writes = %q", got)
	}
}

// timersWithRetryWait is the number of timers on a pipeline host's clock
// while an invocation waits to be retried: its own and the primary host
// lock's (another process holds the lease of a fakeStore: it retries).
const timersWithRetryWait = 2

// A failing function is retried on the clock with fixedDelay, the worker
// told which attempt it is and why the one before failed; after
// maxRetryCount retries the listener sees the failure.
func TestInvokerRetries(t *testing.T) {
	retry := `, "retry": {"strategy": "fixedDelay", "maxRetryCount": 2, "delayInterval": "00:00:10"}`
	p := startPipelineHost(t, pipelineApp(testHostJSON, retry), func(w *scriptWorker) { w.failures = 5 })
	done := make(chan error, 1)
	go func() { done <- p.kit.listener(0).inv.Invoke(context.Background(), queueEvent("x")) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		if err := p.clock.BlockUntil(ctx, timersWithRetryWait); err != nil {
			t.Fatal("no retry wait armed:", err)
		}
		p.clock.Advance(10 * time.Second)
	}
	if err := <-done; err == nil {
		t.Fatal("the event succeeded; want the failure after the retries")
	}
	invs := p.worker(0).invocations()
	if len(invs) != 3 {
		t.Fatalf("%d attempts, want 3", len(invs))
	}
	for i, inv := range invs {
		if inv.Retry == nil || inv.Retry.RetryCount != i || inv.Retry.MaxRetryCount != 2 {
			t.Fatalf("attempt %d: retry context %+v", i, inv.Retry)
		}
		if (i == 0) != (inv.Retry.Err == nil) {
			t.Errorf("attempt %d: Err = %v", i, inv.Retry.Err)
		}
	}
	if len(p.kit.written()) != 0 {
		t.Error("outputs written for a failed function")
	}
}

// The host.json policy applies when function.json has none; a retry that
// succeeds writes the outputs once.
func TestInvokerHostRetrySucceeds(t *testing.T) {
	hostJSON := `{"version": "2.0", "retry": {"strategy": "exponentialBackoff", "maxRetryCount": -1, "minimumInterval": "00:00:01", "maximumInterval": "00:01:00"}, "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`
	p := startPipelineHost(t, pipelineApp(hostJSON, ""), func(w *scriptWorker) {
		w.failures = 1
		w.reply = func(*funcd.Invocation) *funcd.Result {
			return &funcd.Result{Outputs: map[string]funcd.Value{"out": funcd.StringValue("ok")}}
		}
	})
	done := make(chan error, 1)
	go func() { done <- p.kit.listener(0).inv.Invoke(context.Background(), queueEvent("x")) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.clock.BlockUntil(ctx, timersWithRetryWait); err != nil {
		t.Fatal(err)
	}
	p.clock.Advance(time.Second) // the first delay is the minimum
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := p.kit.written(); len(got) != 1 || got[0] != "out=ok" {
		t.Errorf("writes = %q", got)
	}
	if inv := p.worker(0).invocations()[1]; inv.Retry.MaxRetryCount != -1 || inv.Retry.RetryCount != 1 {
		t.Errorf("retry context %+v", inv.Retry)
	}
}

// Listeners start after their generation's worker and stop before it, on
// restart and on shutdown.
func TestListenerLifecycle(t *testing.T) {
	p := startPipelineHost(t, pipelineApp(testHostJSON, ""), nil)
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !contains(p.ev.all(), "gen1: worker stopped") {
		if time.Now().After(deadline) {
			t.Fatalf("generation 1 never stopped: %q", p.ev.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := p.ev.all()
	for _, gen := range []string{"gen1", "gen2"} {
		started, stopped, worker := index(got, gen+": listener started"), index(got, gen+": listener stopped"), index(got, gen+": worker stopped")
		if started < 0 || stopped < started || worker < stopped {
			t.Errorf("%s: want listener started, listener stopped, worker stopped in order: %q", gen, got)
		}
	}
}

// A listener that cannot start puts its function in error; the rest of
// the app runs.
func TestListenerStartFailure(t *testing.T) {
	ev := &events{}
	k := &kit{ev: ev, startErr: errors.New("queue unreachable")}
	h, err := New(Config{
		ScriptRoot: writeApp(t, pipelineApp(testHostJSON, "")), StateDir: t.TempDir(),
		Kinds: k.kinds(), Store: fakeStore{},
		NewWorker: func(*funcd.App, WorkerOptions) (Worker, error) { return &scriptWorker{ev: ev}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	g := h.Current()
	if g.Function("work") != nil {
		t.Error("the function whose listener failed is still indexed")
	}
	if g.Function("web") == nil {
		t.Error("the HTTP function left the index")
	}
	fn := g.App.Function("work")
	if len(fn.Errors) != 1 || !strings.Contains(fn.Errors[0].Msg, "queue unreachable") || fn.Errors[0].File != "work/function.json" {
		t.Errorf("errors = %v", fn.Errors)
	}
}

// A Kind's validation error becomes the function's error, located in
// function.json; a missing connection setting names the setting and the
// fix.
func TestValidationErrors(t *testing.T) {
	files := pipelineApp(testHostJSON, "")
	files["work/function.json"] = "{\"bindings\": [\n  {\"type\": \"testTrigger\", \"direction\": \"in\", \"name\": \"item\"}\n]}"
	files["conn/function.json"] = "{\"bindings\": [\n  {\"type\": \"testTrigger\", \"direction\": \"in\", \"name\": \"item\", \"source\": \"s\",\n   \"connection\": \"Other\"}\n]}"
	files["local.settings.json"] = `{"IsEncrypted": false, "Values": {}}`
	ev := &events{}
	k := &kit{ev: ev}
	h, err := New(Config{
		ScriptRoot: writeApp(t, files), StateDir: t.TempDir(), Kinds: k.kinds(), Store: fakeStore{},
		NewWorker: func(*funcd.App, WorkerOptions) (Worker, error) { return &scriptWorker{ev: ev}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	g := h.Current()
	e := g.App.Function("work").Errors
	if len(e) != 1 || e[0].File != "work/function.json" || e[0].Field != "bindings[0].source" || e[0].Line != 2 || e[0].Column != 3 || e[0].Hint != "Name the source." {
		t.Errorf("work errors = %+v", e)
	}
	e = g.App.Function("conn").Errors
	if len(e) != 1 || e[0].Field != "bindings[0].connection" || e[0].Line != 3 || !strings.Contains(e[0].Msg, "'Other'") {
		t.Errorf("conn errors = %+v", e)
	}
	if g.Function("work") != nil || g.Function("conn") != nil || g.Function("web") == nil {
		t.Error("functions in error were indexed, or the HTTP one was not")
	}
}

// An HTTP function reads its inputs with its route parameters and writes
// its outputs after the worker succeeds; a failed write fails the request.
func TestHTTPFunctionBindings(t *testing.T) {
	p := startPipelineHost(t, pipelineApp(testHostJSON, ""), func(w *scriptWorker) {
		w.reply = func(inv *funcd.Invocation) *funcd.Result {
			return &funcd.Result{Outputs: map[string]funcd.Value{"msg": inv.Inputs["extra"]}, HTTP: &funcd.HTTPResponse{Status: 200}}
		}
	})
	g, err := p.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer g.Release()
	fn, params, ok := g.MatchHTTP("GET", "/api/web/grace")
	if !ok {
		t.Fatal("no route")
	}
	inv := &funcd.Invocation{ID: funcd.NewGUID(), Function: fn, HTTP: &funcd.HTTPRequest{Method: "GET", Params: params}}
	if _, err := g.Invoke(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if got := p.kit.written(); len(got) != 1 || got[0] != "msg=in:grace" {
		t.Errorf("writes = %q", got)
	}
	p.worker(0).reply = func(*funcd.Invocation) *funcd.Result {
		return &funcd.Result{Outputs: map[string]funcd.Value{"msg": funcd.StringValue("fail")}}
	}
	if _, err := g.Invoke(context.Background(), &funcd.Invocation{ID: funcd.NewGUID(), Function: fn, HTTP: &funcd.HTTPRequest{Method: "GET", Params: params}}); err == nil {
		t.Error("a failed output write did not fail the invocation")
	}
}

// Admin invocations run once, without retries: a timer gets its Kind's
// Manual event; another trigger gets the input as its value.
func TestInvokeManual(t *testing.T) {
	files := pipelineApp(testHostJSON, `, "retry": {"strategy": "fixedDelay", "maxRetryCount": 3, "delayInterval": "00:00:10"}`)
	files["tick/function.json"] = `{"bindings": [{"type": "timerTrigger", "direction": "in", "name": "t", "schedule": "0 */5 * * * *"}]}`
	p := startPipelineHost(t, files, func(w *scriptWorker) { w.failures = 1 })
	g, _ := p.Acquire()
	defer g.Release()
	if err := g.InvokeManual(context.Background(), g.App.Function("work"), "hi"); err == nil {
		t.Error("the failing admin invocation succeeded: was it retried?")
	}
	if err := g.InvokeManual(context.Background(), g.App.Function("tick"), "ignored"); err != nil {
		t.Fatal(err)
	}
	invs := p.worker(0).invocations()
	if len(invs) != 2 {
		t.Fatalf("%d invocations, want 2 (no retries)", len(invs))
	}
	if invs[0].Retry != nil || string(invs[0].Trigger.Data) != "hi" || string(invs[0].Metadata["TestTrigger"]) != `"hi"` {
		t.Errorf("work invocation %+v", invs[0])
	}
	if got := string(invs[1].Trigger.Data); got != `{"IsPastDue":false}` {
		t.Errorf("timer value %s, want the Kind's Manual event", got)
	}
}

func contains(s []string, v string) bool { return index(s, v) >= 0 }

func index(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}
