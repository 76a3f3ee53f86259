package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/postgres/pgtest"
)

// durableApp creates an app with an orchestrator Hello, an activity
// SayHello and an orchestrator Fails, in the task hub hub (host.json
// extensions.durableTask.hubName; none when empty).
func durableApp(t *testing.T, hub string) string {
	t.Helper()
	dir := newApp(t)
	writeFunction(t, dir, "Hello", "orchestrationTrigger", "context")
	writeFunction(t, dir, "Fails", "orchestrationTrigger", "context")
	writeFunction(t, dir, "SayHello", "activityTrigger", "name")
	if hub != "" {
		var hj map[string]any
		b, err := os.ReadFile(filepath.Join(dir, "host.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &hj); err != nil {
			t.Fatal(err)
		}
		hj["extensions"] = map[string]any{"durableTask": map[string]any{"hubName": hub}}
		writeJSON(t, filepath.Join(dir, "host.json"), hj)
	}
	return dir
}

func writeFunction(t *testing.T, dir, name, trigger, param string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	writeJSON(t, filepath.Join(dir, name, "function.json"), map[string]any{
		"bindings": []any{map[string]any{"name": param, "type": trigger, "direction": "in"}},
	})
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// status runs get-runtime-status with input and output and decodes it.
func status(t *testing.T, dir, id string) map[string]any {
	t.Helper()
	out := mustRun(t, "durable", "get-runtime-status", "--script-root", dir, "--id", id, "--show-input", "--show-output")
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("get-runtime-status printed no JSON object: %v\n%s", err, out)
	}
	return m
}

func TestDurableStartNewLeavesPendingInstance(t *testing.T) {
	dir := durableApp(t, "OrdersHub")
	in := filepath.Join(t.TempDir(), "input.json")
	if err := os.WriteFile(in, []byte(`{"cities": ["Tokyo", "Seattle"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "durable", "start-new", "--script-root", dir, "--function-name", "hello", "--input", "@"+in, "--id", "order-42")
	if code != 0 {
		t.Fatalf("start-new: exit %d\n%s%s", code, out, errOut)
	}
	wantContains(t, out, "Started 'hello' at ", "Instance ID: 'order-42'.")
	wantContains(t, errOut, "Task hub OrdersHub in the embedded store at ")

	st := status(t, dir, "order-42")
	if st["name"] != "hello" || st["instanceId"] != "order-42" || st["runtimeStatus"] != "Pending" {
		t.Errorf("status = %v, want hello, order-42, Pending", st)
	}
	if b, _ := json.Marshal(st["input"]); string(b) != `{"cities":["Tokyo","Seattle"]}` {
		t.Errorf("input = %s", b)
	}
	for _, k := range []string{"customStatus", "output", "createdTime", "lastUpdatedTime"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status lacks %q: %v", k, st)
		}
	}
	if ct, _ := st["createdTime"].(string); !strings.HasSuffix(ct, "Z") || len(ct) != len("2026-01-01T00:00:00Z") {
		t.Errorf("createdTime = %q, want whole seconds in UTC", ct)
	}
	// Core Tools' way of writing the switches.
	out = mustRun(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "order-42", "--show-input", "true", "--show-output", "false")
	wantContains(t, out, `"cities": [`)
	out = mustRun(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "order-42", "--show-input", "False")
	wantContains(t, out, `"input": null`)
	// Without --show-input the input is null, as in Core Tools.
	out = mustRun(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "order-42")
	wantContains(t, out, `"input": null`)

	// The instance is in the hub host.json names, where funcd start's
	// engine will find its start message.
	d, err := host.OpenDurable(context.Background(), host.Config{ScriptRoot: dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Hub != "OrdersHub" {
		t.Errorf("hub = %q, want OrdersHub", d.Hub)
	}
	inst, err := d.Backend.GetInstance(context.Background(), "OrdersHub", "order-42")
	if err != nil {
		t.Fatal(err)
	}
	if inst.Status != durable.Pending || inst.Input != `{"cities": ["Tokyo", "Seattle"]}` {
		t.Errorf("stored instance = %+v", inst)
	}
	if _, err := d.Backend.GetInstance(context.Background(), durable.DefaultHub, "order-42"); err == nil {
		t.Errorf("the instance is in %s too", durable.DefaultHub)
	}

	// A random id when none is given.
	out = mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--input", `"Tokyo"`)
	wantContains(t, out, "Started 'Hello' at ")
	out = mustRun(t, "durable", "get-instances", "--script-root", dir)
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("get-instances: %v\n%s", err, out)
	}
}

func TestDurableStartNewErrors(t *testing.T) {
	dir := durableApp(t, "")
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"a": }`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func(args ...string) []string {
		return append([]string{"durable", "start-new", "--script-root", dir}, args...)
	}
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{start("--function-name", "Nope"), []string{"the function 'Nope' doesn't exist, is disabled, or is not an orchestrator function", "Fails, Hello", "--unchecked"}},
		{start("--function-name", "SayHello"), []string{"'SayHello'", "not an orchestrator function"}},
		{start("--function-name", "Hello", "--input", "Tokyo"), []string{"--input: the value is not JSON", `'"Tokyo"' (a string, quoted)`}},
		{start("--function-name", "Hello", "--input", "@"+bad), []string{"--input: the file " + bad + " is not JSON", "at byte"}},
		{start("--function-name", "Hello", "--input", "@/no/such/file.json"), []string{"could not find input file at '/no/such/file.json'"}},
		{start("--function-name", "Hello", "--id", "a/b"), []string{"--id: instance id \"a/b\" must not contain '/'"}},
		{start("--function-name", "Hello", "--id", "@x"), []string{"must not start with '@'"}},
		{start(), []string{`required flag(s) "function-name" not set`}},
	} {
		wantContains(t, mustFail(t, tc.args...), tc.wants...)
	}
	mustRun(t, start("--function-name", "Hello", "--id", "same")...)
	wantContains(t, mustFail(t, start("--function-name", "Hello", "--id", "same")...),
		"an instance with id 'same' already exists and is Pending", "409 Conflict")
	// Nothing was started by the failures.
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "durable", "get-instances", "--script-root", dir)), &list); err != nil || len(list) != 1 {
		t.Errorf("instances after the failures: %v %v", list, err)
	}
	// --unchecked starts any name.
	out := mustRun(t, start("--function-name", "Elsewhere", "--unchecked", "--id", "u1")...)
	wantContains(t, out, "Started 'Elsewhere'")
	if st := status(t, dir, "u1"); st["runtimeStatus"] != "Pending" {
		t.Errorf("status = %v", st)
	}
}

