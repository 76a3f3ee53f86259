package profile

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/bench/internal/loadgen"
	"github.com/funcd/funcd/hosttest"
)

// conns is the load's concurrency, as httpbench's default.
const conns = 32

// handler is the custom handler binary, built once.
var handler struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

// handlerBin builds bench/handler into a temporary folder, once per test
// binary.
func handlerBin(b *testing.B) string {
	handler.once.Do(func() {
		handler.dir, handler.err = os.MkdirTemp("", "funcd-profile-")
		if handler.err != nil {
			return
		}
		handler.bin = filepath.Join(handler.dir, "handler")
		out, err := exec.Command("go", "build", "-o", handler.bin, "../handler").CombinedOutput()
		if err != nil {
			handler.err = err
			b.Logf("go build ../handler: %s", out)
		}
	})
	if handler.err != nil {
		b.Fatal(handler.err)
	}
	return handler.bin
}

// TestMain removes the handler binary after the benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	if handler.dir != "" {
		os.RemoveAll(handler.dir)
	}
	os.Exit(code)
}

// newApp copies ../apps/<name> to a temporary folder with the handler in it.
func newApp(b *testing.B, name string) string {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "apps", name))); err != nil {
		b.Fatal(err)
	}
	bin, err := os.ReadFile(handlerBin(b))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "handler"), bin, 0o755); err != nil {
		b.Fatal(err)
	}
	return dir
}

// BenchmarkHello drives GET /api/hello through an in-process funcd, in
// forwarding and in JSON mode, with b.N requests over 32 keep-alive
// connections, and reports the throughput, latency percentiles and CPU time
// per request. Each
// mode runs twice: with funcd's logs written to a file, as `funcd start`
// writes them to stderr (logs=file), and with them discarded (logs=off), to
// show what logging costs. BenchmarkHello/direct is the handler alone, for
// comparison.
func BenchmarkHello(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		addr := startHandler(b)
		drive(b, addr)
	})
	for _, app := range []string{"forward", "json"} {
		for _, logs := range []string{"file", "off"} {
			b.Run(app+"/logs="+logs, func(b *testing.B) {
				dir := newApp(b, app)
				handler := slog.DiscardHandler
				if logs == "file" {
					f, err := os.Create(filepath.Join(b.TempDir(), "funcd.log"))
					if err != nil {
						b.Fatal(err)
					}
					defer f.Close()
					handler = slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})
				}
				srv := hosttest.Start(b, dir, hosttest.Options{NoAuth: true, StateDir: b.TempDir(), Logger: slog.New(handler)})
				drive(b, strings.TrimPrefix(srv.URL, "http://"))
			})
		}
	}
}

// startHandler runs the handler on its own on a free loopback port until
// the benchmark ends, and returns its address.
func startHandler(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(handlerBin(b), "-addr", addr)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			b.Fatalf("the handler did not listen on %s", addr)
		}
	}
}

// drive warms the server up, then sends it b.N requests.
func drive(b *testing.B, addr string) {
	ctx := context.Background()
	cfg := loadgen.Config{Addr: addr, Path: "/api/hello", Conns: conns, Requests: 2000, WantBody: "Hello, World"}
	if _, err := loadgen.Run(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	cfg.Requests = uint64(max(b.N, conns))
	b.ResetTimer()
	res, err := loadgen.Run(ctx, cfg)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.Errors > 0 {
		b.Fatalf("%d failed requests, the first: %v", res.Errors, res.FirstErr)
	}
	b.ReportMetric(res.RPS(), "req/s")
	// CPU per request of this whole process (funcd and load generator; the
	// handler is another process): less sensitive than req/s to whatever
	// else the machine is running.
	b.ReportMetric(float64(res.ClientCPU.Microseconds())/float64(res.Requests), "cpu-µs/req")
	b.ReportMetric(ms(res.Latency.Quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(res.Latency.Quantile(0.99)), "p99-ms")
}

// ms converts a duration to milliseconds.
func ms(d time.Duration) float64 { return float64(d) / 1e6 }
