package grpcworker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/worker"
)

// fakeBin is the scripted worker (testdata/fakeworker), built once.
var fakeBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "grpcworker-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeBin = filepath.Join(dir, "fakeworker")
	cmd := exec.Command("go", "build", "-o", fakeBin, "./testdata/fakeworker")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the fake worker:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// env is a Worker running the fake worker, with everything it says
// captured.
type env struct {
	t   *testing.T
	w   *Worker
	cfg Config

	mu    sync.Mutex
	lines []string
	logs  []Log
	rec   bytes.Buffer // the Worker's own records
}

func newEnv(t *testing.T, script string, opts ...func(*Config)) *env {
	t.Helper()
	e := &env{t: t}
	e.cfg = Config{
		Path:            fakeBin,
		Env:             append(os.Environ(), "FAKEWORKER_SCRIPT="+script),
		HostVersion:     "4.1040.0.0",
		Capabilities:    map[string]string{"MultiStream": "true"},
		WorkerDirectory: "/workers/fake",
		AppDirectory:    "/app",
		StartTimeout:    20 * time.Second,
		TerminateGrace:  3 * time.Second,
		Backoff:         10 * time.Millisecond,
		MaxBackoff:      10 * time.Millisecond,
		OnLog: func(l Log) {
			e.mu.Lock()
			e.logs = append(e.logs, l)
			e.mu.Unlock()
		},
		Output: func(_ *worker.Process, _ worker.Stream, line string) {
			e.mu.Lock()
			e.lines = append(e.lines, line)
			e.mu.Unlock()
		},
		Logger: slog.New(slog.NewTextHandler(lockedWriter{e}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&e.cfg)
	}
	w, err := New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.w = w
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	return e
}

type lockedWriter struct{ e *env }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.e.mu.Lock()
	defer l.e.mu.Unlock()
	return l.e.rec.Write(p)
}

func (e *env) start() {
	e.t.Helper()
	if err := e.w.Start(e.t.Context()); err != nil {
		e.t.Fatalf("Start = %v\noutput:\n%s", err, e.output())
	}
}

func (e *env) output() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, "\n")
}

func (e *env) records() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rec.String()
}

// eventually polls cond for up to 10 seconds.
func (e *env) eventually(cond func() bool, format string, args ...any) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf(format+"\noutput:\n%s\nrecords:\n%s", append(args, e.output(), e.records())...)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) waitOutput(substr string) {
	e.t.Helper()
	e.eventually(func() bool { return strings.Contains(e.output(), substr) }, "no output line with %q", substr)
}

func str(s string) *TypedData { return &TypedData{Data: &TypedDataString{String_: s}} }

func invocation(id, function string, input *TypedData) *InvocationRequest {
	return &InvocationRequest{
		InvocationId: id,
		FunctionId:   "id-" + function,
		InputData:    []*ParameterBinding{{Name: "in", RpcData: &ParameterBindingData{Data: input}}},
		TriggerMetadata: map[string]*TypedData{
			"meta": {Data: &TypedDataJSON{Json: `{"DequeueCount":1}`}},
		},
	}
}