func TestDurableAppWithoutDurableFunctions(t *testing.T) {
	dir := newApp(t, "web")
	wantContains(t, mustFail(t, "durable", "get-instances", "--script-root", dir), "has no Durable Functions", "--task-hub-name")
	wantContains(t, mustFail(t, "durable", "start-new", "--script-root", dir, "--function-name", "web"), "has no Durable Functions")
	// A hub named on the command line is used anyway.
	out := mustRun(t, "durable", "get-instances", "--script-root", dir, "--task-hub-name", "OtherHub")
	wantContains(t, out, "[]")
}

func TestDurableWorkerIndexedApp(t *testing.T) {
	dir := newApp(t) // no function folders: a worker would index them
	wantContains(t, mustFail(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello"),
		"cannot check that 'Hello' is an orchestrator function", "--unchecked")
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--unchecked", "--id", "w1")
	if st := status(t, dir, "w1"); st["runtimeStatus"] != "Pending" {
		t.Errorf("status = %v", st)
	}
}

func TestDurableStoreSetting(t *testing.T) {
	dir := durableApp(t, "")
	wantContains(t, mustFail(t, "durable", "get-instances", "--script-root", dir, "--connection-string-setting", "NoSuchSetting"),
		"NoSuchSetting is not set")
	// AzureWebJobsStorage is UseDevelopmentStorage=true: the embedded store.
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "s1",
		"--connection-string-setting", "AzureWebJobsStorage")
	status(t, dir, "s1")
}

