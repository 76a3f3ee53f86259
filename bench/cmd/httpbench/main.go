// Command httpbench measures what funcd adds to an HTTP-triggered function:
// it drives GET /api/hello of a hello-world Go custom handler (bench/handler)
// served several ways ("peers"), in the same run:
//
//  1. direct: the handler alone, as a plain net/http server, the baseline;
//  2. funcd forward: funcd in front of it, forwarding the request as is
//     (host.json enableForwardingHttpRequest: true, bench/apps/forward);
//  3. funcd json: funcd in front of it in the default custom-handler mode,
//     posting the JSON invocation payload (bench/apps/json);
//  4. unless -tls=false, funcd forward TLS: the forwarding app served over
//     HTTPS (HTTP/1.1 over TLS, a certificate made for the run);
//  5. unless -proxy=false, three yardsticks (bench/proxy, each in front of a
//     handler of its own) for what one more hop costs on the machine with
//     nothing of funcd's done: an httputil.ReverseProxy (an extra hop
//     through net/http), a minimal HTTP/1.1 proxy (one goroutine per
//     connection, http.ReadRequest and http.ReadResponse, nothing else) and
//     a TCP relay that copies bytes without parsing them, which no process
//     in front of the handler can beat.
//
// It builds bin/funcd, the handler and the proxy, starts the peers, and measures
// each one's idle resident memory. Then, over several rounds that interleave
// the peers (so that machine noise hits them alike), it warms each peer up
// and drives it with a closed-loop load generator on loopback: a fixed number
// of keep-alive connections (32 by default), then a single connection, for
// the throughput, the latency percentiles and the latency funcd adds. It
// reports medians over the rounds as a markdown table, checks them against
// funcd's goals and prints PASS or FAIL for each.
//
// The load generator runs in this process, with GOMAXPROCS 1 by default
// (-procs), so that on a small machine it cannot take more than one core from
// the servers it measures.
//
// Usage, from the module root:
//
//	go run ./bench/cmd/httpbench [-duration 10s] [-concurrency 32] [-rounds 3] [-out file.md]
//
// Every process the benchmark starts is stopped when it ends, fails, or is
// interrupted. It exits with status 1 when it cannot run, and 2 when it ran
// but a goal was missed.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/bench/internal/benchrun"
	"github.com/funcd/funcd/bench/internal/loadgen"
)

// options are the command's flags.
type options struct {
	duration    time.Duration // length of each measured run
	warmup      time.Duration // load before each measured run at concurrency
	concurrency int           // connections of the loaded pass
	rounds      int           // interleaved rounds
	procs       int           // GOMAXPROCS of the load generator
	serverProcs int           // the default GOMAXPROCS, which the servers keep
	settle      time.Duration // wait before reading idle memory
	proxy       bool          // also measure the proxy yardsticks
	tls         bool          // also measure funcd over TLS
	out         string        // file for the markdown report
}

// goals funcd is held to.
const (
	goalThroughputRatio = 0.5                    // funcd req/s ≥ 0.5 × direct
	goalAddedLatency    = 300 * time.Microsecond // added median latency at c=1
	goalIdleRSSMiB      = 30.0                   // funcd's idle VmRSS
	goalCPUOverMinimal  = 2.6                    // funcd forward's CPU/req ≤ 2.6 × the minimal proxy's
)

// greeting is what every peer answers GET /api/hello with.
const greeting = "Hello, World"

// helloPath is the function's URL path: route prefix "api", function "hello".
const helloPath = "/api/hello"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the benchmark and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("httpbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each measured run, not measured")
	fs.IntVar(&o.concurrency, "concurrency", 32, "keep-alive connections of the loaded pass")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every peer once, in rotating order")
	fs.IntVar(&o.procs, "procs", 1, "GOMAXPROCS of the load generator")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after startup and a few requests before reading idle memory")
	fs.BoolVar(&o.proxy, "proxy", true, "also measure the yardsticks: an httputil.ReverseProxy, a minimal HTTP proxy and a TCP relay in front of the handler")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.BoolVar(&o.tls, "tls", true, "also measure funcd forwarding over HTTPS (HTTP/1.1 over TLS, with a certificate made for the run)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() > 0 || o.duration <= 0 || o.concurrency < 1 || o.rounds < 1 || o.procs < 1 {
		fmt.Fprintln(stderr, "httpbench: bad flags; see -h")
		return 1
	}
	o.serverProcs = runtime.GOMAXPROCS(o.procs)

	return benchrun.Main("httpbench", o.out, stdout, stderr, func(ctx context.Context, procs *benchproc.Set) (benchrun.Report, error) {
		b := &bench{opts: o, procs: procs, log: stderr, command: benchrun.CommandLine("./bench/cmd/httpbench", args)}
		rep, err := b.run(ctx)
		if err != nil {
			return nil, err
		}
		return rep, nil
	})
}

