package host

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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

// TestStartRefusesLanguageWorkerApps: an app written for a language worker
// funcd does not run fails to start with a message that names the runtime,
// instead of starting with functions that cannot run; a custom handler
// written in Node.js still starts.
func TestStartRefusesLanguageWorkerApps(t *testing.T) {
	httpFunction := `{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`
	tests := []struct {
		name    string
		files   map[string]string
		environ []string
		want    string // in the error; "" means Start succeeds
	}{
		{"java setting", map[string]string{
			"host.json":           `{"version": "2.0"}`,
			"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "java"}}`,
		}, nil, "FUNCTIONS_WORKER_RUNTIME is 'java': this is a Java function app, and funcd has no Java worker"},
		{"node v3 programming model", map[string]string{
			"host.json":           `{"version": "2.0"}`,
			"hello/function.json": httpFunction,
			"hello/index.js":      "module.exports = async () => {};",
		}, nil, "this is a Node.js app of the v3 programming model"},
		{"node setting", map[string]string{
			"host.json":           `{"version": "2.0"}`,
			"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "node"}}`,
			"src/index.js":        "",
		}, nil, ""},
		{"python worker installed", map[string]string{
			"host.json":                         `{"version": "2.0"}`,
			"workers/python/worker.config.json": `{"description": {"language": "python", "defaultExecutablePath": "python3", "defaultWorkerPath": "worker.py"}}`,
		}, []string{"FUNCTIONS_WORKER_RUNTIME=python", "FUNCD_WORKERS_DIR=workers"}, ""},
		{"python from the environment", map[string]string{
			"host.json": `{"version": "2.0"}`,
		}, []string{"FUNCTIONS_WORKER_RUNTIME=python"}, "FUNCTIONS_WORKER_RUNTIME is 'python'"},
		{"node custom handler", map[string]string{
			"host.json":           `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "node", "arguments": ["server.js"]}}}`,
			"package.json":        `{"dependencies": {"express": "^4.0.0"}}`,
			"hello/function.json": httpFunction,
		}, []string{"FUNCTIONS_WORKER_RUNTIME=node"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			h, err := New(Config{
				ScriptRoot: dir, StateDir: t.TempDir(), Environ: tt.environ,
				NewWorker: func(*funcd.App, WorkerOptions) (Worker, error) { return &fakeWorker{}, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Shutdown(context.Background())
			err = h.Start(context.Background())
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Start: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Start error = %v, want one containing %q", err, tt.want)
			case tt.want != "":
				if st := h.Status(); st.State != StateError || len(st.Errors) != 1 || !strings.Contains(st.Errors[0], "funcd runs custom handlers") {
					t.Errorf("status after the refusal = %v %q", st.State, st.Errors)
				}
			}
		})
	}
}

// TestWorkerFolders: a language worker in a folder of Config.WorkerFolders
// (funcd start --workers-dir) makes its runtime's apps load.
func TestWorkerFolders(t *testing.T) {
	dir, workers := t.TempDir(), t.TempDir()
	files := map[string]string{
		filepath.Join(dir, "host.json"):                        `{"version": "2.0"}`,
		filepath.Join(workers, "python", "worker.config.json"): `{"description": {"language": "python", "defaultExecutablePath": "python3", "defaultWorkerPath": "worker.py"}}`,
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var runtime string
	for _, folders := range [][]string{nil, {workers}} {
		h, err := New(Config{
			ScriptRoot: dir, StateDir: t.TempDir(), Environ: []string{"FUNCTIONS_WORKER_RUNTIME=python"}, WorkerFolders: folders,
			NewWorker: func(app *funcd.App, _ WorkerOptions) (Worker, error) {
				runtime = app.WorkerRuntime
				return &fakeWorker{}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		err = h.Start(context.Background())
		_ = h.Shutdown(context.Background())
		if folders == nil && (err == nil || !strings.Contains(err.Error(), "funcd has no Python worker")) {
			t.Errorf("without the folder: Start = %v", err)
		}
		if folders != nil && (err != nil || runtime != "python") {
			t.Errorf("with the folder: Start = %v, runtime %q", err, runtime)
		}
	}
}
