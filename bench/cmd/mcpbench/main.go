// Command mcpbench measures funcd's MCP webhook, /runtime/webhooks/mcp:
// tools/call round trips per second to a no-op tool over the streamable
// HTTP transport, driven by the official MCP Go SDK's client
// (mcp.NewClient and StreamableClientTransport; each client one session,
// calling tools/call in a loop), against, in the same run:
//
//  1. funcd: `funcd start` built from this checkout, serving bench/apps/mcpgo
//     (funcd's Go SDK, the tool noop answering "ok"; built as "app",
//     FUNCTIONS_WORKER_RUNTIME golang). The webhook is reached as a real
//     client reaches it: the mcp_extension system key, set with
//     `funcd keys set --system` before funcd starts, in x-functions-key;
//     the MCP extension's settings are the defaults (client state
//     encrypted).
//  2. bare: a plain MCP server built with the same Go SDK (this binary run
//     again with -serve: mcp.NewServer, AddTool noop answering "ok",
//     NewStreamableHTTPHandler, stateless), on 127.0.0.1.
//  3. the yardstick: GET /api/hello of the same app through the same funcd
//     and Go SDK worker, an anonymous HTTP function answering "ok", driven
//     by the load generator of the HTTP benchmarks: what one plain
//     invocation through funcd and the worker costs. The Go SDK worker
//     serves HTTP functions through its HttpUri proxy, and funcd answers
//     once the forwarded response is back, before the InvocationResponse;
//  4. the same yardstick on a second funcd whose worker runs with
//     FUNCTIONS_GO_DISABLE_HTTP_PROXY=true: the request goes inside the
//     InvocationRequest and the response comes back in the
//     InvocationResponse, the gRPC round trip an MCP tool call makes.
//
// Per round and peer, in rotating order, and for each client count of
// -clients: the clients connect (initialize, not measured), a warm-up, then
// a measured run; the CPU time of the server's processes over the measured
// run is read from /proc (funcd and its worker, or the bare server). Medians
// over the rounds; ratios and added latency are medians of per-round
// comparisons.
//
// Usage, from the module root:
//
//	go run ./bench/cmd/mcpbench [-duration 5s] [-rounds 3] [-clients 1,8,32] [-gogc 100] [-out file.md]
//
// Every process the benchmark starts is stopped when it ends, fails, or is
// interrupted. It exits with status 1 when it cannot run, and 2 when it ran
// but a goal was missed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/bench/internal/benchrun"
	"github.com/funcd/funcd/bench/internal/loadgen"
)

// options are the command's flags.
type options struct {
	duration    time.Duration // length of each measured run
	warmup      time.Duration // load before each measured run
	clients     []int         // client counts, ascending
	rounds      int           // interleaved rounds
	procs       int           // GOMAXPROCS of the clients
	serverProcs int           // the default GOMAXPROCS, which the servers keep
	out         string        // file for the markdown report
	gogc        string        // GOGC of the servers; "" for Go's default
}

// The goals funcd's MCP webhook is held to.
const (
	goalThroughput = 0.5                    // funcd calls/s ≥ 0.5 × bare's, at every client count
	goalAdded      = 500 * time.Microsecond // funcd p50 at one client minus bare's
)

// The tool's name and answer, and the yardstick's path.
const (
	toolName  = "noop"
	answer    = "ok"
	helloPath = "/api/hello"
	mcpPath   = "/runtime/webhooks/mcp"
)

// peerKind says what a peer is.
type peerKind int

const (
	funcdMCP  peerKind = iota // funcd's MCP webhook, Go SDK worker
	bareMCP                   // the Go SDK's MCP server alone
	funcdHTTP                 // the yardstick: an HTTP function of the same app
	funcdGRPC                 // the yardstick on a worker without its HTTP proxy
)

// peer is one of the servers measured.
type peer struct {
	name string
	kind peerKind
	addr string // host:port

	proc   *benchproc.Process // the process served from: funcd or the bare server
	worker int                // funcd's worker process; 0 for the bare server

	rounds []round
}

// round is one round's runs of a peer, one a client count (in the order
// of options.clients).
type round struct {
	runs []run
}