// bench is one run of the benchmark.
type bench struct {
	opts    options
	procs   *benchproc.Set
	log     io.Writer
	command string

	root string // module root
	tmp  string // apps, binaries but funcd's, logs

	funcdBin, handlerBin, proxyBin string

	certFile, keyFile string      // the TLS peer's certificate, made by makeCert
	clientTLS         *tls.Config // trusts certFile
}

// peerKind says how a peer serves the hello function.
type peerKind int

const (
	direct       peerKind = iota // the handler alone
	proxied                      // a bench/proxy yardstick in front of the handler
	funcdForward                 // funcd, forwarding mode
	funcdJSON                    // funcd, JSON mode
	funcdTLS                     // funcd, forwarding mode, HTTPS (HTTP/1.1 over TLS)
)

// peer is one way of serving the hello function.
type peer struct {
	name string // as reported
	kind peerKind
	mode string // bench/proxy's -mode, for proxied
	addr string // where GET /api/hello is served
	tls  bool   // served over TLS

	proc    *benchproc.Process // the process served from: the handler, the proxy or funcd
	handler int                // the handler's pid: proc's own, the proxy's handler, or funcd's child

	idle, idleHandler benchproc.Memory // after startup, a few requests and settling
	load, loadHandler benchproc.Memory // after every round

	rounds []roundResult
}

// isFuncd reports whether the peer is funcd.
func (p *peer) isFuncd() bool {
	return p.kind == funcdForward || p.kind == funcdJSON || p.kind == funcdTLS
}

// hasHost reports whether a process (funcd or the proxy) stands between the
// client and the handler.
func (p *peer) hasHost() bool { return p.kind != direct }

// appCopy names the peer's own copy of its app, under the temporary folder.
func (p *peer) appCopy() string {
	if p.tls {
		return p.app() + "-tls"
	}
	return p.app()
}

// scheme is the peer's URL scheme.
func (p *peer) scheme() string {
	if p.tls {
		return "https"
	}
	return "http"
}

// app returns the folder under bench/apps of a funcd peer.
func (p *peer) app() string {
	if p.kind == funcdJSON {
		return "json"
	}
	return "forward"
}

// roundResult is one round's measurements of one peer: hostCPU is funcd's
// or the proxy's (0 for direct).
type roundResult = benchrun.Round

// run builds, starts the peers, measures them and returns the report.
func (b *bench) run(ctx context.Context) (*report, error) {
	var err error
	if b.root, err = benchrun.ModuleRoot(ctx); err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "funcd-httpbench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)
	// Stop the servers before their folder goes (defers run last in, first
	// out). The caller's deferred stopAll covers what happens before this.
	defer b.procs.StopAll()

	b.logf("building bin/funcd, the handler and the proxy")
	b.funcdBin = filepath.Join(b.root, "bin", "funcd")
	b.handlerBin = filepath.Join(b.tmp, "handler")
	b.proxyBin = filepath.Join(b.tmp, "proxy")
	if err := benchrun.GoBuild(ctx, b.root, b.funcdBin, "./cmd/funcd"); err != nil {
		return nil, err
	}
	if err := benchrun.GoBuild(ctx, b.root, b.handlerBin, "./bench/handler"); err != nil {
		return nil, err
	}
	if err := benchrun.GoBuild(ctx, b.root, b.proxyBin, "./bench/proxy"); err != nil {
		return nil, err
	}

	peers := []*peer{{name: "direct (net/http)", kind: direct}}
	if b.opts.proxy {
		peers = append(peers,
			&peer{name: "yardstick: httputil proxy", kind: proxied, mode: "httputil"},
			&peer{name: "yardstick: minimal proxy", kind: proxied, mode: "minimal"},
			&peer{name: "yardstick: TCP relay", kind: proxied, mode: "relay"})
	}
	peers = append(peers, &peer{name: "funcd forward", kind: funcdForward}, &peer{name: "funcd json", kind: funcdJSON})
	if b.opts.tls {
		if err := b.makeCert(); err != nil {
			return nil, err
		}
		peers = append(peers, &peer{name: "funcd forward TLS", kind: funcdTLS, tls: true})
	}
	for _, p := range peers {
		if err := b.startPeer(ctx, p); err != nil {
			return nil, err
		}
	}
	b.logf("all peers up; settling %v before reading idle memory", b.opts.settle)
	if err := benchrun.Sleep(ctx, b.opts.settle); err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p.idle, err = benchproc.ReadMemory(p.proc.PID()); err != nil {
			return nil, err
		}
		if p.idleHandler, err = benchproc.ReadMemory(p.handler); err != nil {
			return nil, err
		}
	}

	for r := range b.opts.rounds {
		for i := range peers {
			p := peers[(i+r)%len(peers)] // rotate, so no peer always goes first
			b.logf("round %d/%d: %s", r+1, b.opts.rounds, p.name)
			rr, err := b.measure(ctx, p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			p.rounds = append(p.rounds, rr)
		}
	}
	for _, p := range peers {
		if p.load, err = benchproc.ReadMemory(p.proc.PID()); err != nil {
			return nil, err
		}
		if p.loadHandler, err = benchproc.ReadMemory(p.handler); err != nil {
			return nil, err
		}
	}
	return newReport(b, peers), nil
}

