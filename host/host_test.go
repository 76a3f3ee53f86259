package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd"
)

// fakeWorker records whether it was shut down.
type fakeWorker struct {
	mu   sync.Mutex
	down bool
}

func (w *fakeWorker) Start(context.Context) error { return nil }
func (w *fakeWorker) Invoke(context.Context, *funcd.Invocation) (*funcd.Result, error) {
	return &funcd.Result{}, nil
}
func (w *fakeWorker) Shutdown(context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.down = true
	return nil
}
func (w *fakeWorker) isDown() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.down
}

// newTestHost returns a started host over a one-function app whose workers
// are fakes, and the workers it made, in order.
func newTestHost(t *testing.T) (*Host, func() []*fakeWorker) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`)
	write("hello/function.json", `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`)
	var mu sync.Mutex
	var workers []*fakeWorker
	h, err := New(Config{
		ScriptRoot: dir,
		StateDir:   t.TempDir(),
		Logger:     slog.New(slog.DiscardHandler),
		NewWorker: func(*funcd.App, WorkerOptions) (Worker, error) {
			mu.Lock()
			defer mu.Unlock()
			w := &fakeWorker{}
			workers = append(workers, w)
			return w, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return h, func() []*fakeWorker {
		mu.Lock()
		defer mu.Unlock()
		return append([]*fakeWorker(nil), workers...)
	}
}

// TestShutdownStopsRetiredGenerations: a generation a restart replaced while
// work still ran on it is stopped by Shutdown too, so its worker (a handler
// process in real life) does not outlive the host.
func TestShutdownStopsRetiredGenerations(t *testing.T) {
	h, workers := newTestHost(t)
	old, err := h.Acquire() // work that never finishes on generation 1
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h.Current() == old {
		t.Fatal("Restart did not swap the generation")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = h.Shutdown(ctx) // reports the deadline: generation 1's work never ended
	ws := workers()
	if len(ws) != 2 {
		t.Fatalf("%d workers made, want 2", len(ws))
	}
	for i, w := range ws {
		if !w.isDown() {
			t.Errorf("worker of generation %d still running after Shutdown", i+1)
		}
	}
	old.Release()
}

// TestRestartDrainsTheOldGeneration: the old generation's worker stops once
// its last piece of work ends, not before.
func TestRestartDrainsTheOldGeneration(t *testing.T) {
	h, workers := newTestHost(t)
	defer h.Shutdown(context.Background())
	old, err := h.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := workers()[0]
	if first.isDown() {
		t.Fatal("the old worker stopped while work still ran on it")
	}
	old.Release()
	deadline := time.Now().Add(10 * time.Second)
	for !first.isDown() {
		if time.Now().After(deadline) {
			t.Fatal("the old worker never stopped after its work ended")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if workers()[1].isDown() {
		t.Error("the new generation's worker was stopped")
	}
}
