package nodeworker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/worker"
	"github.com/funcd/funcd/worker/grpcworker"
	"github.com/funcd/funcd/worker/nodeworker"
	"github.com/funcd/funcd/worker/workerconfig"
)

func nodePath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed for the Node worker's tests: %v", err)
	}
	return p
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	entry, err := nodeworker.Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "node-"+nodeworker.Version(), nodeworker.Entry); entry != want {
		t.Errorf("Install = %s, want %s", entry, want)
	}
	for _, name := range []string{"worker.js", "grpc.js", "protobuf.js", "schema.js"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(entry), name)); err != nil {
			t.Error(err)
		}
	}
	again, err := nodeworker.Install(dir)
	if err != nil || again != entry {
		t.Errorf("second Install = %s, %v", again, err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(entry), "grpc.js"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := nodeworker.Install(dir); err == nil {
		t.Error("Install over a changed file succeeded")
	}
}

// TestHandshake runs the embedded worker under grpcworker: it connects,
// initialises, answers the metadata request, pings and exits 0 on
// WorkerTerminate.
func TestHandshake(t *testing.T) {
	node := nodePath(t)
	entry, err := nodeworker.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		lines []string
		logs  []grpcworker.Log
		procs []*worker.Process
	)
	w, err := grpcworker.New(grpcworker.Config{
		Path:         node,
		Args:         []string{entry},
		HostVersion:  "4.1040.0.0",
		AppDirectory: t.TempDir(),
		Functions: []*grpcworker.FunctionMetadata{{Name: "hello", FunctionId: "fn-1", Language: "node",
			RawBindings: []string{`{"type":"httpTrigger","direction":"in","name":"req"}`}}},
		StartTimeout:   30 * time.Second,
		TerminateGrace: 5 * time.Second,
		OnLog: func(l grpcworker.Log) {
			mu.Lock()
			logs = append(logs, l)
			mu.Unlock()
		},
		Output: func(p *worker.Process, _ worker.Stream, line string) {
			mu.Lock()
			lines = append(lines, line)
			if len(procs) == 0 || procs[len(procs)-1] != p {
				procs = append(procs, p)
			}
			mu.Unlock()
		},
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxErrors: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	if err := w.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	caps, meta, err := w.Capabilities(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if meta.GetRuntimeName() != "node" || meta.GetRuntimeVersion() == "" {
		t.Errorf("worker metadata = %v", meta)
	}
	for _, c := range []string{"RawHttpBodyBytes", "RpcHttpBodyOnly", "RpcHttpTriggerMetadataRemoved",
		"IgnoreEmptyValuedRpcHttpHeaders", "UseNullableValueDictionaryForHttp", "TypedDataCollection",
		"WorkerStatus", "HandlesWorkerTerminateMessage"} {
		if caps[c] != "true" {
			t.Errorf("capability %s = %q, want true (all: %v)", c, caps[c], caps)
		}
	}
	fns, err := w.Functions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An app without package.json "main" registers nothing: the worker
	// asks for the host's index, and refuses to load function.json (v3)
	// functions, saying why.
	if len(fns) != 1 || fns[0].Metadata.GetName() != "hello" || fns[0].Err == nil ||
		!strings.Contains(fns[0].Err.Error(), "function hello was not registered by the app") ||
		!strings.Contains(fns[0].Err.Error(), "@azure/functions v4") {
		t.Errorf("Functions = %v, want hello refused", fns)
	}
	for range 3 {
		if _, err := w.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	}
	if err := w.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(procs) != 1 {
		t.Fatalf("%d processes wrote output, want 1 (lines: %q)", len(procs), lines)
	}
	select {
	case <-procs[0].Done():
	case <-time.After(10 * time.Second):
		t.Fatal("node has not exited")
	}
	if code := procs[0].ExitCode(); code != 0 {
		t.Errorf("node exited with %d, want 0; output:\n%s", code, strings.Join(lines, "\n"))
	}
	var sawInit, sawTerminate bool
	for _, l := range logs {
		sawInit = sawInit || (l.System && strings.Contains(l.Message, "initialising"))
		sawTerminate = sawTerminate || strings.Contains(l.Message, "terminating")
	}
	if !sawInit {
		t.Errorf("no System RpcLog about initialising: %v", logs)
	}
	var consoleLines int
	for _, l := range lines {
		if strings.HasPrefix(l, "LanguageWorkerConsoleLog") {
			consoleLines++
		}
	}
	if consoleLines == 0 {
		t.Errorf("no LanguageWorkerConsoleLog line in %q", lines)
	}
	_ = sawTerminate // the host may have stopped reading logs once it sent WorkerTerminate
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// TestBadFlags: a worker started without its flags says why on stderr
// and exits 2.
func TestBadFlags(t *testing.T) {
	node := nodePath(t)
	entry, err := nodeworker.Install(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), node, entry, "--functions-uri", "http://127.0.0.1:1/").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit = %v, want 2; output %s", err, out)
	}
	if !strings.HasPrefix(string(out), "LanguageWorkerConsoleLog") || !strings.Contains(string(out), "missing --functions-worker-id") {
		t.Errorf("output = %q", out)
	}
}

// TestJS runs the node:test suites of grpc.js and worker.js's flags, of
// glob.js, and of core.js with the worker's app loading and invocation
// pipeline (protobuf.js's suite runs from worker/grpcworker/internal/jsschema,
// with Go's vectors).
func TestJS(t *testing.T) {
	node := nodePath(t)
	for _, suite := range []string{"grpc.test.js", "glob.test.js", "core.test.js"} {
		t.Run(suite, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), node, "--test", "--test-reporter=tap", filepath.Join("js", "test", suite))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node --test: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), "# fail 0") || !strings.Contains(string(out), "# skipped 0") {
				t.Fatalf("node --test:\n%s", out)
			}
		})
	}
}

func TestInstallWorkers(t *testing.T) {
	dir := t.TempDir()
	folder, err := nodeworker.InstallWorkers(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, nodeworker.Version()); folder != want {
		t.Errorf("InstallWorkers = %s, want %s", folder, want)
	}
	w, err := workerconfig.Resolve(workerconfig.Options{
		AppRoot:  t.TempDir(),
		Folders:  []string{folder},
		Settings: workerconfig.Settings{workerconfig.RuntimeSetting: "node"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.Command.Path != "node" || len(w.Command.Args) != 1 || w.Command.Args[0] != filepath.Join(folder, "node", nodeworker.Entry) {
		t.Errorf("command = %s %q, want node <folder>/node/worker.js", w.Command.Path, w.Command.Args)
	}
	if again, err := nodeworker.InstallWorkers(dir); err != nil || again != folder {
		t.Errorf("second InstallWorkers = %s, %v", again, err)
	}
}