// run is one measured run: what the clients saw, and the CPU time the
// processes used over it.
type run struct {
	clients   int
	res       *loadgen.Result
	hostCPU   time.Duration // funcd's, or the bare server's
	workerCPU time.Duration // funcd's worker's; 0 for the bare server
	clientCPU time.Duration // this process's (the clients')
}

func main() {
	os.Exit(mainStatus(os.Args[1:], os.Stdout, os.Stderr))
}

// mainStatus runs the benchmark, or the bare server with -serve, and
// returns the exit status.
func mainStatus(args []string, stdout, stderr io.Writer) int {
	var o options
	var clients, serve string
	fs := flag.NewFlagSet("mcpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each measured run, not measured")
	fs.StringVar(&clients, "clients", "1,8,32", "comma-separated client counts (MCP sessions, or connections of the yardstick)")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every peer once, in rotating order")
	fs.IntVar(&o.procs, "procs", 1, "GOMAXPROCS of the clients")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&o.gogc, "gogc", "", "GOGC of every server process (funcd, its worker, the bare server); set, it turns funcd's heap floor off; default: Go's")
	fs.StringVar(&serve, "serve", "", "serve the bare MCP server on this address instead (used by the benchmark itself)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if serve != "" {
		if err := serveBare(serve); err != nil {
			fmt.Fprintln(stderr, "mcpbench -serve:", err)
			return 1
		}
		return 0
	}
	for f := range strings.SplitSeq(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "mcpbench: -clients: %q is not a positive count\n", f)
			return 1
		}
		o.clients = append(o.clients, n)
	}
	slices.Sort(o.clients)
	o.clients = slices.Compact(o.clients)
	if o.clients[0] != 1 {
		fmt.Fprintln(stderr, "mcpbench: -clients must include 1 (the latency goal is measured at one client)")
		return 1
	}
	if o.gogc != "" {
		if n, err := strconv.Atoi(o.gogc); (err != nil || n < 1) && o.gogc != "off" {
			fmt.Fprintf(stderr, "mcpbench: -gogc: %q is neither a positive percentage nor off\n", o.gogc)
			return 1
		}
	}
	if fs.NArg() > 0 || o.duration <= 0 || o.warmup < 0 || o.rounds < 1 || o.procs < 1 {
		fmt.Fprintln(stderr, "mcpbench: bad flags; see -h")
		return 1
	}
	o.serverProcs = runtime.GOMAXPROCS(o.procs)

	return benchrun.Main("mcpbench", o.out, stdout, stderr, func(ctx context.Context, procs *benchproc.Set) (benchrun.Report, error) {
		b := &bench{opts: o, procs: procs, log: stderr, command: benchrun.CommandLine("./bench/cmd/mcpbench", args)}
		return b.run(ctx)
	})
}

// bench is one run of the benchmark.
type bench struct {
	opts    options
	procs   *benchproc.Set
	log     io.Writer
	command string

	root string // module root
	tmp  string // the app, its state, logs
	key  string // the mcp_extension system key

	funcdBin, appBin string
}

// env is the servers' environment.
func (b *bench) env() []string {
	if b.opts.gogc != "" {
		return benchrun.ChildEnv("GOGC=" + b.opts.gogc)
	}
	return benchrun.ChildEnv()
}

// run builds and starts the peers, measures them and returns the report.
func (b *bench) run(ctx context.Context) (*report, error) {
	var err error
	if b.root, err = benchrun.ModuleRoot(ctx); err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "funcd-mcpbench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)
	defer b.procs.StopAll() // before the folder goes

	funcd := &peer{name: "funcd MCP (Go SDK worker)", kind: funcdMCP}
	bare := &peer{name: "bare Go SDK MCP server", kind: bareMCP}
	yard := &peer{name: "yardstick: funcd HTTP GET (same worker)", kind: funcdHTTP}
	grpc := &peer{name: "yardstick: funcd HTTP GET, no HTTP proxy (gRPC only)", kind: funcdGRPC}
	if err := b.build(ctx); err != nil {
		return nil, err
	}
	if err := b.startFuncd(ctx, funcd, "app"); err != nil {
		return nil, err
	}
	yard.addr, yard.proc, yard.worker = funcd.addr, funcd.proc, funcd.worker
	if err := b.startFuncd(ctx, grpc, "app-noproxy", "FUNCTIONS_GO_DISABLE_HTTP_PROXY=true"); err != nil {
		return nil, err
	}
	if err := b.startBare(ctx, bare); err != nil {
		return nil, err
	}
	if err := b.smoke(ctx, funcd, bare, yard, grpc); err != nil {
		return nil, err
	}

	peers := []*peer{funcd, bare, yard, grpc}
	for r := range b.opts.rounds {
		for i := range peers {
			p := peers[(i+r)%len(peers)] // rotate, so no peer always goes first
			b.logf("round %d/%d: %s", r+1, b.opts.rounds, p.name)
			var rr round
			for _, n := range b.opts.clients {
				ru, err := b.measure(ctx, p, n)
				if err != nil {
					return nil, fmt.Errorf("%s, %d clients: %w", p.name, n, err)
				}
				rr.runs = append(rr.runs, ru)
			}
			p.rounds = append(p.rounds, rr)
		}
	}
	return newReport(b, funcd, bare, yard, grpc), nil
}