// measure runs one round on a peer: warm-up, the loaded run, then the
// single-connection run.
func (b *bench) measure(ctx context.Context, p *peer) (roundResult, error) {
	plan := benchrun.Plan{Warmup: b.opts.warmup, Duration: b.opts.duration, Concurrency: b.opts.concurrency, Log: b.logf}
	return benchrun.Measure(ctx, plan, b.target(p))
}

// target is what benchrun measures of a peer.
func (b *bench) target(p *peer) benchrun.Target {
	cfg := loadgen.Config{Addr: p.addr, Path: helloPath, WantBody: greeting}
	if p.tls {
		cfg.TLS = b.clientTLS
	}
	return benchrun.Target{Load: cfg, Proc: p.proc, CPU: func() (time.Duration, time.Duration) { return b.peerCPU(p) }}
}

// peerCPU returns the CPU time used so far by the peer's funcd or proxy (0
// for the direct handler) and by its handler.
func (b *bench) peerCPU(p *peer) (host, handler time.Duration) {
	if p.hasHost() {
		host = benchproc.CPUOf(p.proc.PID())
	}
	return host, benchproc.CPUOf(p.handler)
}

// startPeer starts a peer, waits until it answers, and checks that it
// serves the greeting.
func (b *bench) startPeer(ctx context.Context, p *peer) error {
	addr, err := benchproc.FreeAddr()
	if err != nil {
		return err
	}
	p.addr = addr
	switch p.kind {
	case direct:
		b.logf("starting the handler on %s", addr)
		if p.proc, err = b.start(p.name, b.tmp, b.handlerBin, "-addr", addr); err != nil {
			return err
		}
		p.handler = p.proc.PID()
	case proxied:
		handlerAddr, err := benchproc.FreeAddr()
		if err != nil {
			return err
		}
		b.logf("starting the proxy on %s and its handler on %s", addr, handlerAddr)
		h, err := b.start(p.name+" handler", b.tmp, b.handlerBin, "-addr", handlerAddr)
		if err != nil {
			return err
		}
		if err := h.WaitReady(ctx, "http", handlerAddr, nil, 60*time.Second); err != nil {
			return err
		}
		p.handler = h.PID()
		if p.proc, err = b.start(p.name, b.tmp, b.proxyBin, "-addr", addr, "-target", "http://"+handlerAddr, "-mode", p.mode); err != nil {
			return err
		}
	default:
		appDir, err := b.copyApp(p.app(), p.appCopy())
		if err != nil {
			return err
		}
		_, port, _ := strings.Cut(addr, ":")
		b.logf("starting %s on %s with app %s", p.name, addr, p.app())
		args := []string{"start", "--script-root", appDir, "--port", port, "--no-auth"}
		if p.tls {
			args = append(args, "--useHttps", "--cert", b.certFile, "--key", b.keyFile)
		}
		if p.proc, err = b.start(p.name, appDir, b.funcdBin, args...); err != nil {
			return err
		}
	}
	if err := p.proc.WaitReady(ctx, p.scheme(), addr, b.clientTLS, 60*time.Second); err != nil {
		return err
	}
	if p.isFuncd() {
		pid, exe, err := benchproc.FindChild(p.proc.PID(), filepath.Join(b.tmp, "apps", p.appCopy(), "handler"), 10*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		p.handler = pid
		p.proc.Adopt(pid, exe)
	}
	// A few requests, as a smoke test and so that idle memory is measured
	// with the function invoked at least once.
	return benchrun.Smoke(ctx, p.name, b.target(p))
}

// start starts a server process in dir, with its output in a log file in
// the temporary folder.
func (b *bench) start(name, dir, bin string, args ...string) (*benchproc.Process, error) {
	logName := strings.NewReplacer(" ", "-", "(", "", ")", "", "/", "", ":", "").Replace(name) + ".log"
	return b.procs.Start(name, dir, filepath.Join(b.tmp, logName), benchrun.ChildEnv(), bin, args...)
}

// copyApp copies bench/apps/<name> to the temporary folder and puts the
// handler binary in it, where its host.json expects it.
func (b *bench) copyApp(name, copyName string) (string, error) {
	src := filepath.Join(b.root, "bench", "apps", name)
	dst := filepath.Join(b.tmp, "apps", copyName)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("cannot copy app %s: %w", name, err)
	}
	bin, err := os.ReadFile(b.handlerBin)
	if err != nil {
		return "", err
	}
	return dst, os.WriteFile(filepath.Join(dst, "handler"), bin, 0o755)
}

// logf prints progress on stderr.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "httpbench: "+format+"\n", args...)
}
