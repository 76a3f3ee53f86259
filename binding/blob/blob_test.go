package blob

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// testStore is what the tests need of a store: all of it.
type testStore = storage.Store

type harness struct {
	t     *testing.T
	clk   *clocktest.Fake
	store testStore
	root  string // holds the store's folder, "store", and nothing else
	feed  bool   // whether the provider offers the change feed
}

func newHarness(t *testing.T, feed bool) *harness {
	clk := clocktest.New(t0)
	h := &harness{t: t, clk: clk, root: t.TempDir(), feed: feed}
	st, err := sqlite.Open(filepath.Join(h.root, "store"), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.store = st
	return h
}

func (h *harness) env(owner string, ext map[string]json.RawMessage) *binding.Env {
	prov := &binding.Provider{Name: "embedded", Queues: h.store, Blobs: h.store}
	if h.feed {
		prov.Feed = h.store
	}
	return &binding.Env{
		HostID: "testhost", Owner: owner, Store: h.store, Clock: h.clk, Extensions: ext,
		Connect: func(string) (*binding.Provider, error) { return prov, nil },
	}
}

func (h *harness) put(container, name, body string) storage.BlobProps {
	h.t.Helper()
	p, err := h.store.PutBlob(context.Background(), container, name, strings.NewReader(body), storage.PutBlobOptions{ContentType: "text/plain"})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// recorder is an Invoker that records events and fails while fail says so.
type recorder struct {
	mu     sync.Mutex
	events []binding.Event
	fail   func(ev binding.Event) error
}

func (r *recorder) Invoke(ctx context.Context, ev binding.Event) error {
	r.mu.Lock()
	r.events = append(r.events, ev)
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return fail(ev)
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) blobs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := map[string]int{}
	for _, ev := range r.events {
		var p string
		_ = json.Unmarshal(ev.Data["BlobTrigger"], &p)
		m[p]++
	}
	return m
}

func triggerFn(name, path string) *funcd.Function {
	return &funcd.Function{Name: name, Bindings: []funcd.Binding{{
		Name: "myBlob", Type: TriggerType, Direction: funcd.In,
		Properties: map[string]any{"type": TriggerType, "name": "myBlob", "path": path, "direction": "in"},
	}}}
}

func (h *harness) listen(kind binding.Kind, fn *funcd.Function, env *binding.Env, inv binding.Invoker) binding.Listener {
	h.t.Helper()
	if err := kind.Validate(fn, &fn.Bindings[0], env); err != nil {
		h.t.Fatal(err)
	}
	l, err := kind.Listen(fn, &fn.Bindings[0], env, inv)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

// step is how far the fake clock moves at a time: small against the
// receipt's lease, so that a slow goroutine renews its claim in time.
const step = 50 * time.Millisecond

// until advances the fake clock in small steps until cond holds.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	for i := 0; i < 8000; i++ {
		if cond() {
			return
		}
		h.clk.Advance(step)
		time.Sleep(time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s", what)
}

// settle advances the clock through 30 s of scans and polls, so that
// anything that would happen has happened.
func (h *harness) settle() {
	for i := 0; i < 600; i++ {
		h.clk.Advance(step)
		time.Sleep(time.Millisecond)
	}
}

func TestTriggerDataAndCaptures(t *testing.T) {
	h := newHarness(t, true)
	rec := &recorder{}
	fn := triggerFn("Resize", "samples/{name}.{ext}")
	h.listen(Trigger(), fn, h.env("o1", nil), rec)
	props := h.put("samples", "dir/a.b.txt", "hello")
	h.put("other", "x.txt", "no")
	h.until("the invocation", func() bool { return rec.count() == 1 })

	ev := rec.events[0]
	if ev.Value.Kind != funcd.ValueString || string(ev.Value.Data) != "hello" {
		t.Errorf("Value = %+v", ev.Value)
	}
	want := map[string]string{
		"BlobTrigger": `"samples/dir/a.b.txt"`, "name": `"dir/a.b"`, "ext": `"txt"`,
		"Uri": `"http://127.0.0.1:10000/devstoreaccount1/samples/dir/a.b.txt"`, "Metadata": `{}`,
	}
	for k, v := range want {
		if got := string(ev.Data[k]); got != v {
			t.Errorf("Data[%s] = %s, want %s", k, got, v)
		}
	}
	var p map[string]any
	if err := json.Unmarshal(ev.Data["Properties"], &p); err != nil {
		t.Fatal(err)
	}
	if p["ContentLength"] != 5.0 || p["ETag"] != props.ETag || p["ContentType"] != "text/plain" || p["BlobType"] != "Block" {
		t.Errorf("Properties = %v", p)
	}
}

func TestBinaryTrigger(t *testing.T) {
	h := newHarness(t, true)
	rec := &recorder{}
	fn := triggerFn("Bin", "samples/{name}")
	fn.Bindings[0].DataType = "binary"
	h.listen(Trigger(), fn, h.env("o1", nil), rec)
	h.put("samples", "x", "\x00\x01")
	h.until("the invocation", func() bool { return rec.count() == 1 })
	if v := rec.events[0].Value; v.Kind != funcd.ValueBytes || string(v.Data) != "\x00\x01" {
		t.Errorf("Value = %+v", v)
	}
}

func TestOncePerVersionAcrossRestarts(t *testing.T) {
	for _, feed := range []bool{true, false} {
		t.Run(map[bool]string{true: "feed", false: "scan"}[feed], func(t *testing.T) {
			h := newHarness(t, feed)
			rec := &recorder{}
			fn := triggerFn("Once", "samples/{name}")
			h.put("samples", "a", "1")
			l := h.listen(Trigger(), fn, h.env("o1", nil), rec)
			h.until("the first invocation", func() bool { return rec.count() == 1 })
			if err := l.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}

			// A restart that lost its checkpoint still skips the done version.
			if err := h.store.SetCheckpoint(context.Background(), "blobscan/testhost/Host.Functions.Once", ""); err != nil {
				t.Fatal(err)
			}
			h.listen(Trigger(), fn, h.env("o2", nil), rec)
			h.settle()
			if n := rec.count(); n != 1 {
				t.Fatalf("after the restart: %d invocations, want 1", n)
			}

			h.put("samples", "a", "2") // an overwrite is a new version
			h.until("the overwrite's invocation", func() bool { return rec.count() == 2 })
			h.settle()
			if n := rec.count(); n != 2 {
				t.Fatalf("%d invocations, want 2", n)
			}
			if got := string(rec.events[1].Value.Data); got != "2" {
				t.Errorf("second invocation saw %q", got)
			}
		})
	}
}

func TestPoisonAfterThreshold(t *testing.T) {
	h := newHarness(t, true)
	rec := &recorder{fail: func(binding.Event) error { return errors.New("boom") }}
	ext := map[string]json.RawMessage{"blobs": json.RawMessage(`{"poisonBlobThreshold": 2}`)}
	h.listen(Trigger(), triggerFn("Fails", "samples/{name}"), h.env("o1", ext), rec)
	h.put("samples", "bad", "x")
	ctx := context.Background()
	h.until("the poison message", func() bool {
		msgs, _ := h.store.Peek(ctx, PoisonQueue, 10)
		return len(msgs) == 1
	})
	h.settle()
	if n := rec.count(); n != 2 {
		t.Errorf("%d invocations, want 2", n)
	}
	msgs, _ := h.store.Peek(ctx, PoisonQueue, 10)
	var m message
	if err := json.Unmarshal(msgs[0].Body, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != "BlobTrigger" || m.FunctionID != "Host.Functions.Fails" || m.BlobType != "BlockBlob" ||
		m.ContainerName != "samples" || m.BlobName != "bad" || !strings.HasPrefix(m.ETag, `"0x`) {
		t.Errorf("poison message = %s", msgs[0].Body)
	}
}

func TestTwoHostsProcessEachBlobOnce(t *testing.T) {
	h := newHarness(t, true)
	rec := &recorder{}
	fn := triggerFn("Shared", "samples/{name}")
	h.listen(Trigger(), fn, h.env("host-a", nil), rec)
	h.listen(Trigger(), fn, h.env("host-b", nil), rec)
	const n = 20
	for i := range n {
		h.put("samples", string(rune('a'+i)), "x")
	}
	h.until("every blob", func() bool { return len(rec.blobs()) == n })
	h.settle()
	for p, c := range rec.blobs() {
		if c != 1 {
			t.Errorf("%s processed %d times", p, c)
		}
	}
}

func TestDeletedAndChangedBlobsAreDropped(t *testing.T) {
	h := newHarness(t, true)
	rec := &recorder{}
	fn := triggerFn("Drop", "samples/{name}")
	l, err := Trigger().Listen(fn, &fn.Bindings[0], h.env("o1", nil), rec)
	if err != nil {
		t.Fatal(err)
	}
	lis := l.(*listener)
	ctx := context.Background()
	old := h.put("samples", "a", "1")
	h.put("samples", "a", "2")
	if err := lis.process(ctx, message{FunctionID: lis.id, ContainerName: "samples", BlobName: "a", ETag: old.ETag}); err != nil {
		t.Fatal(err)
	}
	if err := lis.process(ctx, message{FunctionID: lis.id, ContainerName: "samples", BlobName: "gone", ETag: old.ETag}); err != nil {
		t.Fatal(err)
	}
	if rec.count() != 0 {
		t.Fatalf("%d invocations, want 0", rec.count())
	}
}

func TestBatchMapping(t *testing.T) {
	for _, tc := range [][3]int{{62, 32, 30}, {16, 9, 7}, {3, 2, 1}, {2, 2, 0}, {1, 1, 0}, {100, 32, 68}} {
		if s, th := batch(tc[0]); s != tc[1] || th != tc[2] {
			t.Errorf("batch(%d) = %d, %d; want %d, %d", tc[0], s, th, tc[1], tc[2])
		}
	}
}