// build builds bin/funcd and the app (into the temporary folder's app),
// and sets the app's mcp_extension system key in its state folder.
func (b *bench) build(ctx context.Context) error {
	b.logf("building bin/funcd and the app")
	b.funcdBin = filepath.Join(b.root, "bin", "funcd")
	if err := benchrun.GoBuild(ctx, b.root, b.funcdBin, "./cmd/funcd"); err != nil {
		return err
	}
	b.appBin = filepath.Join(b.tmp, "app-bin")
	if err := benchrun.GoBuild(ctx, b.root, b.appBin, "./bench/apps/mcpgo"); err != nil {
		return err
	}
	var k [24]byte
	_, _ = rand.Read(k[:])
	b.key = hex.EncodeToString(k[:])
	return nil
}

// startFuncd copies the app to the folder name of the temporary folder,
// sets its mcp_extension system key, and starts `funcd start` on it with
// keys required and extra in its environment.
func (b *bench) startFuncd(ctx context.Context, p *peer, name string, extra ...string) error {
	dir := filepath.Join(b.tmp, name)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(b.root, "bench", "apps", "mcpgo"))); err != nil {
		return fmt.Errorf("cannot copy app mcpgo: %w", err)
	}
	exe := filepath.Join(dir, "app")
	bin, err := os.ReadFile(b.appBin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		return err
	}
	state := filepath.Join(b.tmp, name+"-state")
	cmd := exec.CommandContext(ctx, b.funcdBin, "keys", "set", "mcp_extension", b.key, "--system", "--script-root", dir, "--state-dir", state)
	cmd.Env = benchrun.ChildEnv()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("funcd keys set mcp_extension --system: %w\n%s", err, msg)
	}

	if p.addr, err = benchproc.FreeAddr(); err != nil {
		return err
	}
	_, port, _ := strings.Cut(p.addr, ":")
	b.logf("starting %s on %s with app %s", p.name, p.addr, dir)
	p.proc, err = b.procs.Start(p.name, dir, filepath.Join(b.tmp, name+"-funcd.log"), append(b.env(), extra...), b.funcdBin,
		"start", "--script-root", dir, "--port", port, "--state-dir", state)
	if err != nil {
		return err
	}
	if err := p.proc.WaitReady(ctx, "http", p.addr, nil, 60*time.Second); err != nil {
		return err
	}
	pid, resolved, err := benchproc.FindChild(p.proc.PID(), exe, 30*time.Second)
	if err != nil {
		return fmt.Errorf("%s: %w; its output:\n%s", p.name, err, p.proc.LogTail())
	}
	p.worker = pid
	p.proc.Adopt(pid, resolved)
	return nil
}

// startBare runs this binary again with -serve.
func (b *bench) startBare(ctx context.Context, p *peer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if p.addr, err = benchproc.FreeAddr(); err != nil {
		return err
	}
	b.logf("starting %s on %s", p.name, p.addr)
	p.proc, err = b.procs.Start(p.name, b.tmp, filepath.Join(b.tmp, "bare.log"), b.env(), self, "-serve", p.addr)
	if err != nil {
		return err
	}
	return p.proc.WaitReady(ctx, "http", p.addr, nil, 30*time.Second)
}

