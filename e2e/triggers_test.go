package e2e

// End-to-end checks of the queue, blob and timer triggers: a real custom
// handler (testdata/triggers/handler) behind a real host on the embedded
// SQLite store, driven through the store and the admin API the way a user
// would, with the payload shapes of docs/contract/host.md sections 1.4,
// 1.5, 7, 8 and 9.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/hosttest"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// triggersHandler builds the triggers app's handler once per test binary.
var triggersHandler = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "funcd-e2e-triggers-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "handler")
	out, err := exec.Command("go", "build", "-o", bin, "./testdata/triggers/handler").CombinedOutput()
	if err != nil {
		return "", errors.New("cannot build the triggers handler: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// triggersApp copies testdata/triggers/app to a temporary folder with its
// handler.
func triggersApp(t *testing.T) string {
	t.Helper()
	bin, err := triggersHandler()
	if err != nil {
		t.Fatal(err)
	}
	dst := hosttest.CopyApp(t, filepath.Join("testdata", "triggers", "app"))
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "handler"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// triggersHost runs the triggers app on an embedded store the test can
// reach, and returns the app folder too.
func triggersHost(t *testing.T) (*hosttest.Server, storage.Store, string) {
	t.Helper()
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	app := triggersApp(t)
	s := hosttest.Start(t, app, hosttest.Options{Store: store})
	return s, store, app
}

// handlerCall is one invocation the handler journaled.
type handlerCall struct {
	Function string `json:"function"`
	Payload  struct {
		Data     map[string]json.RawMessage
		Metadata map[string]json.RawMessage
	} `json:"payload"`
}

// calls reads the handler's journal, keeping the calls of fn ("" for all).
func calls(t *testing.T, app, fn string) []handlerCall {
	t.Helper()
	f, err := os.Open(filepath.Join(app, "calls.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []handlerCall
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c handlerCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			continue // a line being written
		}
		if fn == "" || c.Function == fn {
			out = append(out, c)
		}
	}
	return out
}

// enqueue adds a message the way a client of the queue trigger's default
// encoding does: base64 on the wire.
func enqueue(t *testing.T, store storage.Store, queue, text string) storage.Message {
	t.Helper()
	m, err := store.Enqueue(context.Background(), queue, []byte(base64.StdEncoding.EncodeToString([]byte(text))), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// queueTexts peeks a queue (up to 32 messages) and decodes each body from
// base64.
func queueTexts(t *testing.T, store storage.Store, queue string) []string {
	t.Helper()
	ms, err := store.Peek(context.Background(), queue, 32)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		b, err := base64.StdEncoding.DecodeString(string(m.Body))
		if err != nil {
			t.Fatalf("message %s in %s is not base64: %q", m.ID, queue, m.Body)
		}
		out = append(out, string(b))
	}
	return out
}

// decodeString decodes a JSON string.
func decodeString(t *testing.T, what string, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s is not a JSON string: %s", what, raw)
	}
	return s
}

func TestTriggerQueueToQueueOutput(t *testing.T) {
	_, store, app := triggersHost(t)
	sent := enqueue(t, store, "fanin", "order 7")
	eventually(t, 30*time.Second, "three messages in fanout", func() bool {
		return len(queueTexts(t, store, "fanout")) == 3
	})
	got := queueTexts(t, store, "fanout")
	want := []string{"first of order 7", "second of order 7", `{"from":"order 7"}`}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fanout message %d = %q, want %q", i, got[i], want[i])
		}
	}

	cs := calls(t, app, "queuefanout")
	if len(cs) != 1 {
		t.Fatalf("queuefanout ran %d times, want 1", len(cs))
	}
	p := cs[0].Payload
	// The message text is a string binding value: double-encoded.
	if d := decodeString(t, "Data.msg", p.Data["msg"]); d != `"order 7"` {
		t.Errorf("Data.msg = %q, want the JSON string %q", d, `"order 7"`)
	}
	for _, k := range []string{"DequeueCount", "Id", "PopReceipt", "InsertionTime", "ExpirationTime", "NextVisibleTime", "sys"} {
		if _, ok := p.Metadata[k]; !ok {
			t.Errorf("Metadata has no %s; keys %v", k, keysOf(p.Metadata))
		}
	}
	for k := range p.Metadata {
		if strings.EqualFold(k, "QueueTrigger") {
			t.Errorf("Metadata has %s, which the host filters out", k)
		}
	}
	if id := p.Metadata["Id"]; !strings.Contains(string(id), sent.ID) {
		t.Errorf("Metadata.Id = %s, want the message id %s", id, sent.ID)
	}
	if dc := strings.Trim(string(p.Metadata["DequeueCount"]), `"`); dc != "1" {
		t.Errorf("Metadata.DequeueCount = %s, want 1", p.Metadata["DequeueCount"])
	}
	if pr := string(p.Metadata["PopReceipt"]); len(strings.Trim(pr, `"\`)) == 0 {
		t.Errorf("Metadata.PopReceipt = %s, want a receipt", pr)
	}
	eventually(t, 30*time.Second, "the trigger message to be deleted", func() bool {
		return len(queueTexts(t, store, "fanin")) == 0
	})
}

func TestTriggerHTTPWithQueueOutput(t *testing.T) {
	s, store, _ := triggersHost(t)
	r := do(t, "POST", s.URL+"/api/httpqueue", "hello")
	wantStatus(t, r, http.StatusCreated)
	if r.body != "queued" {
		t.Errorf("body = %q, want queued", r.body)
	}
	// The output is flushed before the response is sent.
	if got := queueTexts(t, store, "fromhttp"); len(got) != 1 || got[0] != "sent over http!" {
		t.Errorf("fromhttp = %q, want one message %q", got, "sent over http!")
	}
}

func TestTriggerQueuePoison(t *testing.T) {
	_, store, app := triggersHost(t)
	enqueue(t, store, "doomed", "bad news")
	eventually(t, 30*time.Second, "the message in doomed-poison", func() bool {
		return len(queueTexts(t, store, "doomed-poison")) == 1
	})
	if got := queueTexts(t, store, "doomed-poison"); got[0] != "bad news" {
		t.Errorf("poison message = %q, want %q", got[0], "bad news")
	}
	if got := queueTexts(t, store, "doomed"); len(got) != 0 {
		t.Errorf("doomed still holds %q", got)
	}
	// maxDequeueCount is 2 in host.json: two tries, then poison.
	if n := len(calls(t, app, "queuefail")); n != 2 {
		t.Errorf("queuefail ran %d times, want 2 (maxDequeueCount)", n)
	}
}

// readBlob reads a blob, or reports that it is not there.
func readBlob(t *testing.T, store storage.Store, container, name string) ([]byte, bool) {
	t.Helper()
	rc, _, err := store.OpenBlob(context.Background(), container, name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, true
}

func putBlob(t *testing.T, store storage.Store, container, name, body string) {
	t.Helper()
	if _, err := store.PutBlob(context.Background(), container, name, strings.NewReader(body), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
}

// waitBlob waits for a blob to hold want.
func waitBlob(t *testing.T, store storage.Store, container, name, want string) {
	t.Helper()
	eventually(t, 60*time.Second, container+"/"+name+" to hold "+want, func() bool {
		b, ok := readBlob(t, store, container, name)
		return ok && bytes.Equal(b, []byte(want))
	})
}

func TestTriggerBlobCopy(t *testing.T) {
	_, store, app := triggersHost(t)
	runsFor := func(name string) int {
		n := 0
		for _, c := range calls(t, app, "blobcopy") {
			if strings.Trim(string(c.Payload.Metadata["name"]), `"\`) == name {
				n++
			}
		}
		return n
	}
	putBlob(t, store, "inbox", "report.txt", "first version, with spaces\n")
	waitBlob(t, store, "outbox", "report.copy", "first version, with spaces\n")
	c := calls(t, app, "blobcopy")[0]
	for k := range c.Payload.Metadata {
		if strings.EqualFold(k, "BlobTrigger") {
			t.Errorf("Metadata has %s, which the host filters out", k)
		}
	}
	for _, k := range []string{"name", "Uri", "Properties", "Metadata"} {
		if _, ok := c.Payload.Metadata[k]; !ok {
			t.Errorf("blob Metadata has no %s; keys %v", k, keysOf(c.Payload.Metadata))
		}
	}

	putBlob(t, store, "inbox", "report.txt", "second version\n")
	waitBlob(t, store, "outbox", "report.copy", "second version\n")
	// A blob not matching the pattern is ignored; another that matches is a
	// barrier: once it is copied, any extra run for report would have
	// happened too, since the trigger handles changes in order.
	putBlob(t, store, "inbox", "skip.bin", "not a .txt")
	putBlob(t, store, "inbox", "zz-barrier.txt", "barrier\n")
	waitBlob(t, store, "outbox", "zz-barrier.copy", "barrier\n")
	if n := runsFor("report"); n != 2 {
		t.Errorf("blobcopy ran %d times for report.txt, want 2 (once per version)", n)
	}
	if n := runsFor("skip"); n != 0 {
		t.Errorf("blobcopy ran for skip.bin")
	}
	if _, ok := readBlob(t, store, "outbox", "skip.copy"); ok {
		t.Error("outbox/skip.copy exists")
	}
}

