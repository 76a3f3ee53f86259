package e2e

// End-to-end checks of Durable Functions on the embedded store, each
// pattern of the documentation, written twice: with the real
// durable-functions v3 package from npm (testdata/durablenode, installed
// by make nodeapps) and with funcd's Go SDK (testdata/durablego).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/hosttest"
	"github.com/funcd/funcd/sqlite"
)

// durableApp runs a Durable Functions test app.
func durableApp(t *testing.T, app string) (*hosttest.Server, *durable.Client, *logBuffer) {
	t.Helper()
	s, _, logs := languageHost(t, app, nil)
	e := s.Host.Durable()
	if e == nil {
		t.Fatalf("the host has no Durable Functions engine; log:\n%s", logs.String())
	}
	return s, e.Client(""), logs
}

// waitFor polls an instance until it reaches a terminal status (or status
// want) and returns it.
func waitFor(t *testing.T, c *durable.Client, id string, want durable.Status, logs *logBuffer) *durable.Instance {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		inst, err := c.Status(context.Background(), id)
		if err == nil && (inst.Status == want || inst.Status.Terminal()) {
			if inst.Status != want {
				t.Fatalf("instance %s is %s (output %s), want %s; log:\n%s", id, inst.Status, inst.Output, want, logs.String())
			}
			return inst
		}
		if time.Now().After(deadline) {
			st := "missing"
			if inst != nil {
				st = inst.Status.String()
			}
			t.Fatalf("instance %s still %s after 30s (err %v); log:\n%s", id, st, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, c *durable.Client, name, input string) string {
	t.Helper()
	id, err := c.StartNew(context.Background(), name, durable.StartOptions{Input: input})
	if err != nil {
		t.Fatalf("StartNew(%s): %v", name, err)
	}
	return id
}

func jsonEq(t *testing.T, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: %q is not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("%s = %s, want %s", what, gb, wb)
	}
}

func TestDurableNodePatterns(t *testing.T) {
	_, c, logs := durableApp(t, nodeApp(t, "durablenode"))
	durablePatterns(t, c, logs, patternOutputs{
		retry:    func(id string) string { return `"` + id + ` succeeded on attempt 3"` },
		caught:   `"caught: true"`,
		approved: `"approved: {\"by\":\"someone\"}"`,
	})
}

// criticalSection runs Transfers at once, each a read-modify-write of two
// counters under context.df.lock: none loses another's update.
func criticalSection(t *testing.T, c *durable.Client, logs *logBuffer) {
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = start(t, c, "Transfer", `{"from":"ta","to":"tb"}`)
	}
	for _, id := range ids {
		inst := waitFor(t, c, id, durable.Completed, logs)
		jsonEq(t, "output (isLocked after the release)", inst.Output, `false`)
	}
	for key, want := range map[string]string{"ta": "-8", "tb": "8"} {
		st, err := c.ReadEntity(context.Background(), durable.EntityID{Name: "Counter", Key: key})
		if err != nil || !st.Exists {
			t.Fatalf("ReadEntity(%s) = %+v, %v", key, st, err)
		}
		jsonEq(t, "counter "+key, st.State, want)
	}
}

func TestDurableGoPatterns(t *testing.T) {
	_, c, logs := durableApp(t, goApp(t, filepath.Join("testdata", "durablego")))
	durablePatterns(t, c, logs, patternOutputs{
		retry: func(id string) string {
			return `["` + id + `-a succeeded on attempt 3","` + id + `-b succeeded on attempt 3"]`
		},
		caught:   `"caught"`,
		approved: `{"by":"someone"}`,
	})
}

// patternOutputs are the outputs in which the two test apps differ.
type patternOutputs struct {
	retry            func(id string) string
	caught, approved string
}