// serveBare is the bare server: the Go SDK's MCP server with the tool noop,
// over the stateless streamable HTTP transport, as funcd's webhook serves it.
func serveBare(addr string) error {
	srv := mcp.NewServer(&mcp.Implementation{Name: "bare", Version: "1.0.0"}, nil)
	srv.AddTool(&mcp.Tool{Name: toolName, Description: "Does nothing; answers ok.", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: answer}}}, nil
		})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	return http.ListenAndServe(addr, h)
}

// smoke checks every peer before it is measured: funcd refuses a client
// without the key, and with it lists and calls the tool; the bare server
// calls it; the yardsticks answer.
func (b *bench) smoke(ctx context.Context, funcd, bare *peer, yards ...*peer) error {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if _, err := connect(ctx, &http.Client{Transport: tr}, "http://"+funcd.addr+mcpPath); err == nil {
		return fmt.Errorf("%s: a client without the key connected; the benchmark would not measure the key check", funcd.name)
	}
	for _, p := range []*peer{funcd, bare} {
		cs, err := connect(ctx, b.httpClient(p, tr), b.endpoint(p))
		if err != nil {
			return fmt.Errorf("%s: %w; its output:\n%s", p.name, err, p.proc.LogTail())
		}
		tools, err := cs.ListTools(ctx, nil)
		if err != nil || !slices.ContainsFunc(tools.Tools, func(t *mcp.Tool) bool { return t.Name == toolName }) {
			cs.Close()
			return fmt.Errorf("%s: tools/list: %v, %v; want the tool %s", p.name, err, tools, toolName)
		}
		for range benchrun.SmokeRequests {
			if err := call(ctx, cs); err != nil {
				cs.Close()
				return fmt.Errorf("%s: %w; its output:\n%s", p.name, err, p.proc.LogTail())
			}
		}
		cs.Close()
	}
	for _, y := range yards {
		if err := benchrun.Smoke(ctx, y.name, benchrun.Target{Load: loadgen.Config{Addr: y.addr, Path: helloPath, WantBody: answer}, Proc: y.proc}); err != nil {
			return err
		}
	}
	return nil
}

// endpoint is a peer's MCP endpoint.
func (b *bench) endpoint(p *peer) string {
	if p.kind == bareMCP {
		return "http://" + p.addr
	}
	return "http://" + p.addr + mcpPath
}

// httpClient is the HTTP client of a peer's MCP clients over tr: funcd's
// sends the key.
func (b *bench) httpClient(p *peer, tr http.RoundTripper) *http.Client {
	if p.kind == funcdMCP {
		tr = keyTransport{key: b.key, base: tr}
	}
	return &http.Client{Transport: tr}
}

// keyTransport adds the function key to each request, in x-functions-key.
type keyTransport struct {
	key  string
	base http.RoundTripper
}

func (k keyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("x-functions-key", k.key)
	return k.base.RoundTrip(r)
}

// connect opens an MCP session: the Go SDK's client over the streamable
// HTTP transport, with its defaults.
func connect(ctx context.Context, hc *http.Client, endpoint string) (*mcp.ClientSession, error) {
	c := mcp.NewClient(&mcp.Implementation{Name: "mcpbench", Version: "1.0.0"}, nil)
	return c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc, MaxRetries: -1}, nil)
}

// call calls the tool once and checks its answer.
func call(ctx context.Context, cs *mcp.ClientSession) error {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: toolName})
	if err != nil {
		return fmt.Errorf("tools/call %s: %w", toolName, err)
	}
	if res.IsError || len(res.Content) != 1 {
		return fmt.Errorf("tools/call %s: result %+v, want the text %q", toolName, res, answer)
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); !ok || tc.Text != answer {
		return fmt.Errorf("tools/call %s: content %+v, want the text %q", toolName, res.Content[0], answer)
	}
	return nil
}