// TestNormalFlow: the handshake (flags, StartStream, init, indexing,
// loads), invocations correlated by id with their logs, a status ping, and
// WorkerTerminate at shutdown.
func TestNormalFlow(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	e.waitOutput("event: init host_version=4.1040.0.0 app=/app worker_dir=/workers/fake capabilities=map[MultiStream:true]")

	fns, err := e.w.Functions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Function{}
	for _, f := range fns {
		byName[f.Metadata.GetName()] = f
	}
	if len(fns) != 9 || byName["echo"].Err != nil || byName["echo"].Metadata.GetFunctionId() != "id-echo" ||
		len(byName["echo"].Metadata.GetRawBindings()) != 1 {
		t.Fatalf("Functions = %v", fns)
	}
	if err := byName["failload"].Err; err == nil || !strings.Contains(err.Error(), "cannot load failload") {
		t.Errorf("failload: Err = %v", err)
	}
	if err := byName["badindex"].Err; err == nil || !strings.Contains(err.Error(), "no trigger") {
		t.Errorf("badindex: Err = %v", err)
	}
	if strings.Contains(e.output(), "event: load badindex") {
		t.Error("a function that failed indexing was loaded")
	}
	caps, md, err := e.w.Capabilities(t.Context())
	if err != nil || caps["WorkerStatus"] != "true" || md.GetRuntimeName() != "fake" {
		t.Errorf("Capabilities = %v, %v, %v", caps, md, err)
	}

	resp, err := e.w.Invoke(t.Context(), invocation("inv-1", "echo", str("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetInvocationId() != "inv-1" || resp.GetResult().GetStatus() != StatusSuccess ||
		resp.GetReturnValue().GetString_() != "hello" ||
		resp.GetOutputData()[0].GetData().GetJson() != `{"DequeueCount":1}` {
		t.Errorf("response = %v", resp)
	}
	e.mu.Lock()
	logs := append([]Log(nil), e.logs...)
	e.mu.Unlock()
	if len(logs) != 2 || logs[0].Message != "worker started" || !logs[0].System || logs[0].InvocationID != "" {
		t.Fatalf("logs = %+v", logs)
	}
	if l := logs[1]; l.InvocationID != "inv-1" || l.Message != "echoing" || l.System ||
		l.Level != slog.LevelWarn || l.Category != "echo.Invocation" || l.Pid == 0 {
		t.Errorf("invocation log = %+v", l)
	}

	// Many at once, each answered with its own.
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			id := fmt.Sprintf("inv-many-%d", i)
			r, err := e.w.Invoke(t.Context(), invocation(id, "echo", str(id)))
			if err != nil || r.GetInvocationId() != id || r.GetReturnValue().GetString_() != id {
				t.Errorf("%s: %v, %v", id, r, err)
			}
		})
	}
	wg.Wait()

	if _, err := e.w.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v", err)
	}

	start := time.Now()
	if err := e.w.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v: the worker did not exit on WorkerTerminate", d)
	}
	e.waitOutput("event: terminate 3s")
	if _, err := e.w.Invoke(t.Context(), invocation("inv-2", "echo", str("x"))); !errors.Is(err, ErrShutdown) {
		t.Errorf("Invoke after Shutdown = %v", err)
	}
}

// TestCrashMidInvocation: the invocation in flight fails with the stream's
// end, and the Supervisor starts a new worker that serves.
func TestCrashMidInvocation(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	first := e.w.Health().Pid

	_, err := e.w.Invoke(t.Context(), invocation("inv-crash", "crash", str("x")))
	var closed *StreamClosedError
	if !errors.As(err, &closed) || !strings.Contains(err.Error(), "inv-crash") || closed.Pid != first {
		t.Fatalf("Invoke of a crashing worker = %v, want a *StreamClosedError naming the invocation", err)
	}
	e.eventually(func() bool {
		r, err := e.w.Invoke(t.Context(), invocation("inv-after", "echo", str("again")))
		return err == nil && r.GetReturnValue().GetString_() == "again"
	}, "no invocation succeeded after the crash")
	if h := e.w.Health(); h.Restarts < 1 || h.Pid == first || !strings.Contains(h.LastFailure, "code 3") {
		t.Errorf("Health after the crash = %+v", h)
	}
}

// TestWaitReady: while a crashed worker's replacement waits out its
// backoff, Invoke fails at once with the *worker.DownError, and WaitReady
// with a long enough wait returns once the replacement is ready, for the
// invocation to run on it.
func TestWaitReady(t *testing.T) {
	e := newEnv(t, "normal", func(c *Config) { c.Backoff, c.MaxBackoff = 500*time.Millisecond, 500*time.Millisecond })
	e.start()
	first := e.w.Health().Pid
	if _, err := e.w.Invoke(t.Context(), invocation("inv-crash", "crash", str("x"))); err == nil {
		t.Fatal("Invoke of a crashing worker succeeded")
	}
	e.eventually(func() bool { return e.w.Health().Phase == worker.PhaseDown }, "the worker is not down after its crash")
	var down *worker.DownError
	if r, err := e.w.Invoke(t.Context(), invocation("inv-down", "echo", str("x"))); !errors.As(err, &down) || down.Failures != 1 {
		t.Fatalf("Invoke while down = %v, %v; want a *worker.DownError", r, err)
	}
	if err := e.w.WaitReady(t.Context(), 100*time.Millisecond); !errors.As(err, &down) {
		t.Fatalf("WaitReady(100ms) before a restart 500ms off = %v, want a *worker.DownError", err)
	}
	if err := e.w.WaitReady(t.Context(), 5*time.Second); err != nil {
		t.Fatalf("WaitReady(5s) = %v", err)
	}
	r, err := e.w.Invoke(t.Context(), invocation("inv-next", "echo", str("again")))
	if err != nil || r.GetReturnValue().GetString_() != "again" {
		t.Fatalf("Invoke after WaitReady = %v, %v; want it to run on the replacement", r, err)
	}
	if h := e.w.Health(); h.Pid == first || h.Restarts != 1 {
		t.Errorf("Health after the invocation = %+v, want a replacement of pid %d", h, first)
	}
}

