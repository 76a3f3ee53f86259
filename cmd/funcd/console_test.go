package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/console")

// logSample logs, through l, the records funcd writes in a run: an
// invocation with handler output, a failed one, handler output outside an
// invocation, startup records with attributes of every kind. Every record
// has the same time, so the output is reproducible.
func logSample(l *slog.Logger) {
	const id = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
	gen := l.With("worker", "9e8d7c6b-0000-4000-8000-000000000000")
	fn := l.With("category", "Function.hello", "function", "hello")
	inv := slog.String("invocation_id", id)
	ctx := context.Background()

	fn.LogAttrs(ctx, slog.LevelInfo, "Executing 'Functions.hello' (Reason='This function was programmatically called via the host APIs.', Id="+id+")", inv)
	gen.LogAttrs(ctx, slog.LevelInfo, `{"level":"info","msg":"hello \"Ada\"","n":1}`, inv, slog.String("function", "hello"))
	gen.LogAttrs(ctx, slog.LevelWarn, "a Warning on stderr", inv, slog.String("function", "hello"))
	l.LogAttrs(ctx, slog.LevelInfo, "echo log line", inv, slog.String("function", "hello"))
	fn.LogAttrs(ctx, slog.LevelError, "Executed 'Functions.hello' (Failed, Id="+id+", Duration=3ms)", inv,
		slog.Any("error", errors.New("function 'hello': the custom handler did not answer\nsecond line of the error")))
	fn.LogAttrs(ctx, slog.LevelInfo, "Executed 'Functions.hello' (Succeeded, Id="+id+", Duration=1ms)", inv)
	gen.Debug("HttpWorker is Initialized.")
	gen.Error("Failed to start worker process", "path", "/app/handler", "err", errors.New("fork/exec /app/handler: permission denied"))
	l.Warn("not an error value", "error", "a string")
	gen.Info("e2e handler starting on port 41234")
	l.Error("The 'broken' function is in error: bindings[0].direction: expected in or out",
		"function", "broken", "file", "broken/function.json", "line", 7, "column", 20)
	l.Info("attributes",
		"text", "two words", "empty", "", "quote", `say "hi"`, "int", -3, "uint", uint64(7), "float", 1.5,
		"bool", true, "duration", 1500*time.Millisecond, "time", time.Date(2024, 10, 24, 10, 0, 0, 0, time.UTC),
		slog.Group("req", "method", "GET", "status", 401), "bytes", []byte("raw"), "nil", nil)
	l.WithGroup("http").With("conn", 4).Info("grouped", "function", "not special in a group")
	l.Warn("a message\non two lines")
	l.Log(ctx, slog.LevelError+4, "critical")
}

// sampleTime is the time of every sample record.
var sampleTime = time.Date(2024, 10, 24, 10, 0, 0, 123456789, time.UTC)

// fixedTime sets every record's time to sampleTime.
type fixedTime struct{ slog.Handler }

func (h fixedTime) Handle(ctx context.Context, r slog.Record) error {
	r.Time = sampleTime
	return h.Handler.Handle(ctx, r)
}
func (h fixedTime) WithAttrs(as []slog.Attr) slog.Handler { return fixedTime{h.Handler.WithAttrs(as)} }
func (h fixedTime) WithGroup(n string) slog.Handler       { return fixedTime{h.Handler.WithGroup(n)} }

func TestConsoleGolden(t *testing.T) {
	for _, c := range []struct {
		name  string
		color bool
	}{{"plain", false}, {"color", true}} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			logSample(slog.New(fixedTime{newConsoleHandler(&buf, slog.LevelDebug, c.color)}))
			golden := filepath.Join("testdata", "console", c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/funcd -run TestConsoleGolden -update to create it)", err)
			}
			if got := buf.String(); got != string(want) {
				t.Errorf("console output differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

func TestConsoleLevel(t *testing.T) {
	var buf bytes.Buffer
	var level slog.LevelVar
	l := slog.New(newConsoleHandler(&buf, &level, false))
	l.Debug("hidden")
	level.Set(slog.LevelDebug)
	l.Debug("shown")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "DEBUG shown") {
		t.Errorf("output = %q", got)
	}
}

// TestJSONLogsParse: every line of the JSON format is one JSON object with
// the record's message, level and attributes, handler output included.
func TestJSONLogsParse(t *testing.T) {
	var buf bytes.Buffer
	g := &globals{logFormat: logJSON, verbose: true}
	logSample(g.loggerTo(&buf))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 15 {
		t.Fatalf("%d lines, want one per record (15):\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("line %d has no %q: %s", i+1, k, line)
			}
		}
	}
	var out map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &out)
	if out["msg"] != `{"level":"info","msg":"hello \"Ada\"","n":1}` || out["invocation_id"] == nil || out["worker"] == nil {
		t.Errorf("handler output record = %v", out)
	}
}