// measure runs one peer at n clients: a warm-up, then the measured run with
// the CPU time of the peer's processes and of the clients over it.
func (b *bench) measure(ctx context.Context, p *peer, n int) (run, error) {
	ru := run{clients: n}
	cpu := func() (host, worker, client time.Duration) {
		host = benchproc.CPUOf(p.proc.PID())
		if p.worker != 0 {
			worker = benchproc.CPUOf(p.worker)
		}
		return host, worker, benchproc.CPUOf(os.Getpid())
	}
	var measured func(d time.Duration, measure func() error) error
	if p.kind == funcdHTTP || p.kind == funcdGRPC {
		cfg := loadgen.Config{Addr: p.addr, Path: helloPath, WantBody: answer, Conns: n}
		measured = func(d time.Duration, measure func() error) error {
			cfg.Duration = d
			res, err := loadgen.Run(ctx, cfg)
			if err != nil {
				return err
			}
			ru.res = res
			return measure()
		}
	} else {
		tr := &http.Transport{MaxIdleConnsPerHost: 2*n + 4}
		defer tr.CloseIdleConnections()
		sessions, err := b.sessions(ctx, p, tr, n)
		if err != nil {
			return ru, err
		}
		defer func() {
			for _, cs := range sessions {
				cs.Close()
			}
		}()
		measured = func(d time.Duration, measure func() error) error {
			ru.res = drive(ctx, sessions, d)
			return measure()
		}
	}
	if b.opts.warmup > 0 {
		if err := measured(b.opts.warmup, func() error { return nil }); err != nil {
			return ru, err
		}
	}
	h0, w0, c0 := cpu()
	err := measured(b.opts.duration, func() error {
		h1, w1, c1 := cpu()
		ru.hostCPU, ru.workerCPU, ru.clientCPU = h1-h0, w1-w0, c1-c0
		return nil
	})
	if err != nil {
		return ru, err
	}
	select {
	case <-p.proc.Exited():
		return ru, fmt.Errorf("exited (%v); its output:\n%s", p.proc.Err(), p.proc.LogTail())
	default:
	}
	if ru.res.Errors > 0 {
		b.logf("  warning: %d failed calls at %d clients, the first: %v", ru.res.Errors, n, ru.res.FirstErr)
	}
	b.logf("  %d clients: %.0f calls/s, p50 %s ms, p99 %s ms", n, ru.res.RPS(),
		benchrun.MS(ru.res.Latency.Quantile(0.5)), benchrun.MS(ru.res.Latency.Quantile(0.99)))
	return ru, ctx.Err()
}

// sessions connects n MCP clients to a peer, each with a session of its
// own, over one HTTP transport that keeps their connections alive.
func (b *bench) sessions(ctx context.Context, p *peer, tr *http.Transport, n int) ([]*mcp.ClientSession, error) {
	hc := b.httpClient(p, tr)
	var sessions []*mcp.ClientSession
	for range n {
		cs, err := connect(ctx, hc, b.endpoint(p))
		if err != nil {
			for _, s := range sessions {
				s.Close()
			}
			return nil, fmt.Errorf("connect: %w; its output:\n%s", err, p.proc.LogTail())
		}
		sessions = append(sessions, cs)
	}
	return sessions, nil
}

// drive has every session call the tool in a loop for d, and returns the
// calls that succeeded, their latencies, and the failures.
func drive(ctx context.Context, sessions []*mcp.ClientSession, d time.Duration) *loadgen.Result {
	type part struct {
		ok, failed uint64
		firstErr   error
		hist       loadgen.Histogram
		end        time.Time
	}
	parts := make([]part, len(sessions))
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i, cs := range sessions {
		wg.Go(func() {
			pt := &parts[i]
			for {
				t0 := time.Now()
				if !t0.Before(deadline) || ctx.Err() != nil {
					break
				}
				if err := call(ctx, cs); err != nil {
					pt.failed++
					if pt.firstErr == nil {
						pt.firstErr = err
					}
					continue
				}
				pt.end = time.Now()
				pt.hist.Record(pt.end.Sub(t0))
				pt.ok++
			}
		})
	}
	wg.Wait()
	res := &loadgen.Result{}
	var end time.Time
	for i := range parts {
		pt := &parts[i]
		res.Requests += pt.ok
		res.Errors += pt.failed
		if res.FirstErr == nil {
			res.FirstErr = pt.firstErr
		}
		res.Latency.Merge(&pt.hist)
		if pt.end.After(end) {
			end = pt.end
		}
	}
	if !end.IsZero() {
		res.Elapsed = end.Sub(start)
	}
	if res.FirstErr == nil && res.Requests == 0 {
		res.FirstErr = errors.New("no call completed")
	}
	return res
}

// logf prints progress on stderr.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "mcpbench: "+format+"\n", args...)
}