func durablePatterns(t *testing.T, c *durable.Client, logs *logBuffer, want patternOutputs) {
	t.Run("Chain", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "Chain", ""), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
	})
	t.Run("FanOut", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "FanOut", "20"), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `420`)
	})
	t.Run("Retry", func(t *testing.T) {
		id := start(t, c, "Retry", "")
		inst := waitFor(t, c, id, durable.Completed, logs)
		jsonEq(t, "output", inst.Output, want.retry(id))
	})
	t.Run("Failing", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "Failing", ""), durable.Failed, logs)
		jsonEq(t, "customStatus", inst.CustomStatus, want.caught)
		var out string
		_ = json.Unmarshal([]byte(inst.Output), &out)
		if out == "" || !strings.Contains(out, "second") {
			t.Fatalf("output of the failed instance = %s", inst.Output)
		}
	})
	t.Run("SubOrchestration", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "Parent", ""), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `{"chain":["Hello Tokyo!","Hello Seattle!","Hello London!"],"sum":12}`)
	})
	t.Run("Eternal", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "Eternal", `{"count":0,"limit":3}`), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `3`)
	})
	t.Run("ApprovalEvent", func(t *testing.T) {
		id := start(t, c, "Approval", "60")
		eventually(t, 10*time.Second, "the orchestration waits for its approval", func() bool {
			inst, err := c.Status(context.Background(), id)
			return err == nil && inst.CustomStatus == `"waiting"`
		})
		if err := c.RaiseEvent(context.Background(), id, "Approval", `{"by":"someone"}`); err != nil {
			t.Fatal(err)
		}
		inst := waitFor(t, c, id, durable.Completed, logs)
		jsonEq(t, "output", inst.Output, want.approved)
	})
	t.Run("Monitor", func(t *testing.T) {
		id := start(t, c, "Monitor", "")
		inst := waitFor(t, c, id, durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `2`)
		jsonEq(t, "customStatus", inst.CustomStatus, `{"poll":2,"status":"done"}`)
		h, err := c.History(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		fired := 0
		for _, ev := range h {
			if ev.EventType == durable.TimerFired {
				fired++
			}
		}
		if fired != 2 {
			t.Errorf("%d timers fired, want 2", fired)
		}
	})
	t.Run("ApprovalTimeout", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "Approval", "1"), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `"timed out"`)
	})
	t.Run("Entity", func(t *testing.T) {
		inst := waitFor(t, c, start(t, c, "UseCounter", `"e1"`), durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `7`)
		st, err := c.ReadEntity(context.Background(), durable.EntityID{Name: "Counter", Key: "e1"})
		if err != nil || !st.Exists {
			t.Fatalf("ReadEntity = %+v, %v", st, err)
		}
		jsonEq(t, "entity state", st.State, `7`)
	})
	t.Run("CriticalSection", func(t *testing.T) { criticalSection(t, c, logs) })
	t.Run("RewindRetries", func(t *testing.T) {
		// The retries run out and the instance fails; rewound, it runs
		// the activity again and goes on.
		id := start(t, c, "RetryExhausted", "")
		waitFor(t, c, id, durable.Failed, logs)
		if err := c.Rewind(context.Background(), id, "fixed"); err != nil {
			t.Fatal(err)
		}
		// The rewind is a message: the instance runs again once it is
		// taken.
		eventually(t, 10*time.Second, "the rewound instance to run again", func() bool {
			inst, err := c.Status(context.Background(), id)
			return err == nil && inst.Status != durable.Failed
		})
		inst := waitFor(t, c, id, durable.Completed, logs)
		jsonEq(t, "output", inst.Output, `["`+id+` succeeded on attempt 3","Hello again!"]`)
	})
}