func TestLogFormatSelection(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		name       string
		flag       string
		terminal   bool
		getenv     func(string) string
		wantFormat string
		wantColor  bool
	}{
		{"a terminal", logAuto, true, env(), logConsole, true},
		{"a terminal, NO_COLOR", logAuto, true, env("NO_COLOR", "1"), logConsole, false},
		{"a terminal, NO_COLOR empty", logAuto, true, env("NO_COLOR", ""), logConsole, true},
		{"a dumb terminal", logAuto, true, env("TERM", "dumb"), logConsole, false},
		{"a pipe", logAuto, false, env(), logJSON, false},
		{"a pipe, forced console", logConsole, false, env(), logConsole, false},
		{"a terminal, forced json", logJSON, true, env(), logJSON, false},
		{"a terminal, forced text", logText, true, env(), logText, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := &globals{logFormat: c.flag, stderrTerminal: c.terminal, getenv: c.getenv}
			if got := g.format(); got != c.wantFormat {
				t.Errorf("format = %q, want %q", got, c.wantFormat)
			}
			var buf bytes.Buffer
			g.loggerTo(&buf).Warn("message", "k", "v")
			out := buf.String()
			hasColor := strings.Contains(out, "\x1b[")
			if hasColor != c.wantColor {
				t.Errorf("colour = %v, want %v: %q", hasColor, c.wantColor, out)
			}
			switch c.wantFormat {
			case logJSON:
				if !json.Valid([]byte(out)) {
					t.Errorf("not JSON: %q", out)
				}
			case logText:
				if !strings.HasPrefix(out, "time=") {
					t.Errorf("not slog text: %q", out)
				}
			case logConsole:
				if !strings.Contains(out, "WARN message k=v") {
					t.Errorf("not the console format: %q", out)
				}
			}
		})
	}
}

func TestLogFormatFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"version", "--log-format", "yaml"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), `--log-format "yaml": want auto, console, json or text`) {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"version", "--log-format", "console"}, &stdout, &stderr); code != 0 {
		t.Errorf("--log-format console: exit %d, stderr %q", code, stderr.String())
	}
}

// TestConsoleHandlerAllocations: formatting an invocation record allocates
// nothing once the buffer pool is warm (no fmt, no reflection).
func TestConsoleHandlerAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop buffers")
	}
	l := slog.New(newConsoleHandler(discard{}, slog.LevelInfo, true)).With("category", "Function.hello", "function", "hello")
	inv := slog.String("invocation_id", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b")
	ctx := context.Background()
	n := testing.AllocsPerRun(1000, func() {
		l.LogAttrs(ctx, slog.LevelInfo, "handler output line", inv, slog.Int("n", 1))
	})
	if n > 0 {
		t.Errorf("%v allocations per record, want 0", n)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkLogHandlers compares the console handler with slog's text and
// JSON handlers on an invocation record.
func BenchmarkLogHandlers(b *testing.B) {
	for _, c := range []struct {
		name string
		h    slog.Handler
	}{
		{"console", newConsoleHandler(discard{}, slog.LevelInfo, true)},
		{"text", slog.NewTextHandler(discard{}, nil)},
		{"json", slog.NewJSONHandler(discard{}, nil)},
	} {
		b.Run(c.name, func(b *testing.B) {
			l := slog.New(c.h).With("category", "Function.hello", "function", "hello")
			inv := slog.String("invocation_id", "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b")
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				l.LogAttrs(ctx, slog.LevelInfo, "Executed 'Functions.hello' (Succeeded, Id=3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b, Duration=1ms)", inv)
			}
		})
	}
}