// TestInvokeRightAfterHangUp: an invocation sent as soon as a worker's
// stream has ended, before its process is gone, is not sent down the dead
// stream: it waits for the process to go, then fails as any invocation
// does while the worker is down, or runs on the replacement.
func TestInvokeRightAfterHangUp(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	first := e.w.Health().Pid
	if _, err := e.w.Invoke(t.Context(), invocation("inv-hangup", "hangup", str("x"))); err == nil {
		t.Fatal("Invoke of a worker that hangs up succeeded")
	}
	_, err := e.w.Invoke(t.Context(), invocation("inv-next", "echo", str("again")))
	var closed *StreamClosedError
	var down *worker.DownError
	if err != nil && (errors.As(err, &closed) || !errors.As(err, &down)) {
		t.Fatalf("Invoke right after the hang-up = %v; want a *worker.DownError or success", err)
	}
	if err := e.w.WaitReady(t.Context(), 5*time.Second); err != nil {
		t.Fatalf("WaitReady after the hang-up = %v", err)
	}
	if h := e.w.Health(); h.Pid == first {
		t.Errorf("Health after the hang-up = %+v, want a replacement of pid %d", h, first)
	}
}

// TestRestart: Restart replaces the worker without counting a failure; the
// invocation in flight fails and the new worker serves.
func TestRestart(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	first := e.w.Health().Pid
	done := make(chan error, 1)
	go func() {
		_, err := e.w.Invoke(t.Context(), invocation("inv-slow", "slow", str("x")))
		done <- err
	}()
	e.eventually(func() bool {
		c, err := e.w.current(t.Context())
		if err != nil {
			return false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.invocations["inv-slow"] != nil
	}, "the invocation was not sent")
	e.w.Restart("function timeout")
	var closed *StreamClosedError
	if err := <-done; !errors.As(err, &closed) {
		t.Fatalf("the invocation in flight = %v, want a *StreamClosedError", err)
	}
	e.eventually(func() bool {
		_, err := e.w.Invoke(t.Context(), invocation("inv-next", "echo", str("x")))
		return err == nil && e.w.Health().Pid != first
	}, "no new worker served after Restart")
	if h := e.w.Health(); h.Failures != 0 {
		t.Errorf("Health after Restart = %+v, want no failure", h)
	}
}

// TestUnknownInvocation: a response for an invocation the host did not
// send is logged and ignored; an unexpected message too.
func TestUnknownInvocation(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	r, err := e.w.Invoke(t.Context(), invocation("inv-g", "garbage", str("x")))
	if err != nil || r.GetInvocationId() != "inv-g" {
		t.Fatalf("Invoke = %v, %v", r, err)
	}
	e.eventually(func() bool {
		return strings.Contains(e.records(), "unknown invocation") &&
			strings.Contains(e.records(), "invocation_id=no-such-invocation")
	}, "the stray response was not logged")
	e.eventually(func() bool { return strings.Contains(e.records(), "message=WorkerHeartbeat") },
		"the unexpected heartbeat was not logged")
	if _, err := e.w.Invoke(t.Context(), invocation("inv-g2", "echo", str("x"))); err != nil {
		t.Errorf("the worker does not serve after a stray response: %v", err)
	}
}

// TestJunkMessages: a message with no content, a second StartStream and a
// FunctionLoadResponse for a function the host never loaded are logged,
// naming the message, and ignored; the same worker keeps serving.
func TestJunkMessages(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	first := e.w.Health().Pid
	r, err := e.w.Invoke(t.Context(), invocation("inv-j", "junk", str("x")))
	if err != nil || r.GetInvocationId() != "inv-j" || r.GetResult().GetStatus() != StatusSuccess {
		t.Fatalf("Invoke = %v, %v", r, err)
	}
	for _, want := range []string{
		"a StreamingMessage with no content",
		"message=StartStream",
		"message=FunctionLoadResponse",
		"function_id=no-such-function",
	} {
		e.eventually(func() bool { return strings.Contains(e.records(), want) }, "no record with %q", want)
	}
	if _, err := e.w.Invoke(t.Context(), invocation("inv-j2", "echo", str("x"))); err != nil {
		t.Errorf("the worker does not serve after junk: %v", err)
	}
	if h := e.w.Health(); h.Pid != first || h.Restarts != 0 {
		t.Errorf("Health after junk = %+v, want the same worker", h)
	}
}

// TestHangUp: a worker that closes its stream mid-invocation but keeps
// running fails the invocation at once; it is killed and a new one serves.
func TestHangUp(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	first := e.w.Health().Pid
	start := time.Now()
	_, err := e.w.Invoke(t.Context(), invocation("inv-hangup", "hangup", str("x")))
	var closed *StreamClosedError
	if !errors.As(err, &closed) || closed.Pid != first || !strings.Contains(err.Error(), "inv-hangup") ||
		!strings.Contains(err.Error(), "closed its stream: the worker ended it") {
		t.Fatalf("Invoke of a worker that hangs up = %v, want a *StreamClosedError naming the invocation", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the invocation failed after %v", d)
	}
	e.eventually(func() bool {
		r, err := e.w.Invoke(t.Context(), invocation("inv-after", "echo", str("again")))
		return err == nil && r.GetReturnValue().GetString_() == "again"
	}, "no invocation succeeded after the hang-up")
	if !strings.Contains(e.records(), "Language worker closed its stream; restarting it") {
		t.Errorf("the hung-up worker was not killed:\n%s", e.records())
	}
	if h := e.w.Health(); h.Restarts < 1 || h.Pid == first {
		t.Errorf("Health after the hang-up = %+v", h)
	}
}

// TestNeverConnects: a worker that never opens its stream fails the start
// with an error naming the executable.
func TestNeverConnects(t *testing.T) {
	// The worker with a wrong id must have time to start and connect, even
	// on a busy machine, for its stream to be refused and logged.
	for script, timeout := range map[string]time.Duration{"never": 300 * time.Millisecond, "wrongid": 3 * time.Second} {
		t.Run(script, func(t *testing.T) {
			e := newEnv(t, script, func(c *Config) { c.StartTimeout = timeout })
			err := e.w.Start(t.Context())
			var ce *ConnectError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), fakeBin) ||
				!strings.Contains(err.Error(), "did not connect to the host within "+timeout.String()) {
				t.Fatalf("Start = %v, want a *ConnectError naming %s", err, fakeBin)
			}
			if script == "wrongid" && !strings.Contains(e.records(), "worker id the host did not launch") {
				t.Errorf("the stream with a wrong worker id was not logged:\n%s", e.records())
			}
		})
	}
}