// A funcd killed (SIGKILL) while 200 orchestrations of 5 chained
// activities run loses none of them: restarted, it finishes every one,
// with the right output and each activity's result recorded once. The
// orchestrations the killed process held stay locked for their lease (1
// minute); the second funcd runs with its clock 2 minutes ahead
// (FUNCD_CLOCK_OFFSET, in the funcdclock test build) so that it takes them
// over at once.
func TestDurableSurvivesKill(t *testing.T) {
	const total = 200
	app := goApp(t, filepath.Join("testdata", "durablego"))
	stateDir := t.TempDir()
	var log syncBuffer
	defer func() {
		if t.Failed() {
			t.Logf("funcd output:\n%s", log.String())
		}
	}()
	first := startFuncd(t, app, stateDir, &log)

	store, err := sqlite.Open(filepath.Join(stateDir, "store"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	// A client on the same store: it starts instances without running them.
	e := durable.New(store, durable.Options{})
	e.SetFunctions(durable.Functions{Orchestrators: []string{"Chain5"}}, nil)
	c := e.Client("")
	ctx := context.Background()
	eventually(t, 2*time.Minute, "the host to take the app's durable functions", func() bool {
		return strings.Contains(log.String(), "Worker process started") || strings.Contains(log.String(), "Host started")
	})
	ids := make([]string, total)
	for i := range total {
		id, err := c.StartNew(ctx, "Chain5", durable.StartOptions{InstanceID: "chain-" + strconv.Itoa(i), Input: strconv.Itoa(i * 10)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	completed := func() int {
		page, _, err := c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(page)
	}
	eventually(t, 2*time.Minute, "some orchestrations to complete", func() bool { return completed() >= 10 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill := completed()
	if atKill >= total {
		t.Fatalf("all %d orchestrations completed before the kill; nothing was tested", total)
	}
	t.Logf("%d of %d orchestrations had completed when funcd was killed", atKill, total)

	second := startFuncd(t, app, stateDir, &log, "FUNCD_CLOCK_OFFSET=2m")
	t.Cleanup(func() {
		_ = second.Process.Signal(syscall.SIGINT)
		_ = second.Wait()
	})
	eventually(t, 3*time.Minute, "every orchestration to complete", func() bool { return completed() == total })
	for i, id := range ids {
		inst, err := c.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(i*10 + 5); inst.Status != durable.Completed || inst.Output != want {
			t.Errorf("%s: %s with output %s, want Completed with %s", id, inst.Status, inst.Output, want)
			continue
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
		if len(results) != 5 {
			t.Errorf("%s: results for %d tasks, want 5", id, len(results))
		}
		for task, n := range results {
			if n != 1 {
				t.Errorf("%s: task %d's result recorded %d times", id, task, n)
			}
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and a test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A custom handler runs durable functions too: the orchestrator gets the
// context in its Data and returns its actions (docs/DURABLE.md).
func TestDurableCustomHandler(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "handler")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/durablecustom/handler").CombinedOutput(); err != nil {
		t.Fatalf("building the handler: %v\n%s", err, out)
	}
	app := hosttest.CopyApp(t, filepath.Join("testdata", "durablecustom", "app"))
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "handler"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	s, c, logs := durableApp(t, app)
	if c.Hub() != "CustomHub" {
		t.Errorf("task hub %q, want host.json's CustomHub", c.Hub())
	}
	inst := waitFor(t, c, start(t, c, "Hello", ""), durable.Completed, logs)
	jsonEq(t, "output", inst.Output, `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
	jsonEq(t, "customStatus", inst.CustomStatus, `{"greeted":3}`)

	// The durableClient binding: the real host's shape.
	r := do(t, "POST", s.URL+"/api/Start", "")
	wantStatus(t, r, 200)
	var binding struct {
		TaskHubName    string            `json:"taskHubName"`
		CreationURLs   map[string]string `json:"creationUrls"`
		ManagementURLs map[string]string `json:"managementUrls"`
		BaseURL        string            `json:"baseUrl"`
		Required       string            `json:"requiredQueryStringParameters"`
	}
	if err := json.Unmarshal([]byte(r.body), &binding); err != nil {
		t.Fatalf("the binding %q: %v", r.body, err)
	}
	if binding.TaskHubName != "CustomHub" || binding.BaseURL != s.URL+"/runtime/webhooks/durabletask" ||
		!strings.HasPrefix(binding.Required, "code=") || binding.ManagementURLs["id"] != "INSTANCEID" ||
		!strings.Contains(binding.ManagementURLs["statusQueryGetUri"], "/instances/INSTANCEID?taskHub=CustomHub") ||
		binding.CreationURLs["createNewInstancePostUri"] == "" {
		t.Errorf("durableClient binding = %s", r.body)
	}
}

// funcd durable works on the task hub of an app whether funcd start runs or
// not: an instance started before the host runs is Pending until it does,
// and one started while it runs is picked up by it.
func TestDurableCLI(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "handler")
	if out, err := exec.Command("go", "build", "-o", bin, "./testdata/durablecustom/handler").CombinedOutput(); err != nil {
		t.Fatalf("building the handler: %v\n%s", err, out)
	}
	app := hosttest.CopyApp(t, filepath.Join("testdata", "durablecustom", "app"))
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "handler"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	funcd, err := funcdBin()
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) {
		args = append([]string{"durable", args[0], "--script-root", app, "--state-dir", stateDir}, args[1:]...)
		cmd := exec.Command(funcd, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out), errors.New(err.Error() + ": " + stderr.String())
		}
		return string(out), nil
	}
	status := func(id string) map[string]any {
		out, err := cli("get-runtime-status", "--id", id, "--show-input", "--show-output")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return m
	}

	if _, err := cli("start-new", "--function-name", "Hello", "--id", "before", "--input", `{"from": "cli"}`); err != nil {
		t.Fatal(err)
	}
	if st := status("before"); st["runtimeStatus"] != "Pending" {
		t.Fatalf("before the host runs: %v", st)
	}

	var log syncBuffer
	defer func() {
		if t.Failed() {
			t.Logf("funcd output:\n%s", log.String())
		}
	}()
	host := startFuncd(t, app, stateDir, &log)
	t.Cleanup(func() {
		_ = host.Process.Signal(syscall.SIGINT)
		_ = host.Wait()
	})
	const want = `["Hello Tokyo!","Hello Seattle!","Hello London!"]`
	done := func(id string) func() bool {
		return func() bool {
			st := status(id)
			out, _ := json.Marshal(st["output"])
			return st["runtimeStatus"] == "Completed" && string(out) == want
		}
	}
	eventually(t, 2*time.Minute, "the instance started before the host to complete", done("before"))

	if _, err := cli("start-new", "--function-name", "Hello", "--id", "while"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the instance started while the host runs to complete", done("while"))

	out, err := cli("get-history", "--id", "before")
	if err != nil {
		t.Fatal(err)
	}
	var h []map[string]any
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	activities := 0
	for _, ev := range h {
		if ev["EventType"] == "TaskCompleted" && ev["FunctionName"] == "SayHello" {
			activities++
		}
	}
	if activities != 3 || h[0]["EventType"] != "ExecutionStarted" || h[len(h)-1]["EventType"] != "ExecutionCompleted" {
		t.Errorf("history:\n%s", out)
	}
	if _, err := cli("raise-event", "--id", "before", "--event-name", "Late"); err == nil || !strings.Contains(err.Error(), "410 Gone") {
		t.Errorf("raise-event to a completed instance: %v", err)
	}
}

// A queue-triggered function starts orchestrations through its
// durableClient binding, as the durable-functions samples do.
func TestDurableNodeQueueStarter(t *testing.T) {
	s, store, logs := languageHost(t, nodeApp(t, "durablenode"), nil)
	e := s.Host.Durable()
	if e == nil {
		t.Fatalf("the host has no Durable Functions engine; log:\n%s", logs.String())
	}
	c := e.Client("")
	enqueue(t, store, "durable-starts", `{"name":"Chain","id":"from-queue-1"}`)
	enqueue(t, store, "durable-starts", `{"name":"FanOut","id":"from-queue-2","input":10}`)
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range []string{"from-queue-1", "from-queue-2"} {
		for {
			if _, err := c.Status(context.Background(), id); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the queue starter did not start %s; log:\n%s", id, logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	jsonEq(t, "output", waitFor(t, c, "from-queue-1", durable.Completed, logs).Output, `["Hello Tokyo!","Hello Seattle!","Hello London!"]`)
	jsonEq(t, "output", waitFor(t, c, "from-queue-2", durable.Completed, logs).Output, `110`)
}