// runEngine runs the app's durable functions in-process on its store until
// the instances reach the statuses want: Hello calls SayHello once and
// returns its result; Fails fails.
func runEngine(t *testing.T, dir string, want map[string]durable.Status) {
	t.Helper()
	ctx := context.Background()
	d, err := host.OpenDurable(ctx, host.Config{ScriptRoot: dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e := durable.New(d.Backend, durable.Options{Hub: d.Hub})
	e.SetFunctions(d.Functions, testExecutor{})
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	c := e.Client("")
	deadline := time.Now().Add(20 * time.Second)
	for id, st := range want {
		for {
			inst, err := c.Status(ctx, id)
			if err == nil && inst.Status == st {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance %s: %+v, %v; want %s", id, inst, err, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

type testExecutor struct{}

func (testExecutor) Orchestrate(_ context.Context, name string, payload []byte) ([]byte, error) {
	var p durable.OrchestrationPayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	st := durable.OrchestratorState{SchemaVersion: json.RawMessage("2")}
	if name == "Fails" {
		st.IsDone, st.Error = true, "boom"
		return json.Marshal(st)
	}
	st.Actions = [][]durable.Action{{{ActionType: durable.CallActivity, FunctionName: "SayHello", Input: json.RawMessage(`"Tokyo"`)}}}
	for _, ev := range p.History {
		if ev.EventType == durable.TaskCompleted {
			st.IsDone, st.Output = true, json.RawMessage(*ev.Result)
		}
	}
	return json.Marshal(st)
}

func (testExecutor) Activity(_ context.Context, name, _, input string) (string, error) {
	return `"Hello ` + strings.Trim(input, `"`) + `!"`, nil
}

func (testExecutor) Entity(context.Context, string, []byte) ([]byte, error) { return nil, nil }

func TestDurableFinishedInstances(t *testing.T) {
	dir := durableApp(t, "")
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "h1", "--input", `{"n": 1}`)
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Fails", "--id", "f1")
	runEngine(t, dir, map[string]durable.Status{"h1": durable.Completed, "f1": durable.Failed})

	st := status(t, dir, "h1")
	if st["runtimeStatus"] != "Completed" || st["output"] != "Hello Tokyo!" {
		t.Errorf("status = %v", st)
	}
	out := mustRun(t, "durable", "get-history", "--script-root", dir, "--id", "h1")
	var h []map[string]any
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("get-history: %v\n%s", err, out)
	}
	var types []string
	for _, ev := range h {
		types = append(types, ev["EventType"].(string))
		if _, ok := ev["EventId"]; ok {
			t.Errorf("event has an EventId: %v", ev)
		}
	}
	if got := strings.Join(types, ","); got != "ExecutionStarted,TaskCompleted,ExecutionCompleted" {
		t.Fatalf("history event types = %s\n%s", got, out)
	}
	if h[0]["FunctionName"] != "Hello" {
		t.Errorf("ExecutionStarted = %v", h[0])
	}
	if _, ok := h[0]["Input"]; ok {
		t.Errorf("ExecutionStarted has an Input, which the HTTP API leaves out: %v", h[0])
	}
	if h[1]["FunctionName"] != "SayHello" || h[1]["Result"] != "Hello Tokyo!" || h[1]["ScheduledTime"] == nil {
		t.Errorf("TaskCompleted = %v", h[1])
	}
	if h[2]["OrchestrationStatus"] != "Completed" || h[2]["Result"] != "Hello Tokyo!" {
		t.Errorf("ExecutionCompleted = %v", h[2])
	}

	// A finished instance takes no more events: the HTTP API's 410.
	for _, args := range [][]string{
		{"raise-event", "--event-name", "E"}, {"terminate"}, {"suspend"}, {"resume"},
	} {
		args = append([]string{"durable", args[0], "--script-root", dir, "--id", "h1"}, args[1:]...)
		wantContains(t, mustFail(t, args...), "instance 'h1' has finished", "Completed", "410 Gone")
	}
	wantContains(t, mustFail(t, "durable", "rewind", "--script-root", dir, "--id", "h1"), "instance 'h1' is Completed: only Failed instances can be rewound")
	out = mustRun(t, "durable", "rewind", "--script-root", dir, "--id", "f1", "--reason", "fixed")
	wantContains(t, out, "Sent a rewind message to instance 'f1'.")

	// A finished instance's id can be started again.
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "h1")
	if st := status(t, dir, "h1"); st["runtimeStatus"] != "Pending" {
		t.Errorf("restarted h1 = %v", st)
	}
}

func TestDurableManagement(t *testing.T) {
	dir := durableApp(t, "")
	run := func(args ...string) string {
		return mustRun(t, append([]string{"durable", args[0], "--script-root", dir}, args[1:]...)...)
	}
	fail := func(args ...string) string {
		return mustFail(t, append([]string{"durable", args[0], "--script-root", dir}, args[1:]...)...)
	}
	for _, id := range []string{"a", "b", "c"} {
		run("start-new", "--function-name", "Hello", "--id", id, "--input", `"`+id+`"`)
	}

	wantContains(t, run("raise-event", "--id", "a", "--event-name", "Approval", "--event-data", `{"ok": true}`), "Raised event 'Approval' to instance 'a'.")
	wantContains(t, run("raise-event", "--id", "a"), "Raised event 'Event_")
	wantContains(t, fail("raise-event", "--id", "a", "--event-name", "E", "--event-data", "yes"), "--event-data: the value is not JSON")
	wantContains(t, run("terminate", "--id", "a", "--reason", "Found a bug"), "Sent a termination message to instance 'a'.")
	wantContains(t, run("suspend", "--id", "b", "--reason", "pause"), "Sent a suspend message to instance 'b'.")
	wantContains(t, run("resume", "--id", "b"), "Sent a resume message to instance 'b'.")
	wantContains(t, fail("rewind", "--id", "b"), "instance 'b' is Pending: only Failed instances can be rewound")
	for _, cmd := range []string{"get-runtime-status", "get-history", "raise-event", "terminate", "suspend", "resume", "rewind", "restart"} {
		wantContains(t, fail(cmd, "--id", "nope"), "could not find an orchestration instance with id 'nope' in task hub TestHubName")
		wantContains(t, fail(cmd), `required flag(s) "id" not set`)
	}

	// restart: under the same id, or a new one, with the original input.
	out := run("restart", "--id", "c", "--new-id")
	wantContains(t, out, "Restarted instance 'c'. Instance ID: '")
	newID := strings.TrimSuffix(strings.TrimSpace(out[strings.LastIndex(out, "ID: '")+5:]), "'.")
	if st := status(t, dir, newID); st["runtimeStatus"] != "Pending" || st["input"] != "c" || st["name"] != "Hello" {
		t.Errorf("restarted instance %s = %v", newID, st)
	}
	wantContains(t, run("restart", "--id", "c"), "Instance ID: 'c'.")

	// Paging with --top and the continuation token printed on stderr.
	code, out, errOut := runCLI(t, "durable", "get-instances", "--script-root", dir, "--top", "3", "--show-input")
	if code != 0 {
		t.Fatalf("get-instances: exit %d\n%s", code, errOut)
	}
	var page []map[string]any
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page) != 3 {
		t.Fatalf("first page: %v\n%s", err, out)
	}
	if page[0]["input"] == nil {
		t.Errorf("--show-input: %v", page[0])
	}
	const prefix = "Continuation token for next set of results: '"
	i := strings.Index(errOut, prefix)
	if i < 0 {
		t.Fatalf("no continuation token on stderr:\n%s", errOut)
	}
	token := errOut[i+len(prefix):]
	token = token[:strings.Index(token, "'")]
	code, out, errOut = runCLI(t, "durable", "get-instances", "--script-root", dir, "--top", "3", "--continuation-token", token)
	if code != 0 {
		t.Fatalf("second page: exit %d\n%s", code, errOut)
	}
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page) != 1 {
		t.Fatalf("second page: %v\n%s", err, out)
	}
	if strings.Contains(errOut, prefix) {
		t.Errorf("last page has a continuation token:\n%s", errOut)
	}

	// Filters.
	if err := json.Unmarshal([]byte(run("get-instances", "--runtime-status", "completed failed")), &page); err != nil || len(page) != 0 {
		t.Errorf("completed or failed: %v %v", page, err)
	}
	if err := json.Unmarshal([]byte(run("get-instances", "--runtime-status", "Pending,Running", "--created-after", "2000-01-01")), &page); err != nil || len(page) != 4 {
		t.Errorf("pending or running: %v %v", page, err)
	}
	if err := json.Unmarshal([]byte(run("get-instances", "--created-before", "2000-01-01T00:00:00Z")), &page); err != nil || len(page) != 0 {
		t.Errorf("created before 2000: %v %v", page, err)
	}
	wantContains(t, fail("get-instances", "--runtime-status", "done"), "--runtime-status: unknown runtime status \"done\"")
	wantContains(t, fail("get-instances", "--created-after", "yesterday"), `--created-after "yesterday": expected a date and time`)
	wantContains(t, fail("get-instances", "--top", "0"), "--top 0")
	wantContains(t, fail("purge-history", "--created-after", "2030-01-01", "--created-before", "2020-01-01"), "is before --created-after")

	// purge-history: none before 2000, then every Pending one.
	wantContains(t, run("purge-history", "--created-before", "2000-01-01"), "Instances deleted: 0")
	out = run("purge-history", "--runtime-status", "pending")
	wantContains(t, out, "whose runtime status matched one of the following: [Pending]", "Instances deleted: 4")
	wantContains(t, fail("get-runtime-status", "--id", "b"), "could not find")
}

func TestDurableDeleteTaskHub(t *testing.T) {
	dir := durableApp(t, "KeepHub")
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "k1")
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "o1", "--task-hub-name", "OtherHub")
	mustRun(t, "durable", "raise-event", "--script-root", dir, "--id", "o1", "--event-name", "E", "--task-hub-name", "OtherHub")

	out := mustRun(t, "durable", "delete-task-hub", "--script-root", dir, "--task-hub-name", "OtherHub")
	wantContains(t, out, "Task hub 'OtherHub' successfully deleted.")
	wantContains(t, mustFail(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "o1", "--task-hub-name", "OtherHub"), "could not find")
	// The hub's queued work is gone too: nothing is due in it.
	d, err := host.OpenDurable(context.Background(), host.Config{ScriptRoot: dir}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	wi, err := d.Backend.LockNextOrchestration(context.Background(), "OtherHub", "test", time.Minute)
	if err != nil || wi != nil {
		t.Errorf("work left in the deleted hub: %+v, %v", wi, err)
	}
	// Other hubs keep theirs.
	status(t, dir, "k1")
	mustRun(t, "durable", "delete-task-hub", "--script-root", dir)
	wantContains(t, mustFail(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "k1"), "could not find", "task hub KeepHub")
}