func TestTriggerTimerAdminInvoke(t *testing.T) {
	s, _, app := triggersHost(t)
	r := do(t, "POST", s.URL+"/admin/functions/tick", `{"input":""}`,
		"x-functions-key", s.MasterKey(t), "Content-Type", "application/json")
	wantStatus(t, r, http.StatusAccepted)
	eventually(t, 30*time.Second, "tick to run", func() bool { return len(calls(t, app, "tick")) == 1 })
	p := calls(t, app, "tick")[0].Payload
	var info map[string]json.RawMessage
	if err := json.Unmarshal(p.Data["timer"], &info); err != nil {
		t.Fatalf("Data.timer is not a TimerInfo object: %s", p.Data["timer"])
	}
	for _, k := range []string{"Schedule", "ScheduleStatus", "IsPastDue"} {
		if _, ok := info[k]; !ok {
			t.Errorf("TimerInfo has no %s: %s", k, p.Data["timer"])
		}
	}
	if string(info["IsPastDue"]) != "false" {
		t.Errorf("IsPastDue = %s, want false", info["IsPastDue"])
	}
	for k := range p.Metadata {
		if strings.EqualFold(k, "TimerTrigger") {
			t.Errorf("Metadata has %s, which the host filters out", k)
		}
	}
}

// funcdBin builds funcd once per test binary, with the test-only tag
// funcdclock, which lets a test set its clock ahead with
// FUNCD_CLOCK_OFFSET.
var funcdBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "funcd-e2e-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "funcd")
	out, err := exec.Command("go", "build", "-tags", "funcdclock", "-o", bin, "../cmd/funcd").CombinedOutput()
	if err != nil {
		return "", errors.New("cannot build funcd: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// startFuncd runs `funcd start` on app with its state in stateDir and env
// added to its environment; its output goes to log.
func startFuncd(t *testing.T, app, stateDir string, log io.Writer, env ...string) *exec.Cmd {
	t.Helper()
	bin, err := funcdBin()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "start", "--script-root", app, "--state-dir", stateDir, "--port", strconv.Itoa(port))
	cmd.Env = append(append(os.Environ(), "AZURE_FUNCTIONS_ENVIRONMENT=Development"), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// killHandler kills the handler a killed funcd left behind.
func killHandler(t *testing.T, app string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(app, "handler.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatal(err)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// handledTexts is the set of crashwork message texts the handler saw.
func handledTexts(t *testing.T, app string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for text := range dequeueCounts(t, app) {
		seen[text] = true
	}
	return seen
}

// dequeueCounts lists, for each crashwork message text the handler saw,
// the DequeueCount of each of its invocations, in order.
func dequeueCounts(t *testing.T, app string) map[string][]int {
	t.Helper()
	out := map[string][]int{}
	for _, c := range calls(t, app, "crashwork") {
		var s string
		if json.Unmarshal(c.Payload.Data["msg"], &s) != nil {
			continue
		}
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			s = inner
		}
		n, err := strconv.Atoi(strings.Trim(string(c.Payload.Metadata["DequeueCount"]), `"`))
		if err != nil {
			t.Errorf("%s: Metadata.DequeueCount = %s", s, c.Payload.Metadata["DequeueCount"])
		}
		out[s] = append(out[s], n)
	}
	return out
}

// A host killed in the middle of a queue loses nothing: after a restart
// every message is handled at least once. The messages the killed host
// held stay invisible for the receive's visibility timeout (10 minutes, as
// in the real host); the second funcd runs with its clock 11 minutes ahead
// (FUNCD_CLOCK_OFFSET, in the funcdclock test build), so it finds them
// visible again and handles them itself, a second time.
func TestTriggerQueueSurvivesKill(t *testing.T) {
	const total = 10000
	app := triggersApp(t)
	stateDir := t.TempDir()
	storeDir := filepath.Join(stateDir, "store")
	store, err := sqlite.Open(storeDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	want := map[string]bool{}
	for i := range total {
		text := "work-" + strconv.Itoa(i)
		want[text] = true
		enqueue(t, store, "work", text)
	}

	var log bytes.Buffer
	var logMu sync.Mutex
	logw := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return log.Write(p) })
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("funcd output:\n%s", log.String())
			logMu.Unlock()
		}
	}()

	first := startFuncd(t, app, stateDir, logw)
	eventually(t, 2*time.Minute, "a third of the messages to be handled", func() bool {
		return len(handledTexts(t, app)) >= total/3
	})
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	killHandler(t, app)
	handledAtKill := len(handledTexts(t, app))
	if handledAtKill >= total {
		t.Fatalf("all %d messages were handled before the kill; nothing was tested", total)
	}

	restarted := time.Now()
	second := startFuncd(t, app, stateDir, logw, "FUNCD_CLOCK_OFFSET=11m")
	t.Cleanup(func() {
		_ = second.Process.Signal(syscall.SIGINT)
		_ = second.Wait()
	})
	// A store past the visibility timeout of every receive of the second
	// host too sees every message not yet deleted.
	future, err := sqlite.Open(storeDir, sqlite.Options{Clock: clocktest.New(time.Now().Add(30 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = future.Close() })
	eventually(t, 3*time.Minute, "every message handled and the queue empty", func() bool {
		left, err := future.Peek(context.Background(), "work", 1)
		if err != nil {
			t.Fatal(err)
		}
		return len(left) == 0 && len(handledTexts(t, app)) == total
	})
	counts := dequeueCounts(t, app)
	var redelivered []string
	for text := range want {
		switch dc := counts[text]; {
		case len(dc) == 0:
			t.Errorf("%s was never handled", text)
		case slices.Equal(dc, []int{1}):
		case slices.Equal(dc, []int{2}), slices.Equal(dc, []int{1, 2}):
			// Received by the killed host (and maybe handled, not deleted),
			// then again by the second one once its visibility ran out.
			redelivered = append(redelivered, text)
		default:
			t.Errorf("%s was handled with DequeueCount %v, want [1], [2] or [1 2]", text, dc)
		}
	}
	t.Logf("%d handled before the kill, %d redelivered by the restarted host; the rest took %v",
		handledAtKill, len(redelivered), time.Since(restarted).Round(time.Millisecond))
	if len(redelivered) == 0 {
		t.Errorf("no message was redelivered: the kill found none in flight, so redelivery was not shown")
	}
	if len(redelivered) > 32 {
		t.Errorf("%d messages redelivered, more than a batch and its threshold (32)", len(redelivered))
	}
	if p, err := future.Peek(context.Background(), "work-poison", 1); err == nil && len(p) > 0 {
		t.Errorf("a message went to work-poison")
	}
	logMu.Lock()
	warned := strings.Contains(log.String(), "FUNCD_CLOCK_OFFSET=11m")
	logMu.Unlock()
	if !warned {
		t.Errorf("the restarted funcd did not warn that its clock was set ahead")
	}
}

// A FUNCD_CLOCK_OFFSET that is not a duration stops funcd at once, naming
// the variable.
func TestFuncdClockOffsetInvalid(t *testing.T) {
	bin, err := funcdBin()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "start", "--script-root", triggersApp(t), "--state-dir", t.TempDir(), "--port", "0")
	cmd.Env = append(os.Environ(), "FUNCD_CLOCK_OFFSET=eleven minutes")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("funcd started with FUNCD_CLOCK_OFFSET=eleven minutes:\n%s", out)
	}
	if !strings.Contains(string(out), `FUNCD_CLOCK_OFFSET="eleven minutes"`) {
		t.Errorf("the error does not name the bad value:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
