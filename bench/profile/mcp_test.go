package profile

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/bench/internal/loadgen"
	"github.com/funcd/funcd/hosttest"
)

// keyTransport adds the function key to each request.
type keyTransport struct {
	key  string
	base http.RoundTripper
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-functions-key", k.key)
	return k.base.RoundTrip(r)
}

// BenchmarkMCP calls the no-op tool of ../apps/mcpgo (funcd's Go SDK, the
// app of bench/cmd/mcpbench, a worker process of its own) b.N times through
// an in-process funcd's MCP webhook, from 1 and from 8 sessions of the MCP
// Go SDK's client over the streamable HTTP transport, with the
// mcp_extension system key. BenchmarkMCP/invoke is the tool's function
// alone: the host's invocation of it (the gRPC InvocationRequest to the
// worker and its response), one at a time, with the trigger and metadata a
// tools/call gives it; what a call through the webhook adds to the SDK's
// own work. For a CPU profile, from the module root:
//
//	go test ./bench/profile -run '^$' -bench 'MCP/clients=8' -benchtime 20000x -cpuprofile /tmp/cpu.out
//	go tool pprof -top -cum /tmp/cpu.out
//
// funcd's share is under httpapi.(*Server).ServeHTTP; the clients' under
// mcp.(*ClientSession).CallTool.
func BenchmarkMCP(b *testing.B) {
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) { benchMCP(b, n) })
	}
	b.Run("invoke", benchInvoke)
}

// startMCPApp builds ../apps/mcpgo and serves it with an in-process funcd
// that requires keys.
func startMCPApp(b *testing.B) *hosttest.Server {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "apps", "mcpgo"))); err != nil {
		b.Fatal(err)
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "app"), "../apps/mcpgo").CombinedOutput(); err != nil {
		b.Fatalf("go build ../apps/mcpgo: %v\n%s", err, out)
	}
	return hosttest.Start(b, dir, hosttest.Options{StateDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
}

// benchInvoke invokes the tool's function b.N times, one at a time.
func benchInvoke(b *testing.B) {
	srv := startMCPApp(b)
	ctx := context.Background()
	trigger := `{"name":"noop","arguments":{},"sessionid":null,"clientinfo":null,` +
		`"transport":{"name":"http-streamable","sessionId":null,"properties":{"headers":{"Accept":"application/json, text/event-stream","Content-Type":"application/json"}}}}`
	var seq int
	invoke := func() {
		g, err := srv.Host.Acquire()
		if err != nil {
			b.Fatal(err)
		}
		defer g.Release()
		fn := g.Function("noop")
		if fn == nil {
			b.Fatal("no function noop")
		}
		seq++
		inv := &funcd.Invocation{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", seq), Function: fn, Trigger: funcd.JSONValue([]byte(trigger)),
			Metadata: map[string]json.RawMessage{"mcptoolcontext": json.RawMessage(trigger), "mcptoolargs": json.RawMessage(`{}`), "mcpsessionid": json.RawMessage(`null`)}}
		res, err := g.Invoke(ctx, inv)
		if err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(string(res.ReturnValue.Data), "ok") {
			b.Fatalf("noop returned %s", res.ReturnValue.Data)
		}
	}
	for range 500 { // warm-up
		invoke()
	}
	var h loadgen.Histogram
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		t0 := time.Now()
		invoke()
		h.Record(time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(h.Count())/elapsed.Seconds(), "calls/s")
	b.ReportMetric(ms(h.Quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(h.Quantile(0.99)), "p99-ms")
}

func benchMCP(b *testing.B, mcpClients int) {
	srv := startMCPApp(b)
	ctx := context.Background()
	key, err := srv.Host.Keys().ExtensionKey(ctx, "mcp")
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2*mcpClients + 4}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: keyTransport{key: key, base: tr}}
	sessions := make([]*mcp.ClientSession, mcpClients)
	for i := range sessions {
		c := mcp.NewClient(&mcp.Implementation{Name: "profile", Version: "1.0.0"}, nil)
		cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + "/runtime/webhooks/mcp", HTTPClient: hc, MaxRetries: -1}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		sessions[i] = cs
	}
	call := func(cs *mcp.ClientSession) error {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "noop"})
		if err == nil && (res.IsError || len(res.Content) != 1) {
			b.Errorf("noop: result %+v", res)
		}
		return err
	}
	run := func(n int64) loadgen.Histogram {
		var left atomic.Int64
		left.Store(n)
		var mu sync.Mutex
		var all loadgen.Histogram
		var wg sync.WaitGroup
		for _, cs := range sessions {
			wg.Go(func() {
				var h loadgen.Histogram
				for left.Add(-1) >= 0 {
					t0 := time.Now()
					if err := call(cs); err != nil {
						b.Error(err)
						return
					}
					h.Record(time.Since(t0))
				}
				mu.Lock()
				all.Merge(&h)
				mu.Unlock()
			})
		}
		wg.Wait()
		return all
	}
	run(500) // warm-up
	b.ResetTimer()
	start := time.Now()
	h := run(int64(max(b.N, mcpClients)))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(h.Count())/elapsed.Seconds(), "calls/s")
	b.ReportMetric(ms(h.Quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(h.Quantile(0.99)), "p99-ms")
}