// TestDurablePostgresStore runs the commands on the PostgreSQL store that
// FUNCD_STORE in local.settings.json names, in a fresh schema of
// FUNCD_TEST_POSTGRES (else the local test database); it fails when
// PostgreSQL is not reachable.
func TestDurablePostgresStore(t *testing.T) {
	_, conn := pgtest.Schema(t, "funcd_cli")
	hub := "CLITest" + durable.NewInstanceID()[:12]
	dir := durableApp(t, hub)
	path := filepath.Join(dir, "local.settings.json")
	var ls map[string]any
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ls); err != nil {
		t.Fatal(err)
	}
	ls["Values"].(map[string]any)["FUNCD_STORE"] = conn
	ls["Values"].(map[string]any)["DurableStore"] = conn
	writeJSON(t, path, ls)

	code, out, errOut := runCLI(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "p1", "--input", "[1, 2]")
	if _, ok := any((*postgres.Store)(nil)).(durable.Backend); !ok {
		// A build whose PostgreSQL store keeps no Durable Functions state
		// says so.
		if code != 1 || !strings.Contains(errOut, "the shared PostgreSQL store at ") || !strings.Contains(errOut, "does not keep Durable Functions state") {
			t.Fatalf("start-new on a PostgreSQL store without Durable Functions state: exit %d\n%s%s", code, out, errOut)
		}
		return
	}
	if code != 0 {
		t.Fatalf("start-new on PostgreSQL (%s): exit %d\n%s%s\nStart PostgreSQL, or point FUNCD_TEST_POSTGRES at a database.", conn, code, out, errOut)
	}
	wantContains(t, errOut, "Task hub "+hub+" in the shared PostgreSQL store at ")
	st := status(t, dir, "p1")
	if b, _ := json.Marshal(st["input"]); st["runtimeStatus"] != "Pending" || string(b) != "[1,2]" {
		t.Errorf("status = %v", st)
	}
	// The same store through another setting.
	wantContains(t, mustRun(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "p1", "--connection-string-setting", "DurableStore"), `"instanceId": "p1"`)
	wantContains(t, mustRun(t, "durable", "delete-task-hub", "--script-root", dir), "Task hub '"+hub+"' successfully deleted.")
	wantContains(t, mustFail(t, "durable", "get-runtime-status", "--script-root", dir, "--id", "p1"), "could not find")
}

// host.json overridableExistingInstanceStates AnyState lets start-new
// replace a running instance, as it does for funcd start's engine.
func TestDurableStartNewAnyState(t *testing.T) {
	dir := durableApp(t, "")
	var hj map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &hj); err != nil {
		t.Fatal(err)
	}
	hj["extensions"] = map[string]any{"durableTask": map[string]any{"overridableExistingInstanceStates": "AnyState"}}
	writeJSON(t, filepath.Join(dir, "host.json"), hj)
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "same", "--input", "1")
	mustRun(t, "durable", "start-new", "--script-root", dir, "--function-name", "Hello", "--id", "same", "--input", "2")
	if st := status(t, dir, "same"); st["runtimeStatus"] != "Pending" || st["input"] != 2.0 {
		t.Errorf("status = %v", st)
	}

	hj["extensions"] = map[string]any{"durableTask": map[string]any{"overridableExistingInstanceStates": "Sometimes"}}
	writeJSON(t, filepath.Join(dir, "host.json"), hj)
	wantContains(t, mustFail(t, "durable", "get-instances", "--script-root", dir), "overridableExistingInstanceStates", "expected NonRunningStates")
}