// TestSilentWorker: a worker that connects but never answers its
// WorkerInitRequest fails the start after StartTimeout.
func TestSilentWorker(t *testing.T) {
	e := newEnv(t, "silent", func(c *Config) { c.StartTimeout = 300 * time.Millisecond })
	err := e.w.Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "did not initialise within 300ms") ||
		!strings.Contains(err.Error(), "WorkerInitRequest") || !strings.Contains(err.Error(), fakeBin) {
		t.Fatalf("Start = %v", err)
	}
}

// TestInitFailure: a failed WorkerInitResponse fails the start with the
// worker's message.
func TestInitFailure(t *testing.T) {
	e := newEnv(t, "initfail")
	err := e.w.Start(t.Context())
	var fe *FailureError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "WorkerInitRequest failed: cannot load the app: boom") {
		t.Fatalf("Start = %v", err)
	}
}

// TestHostIndexing: a worker that asks the host to index gets the host's
// functions loaded.
func TestHostIndexing(t *testing.T) {
	e := newEnv(t, "noindex", func(c *Config) {
		c.Functions = []*FunctionMetadata{{Name: "echo", FunctionId: "id-echo", ScriptFile: "index.js"}}
	})
	e.start()
	e.waitOutput("event: load echo id-echo")
	if r, err := e.w.Invoke(t.Context(), invocation("inv-h", "echo", str("hi"))); err != nil || r.GetReturnValue().GetString_() != "hi" {
		t.Errorf("Invoke = %v, %v", r, err)
	}
}

// TestCancel: when the invocation's context ends the worker gets an
// InvocationCancel, and its late answer is ignored.
func TestCancel(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := e.w.Invoke(ctx, invocation("inv-slow", "slow", str("x")))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Invoke = %v", err)
	}
	e.waitOutput("event: cancel inv-slow")
	e.eventually(func() bool { return strings.Contains(e.records(), "invocation_id=inv-slow") },
		"the answer after the cancel was not logged")
}

// TestMessageLimit: a request over the limit is refused before it is sent;
// a reply over it ends the stream, and a new worker starts.
func TestMessageLimit(t *testing.T) {
	e := newEnv(t, "normal", func(c *Config) { c.MaxMessageBytes = 1 << 20 })
	e.start()
	_, err := e.w.Invoke(t.Context(), invocation("inv-big", "echo", str(strings.Repeat("x", 2<<20))))
	var tl *MessageTooLargeError
	if !errors.As(err, &tl) || tl.Limit != 1<<20 || !strings.Contains(err.Error(), "InvocationRequest is") {
		t.Fatalf("Invoke of a large request = %v", err)
	}
	if _, err := e.w.Invoke(t.Context(), invocation("inv-small", "echo", str("x"))); err != nil {
		t.Fatalf("Invoke after a refused one = %v", err)
	}
	first := e.w.Health().Pid
	_, err = e.w.Invoke(t.Context(), invocation("inv-huge", "huge", str("x")))
	var closed *StreamClosedError
	if !errors.As(err, &closed) || !strings.Contains(err.Error(), "over the gRPC message limit of 1048576 bytes") ||
		!strings.Contains(err.Error(), "inv-huge") {
		t.Fatalf("Invoke with a reply over the limit = %v", err)
	}
	e.eventually(func() bool {
		_, err := e.w.Invoke(t.Context(), invocation("inv-next", "echo", str("x")))
		return err == nil && e.w.Health().Pid != first
	}, "no new worker served after the stream ended")
}

// TestShutdownLeavesNothing: after Shutdown no goroutine of the Worker is
// left, the process is gone, and the port is closed.
func TestShutdownLeavesNothing(t *testing.T) {
	base := runtime.NumGoroutine()
	e := newEnv(t, "normal")
	e.start()
	if _, err := e.w.Invoke(t.Context(), invocation("inv-1", "echo", str("x"))); err != nil {
		t.Fatal(err)
	}
	addr := e.w.Addr()
	if err := e.w.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := e.w.Shutdown(t.Context()); err != nil {
		t.Errorf("second Shutdown = %v", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		_ = c.Close()
		t.Errorf("the gRPC port %s still accepts connections", addr)
	}
	e.eventually(func() bool { return runtime.NumGoroutine() <= base }, "goroutines: %d, before: %d", runtime.NumGoroutine(), base)
}

// TestExpect: an expected invocation takes an InvocationResponse that
// comes on the stream without a request sent there, ends with its context
// (the worker gets an InvocationCancel), and once released is no longer
// answered.
func TestExpect(t *testing.T) {
	e := newEnv(t, "normal")
	e.start()
	type outcome struct {
		resp *InvocationResponse
		err  error
	}

	// The "garbage" function answers for "no-such-invocation" too.
	got := make(chan outcome, 1)
	if _, err := e.w.Expect(t.Context(), "no-such-invocation", func(r *InvocationResponse, err error) { got <- outcome{r, err} }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Invoke(t.Context(), invocation("inv-e", "garbage", str("x"))); err != nil {
		t.Fatal(err)
	}
	select {
	case o := <-got:
		if o.err != nil || o.resp.GetInvocationId() != "no-such-invocation" {
			t.Errorf("expected invocation got %v, %v", o.resp, o.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the expected invocation's response did not arrive")
	}

	// A second registration of a running id is refused.
	release, err := e.w.Expect(t.Context(), "inv-twice", func(*InvocationResponse, error) { t.Error("a released invocation was answered") })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.w.Expect(t.Context(), "inv-twice", func(*InvocationResponse, error) {}); err == nil {
		t.Error("the same invocation id expected twice")
	}
	if !release() || release() {
		t.Error("release: want true once, then false")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	ended := make(chan error, 1)
	if _, err := e.w.Expect(ctx, "inv-expected", func(_ *InvocationResponse, err error) { ended <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-ended; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("an expected invocation whose context ended: %v", err)
	}
	e.waitOutput("event: cancel inv-expected")
}
