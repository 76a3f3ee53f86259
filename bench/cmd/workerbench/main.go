// Command workerbench measures what funcd adds to HTTP functions served by
// language workers: it drives GET /api/hello, answered with "Hello, World",
// served five ways ("peers") in the same run:
//
//  1. net/http: bench/handler alone, a plain Go net/http server;
//  2. node http: bench/apps/nodehttp, a plain Node.js http server;
//  3. funcd forward: funcd in front of bench/handler as a custom handler
//     forwarding the request as is (bench/apps/forward);
//  4. funcd Go SDK: funcd and an app written with funcd's Go SDK
//     (bench/apps/gosdk, built as "app", FUNCTIONS_WORKER_RUNTIME golang);
//  5. funcd Node.js: funcd and its Node.js worker running an
//     @azure/functions v4 app (bench/apps/nodev4, FUNCTIONS_WORKER_RUNTIME
//     node; `npm ci` installs its packages when node_modules is missing);
//  6. funcd forward to node http: funcd in front of bench/apps/nodehttp as
//     a custom handler forwarding the request as is (bench/apps/nodeforward),
//     the yardstick of the Node.js worker: what any Node.js path through
//     funcd can reach, whatever the worker costs.
//
// Each peer behind funcd is compared with its direct peer: the Go SDK and
// forwarding with net/http, the Node.js worker and forwarding to node http
// with node http. The rounds,
// the load generator and the measurements are httpbench's (package
// benchrun): per round and peer, in rotating order, a warm-up and a loaded
// run at -concurrency connections, then a run at one connection; medians
// over the rounds; CPU per request of funcd and of the worker from
// /proc/<pid>/stat over the loaded run.
//
// Usage, from the module root:
//
//	go run ./bench/cmd/workerbench [-duration 5s] [-rounds 5] [-peers net/http,node,forward,gosdk,nodefuncd,nodeforward] [-out file.md]
//
// Every process the benchmark starts is stopped when it ends, fails, or is
// interrupted. It exits with status 1 when it cannot run, and 2 when it ran
// but a goal was missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	peers       []string      // keys of the peers to run
	out         string        // file for the markdown report
}

// The goals the language workers are held to.
const (
	goalGoSDKAdded      = 300 * time.Microsecond // Go SDK p50 at c=1 minus net/http's
	goalNodeAdded       = 500 * time.Microsecond // funcd Node.js p50 at c=1 minus node http's
	goalGoSDKThroughput = 0.8                    // Go SDK req/s ≥ 0.8 × funcd forward's
	goalNodeThroughput  = 0.5                    // funcd Node.js req/s ≥ 0.5 × node http's
)

// greeting is what every peer answers GET /api/hello with.
const greeting = "Hello, World"

// helloPath is the function's URL path: route prefix "api", function "hello".
const helloPath = "/api/hello"

// peerKind says how a peer serves the hello function.
type peerKind int

const (
	goDirect         peerKind = iota // bench/handler alone
	nodeDirect                       // bench/apps/nodehttp alone
	funcdForward                     // funcd, custom handler in forwarding mode
	funcdGoSDK                       // funcd, Go SDK worker
	funcdNode                        // funcd, Node.js worker
	funcdNodeForward                 // funcd, bench/apps/nodehttp as a custom handler in forwarding mode
)

// peerSpec describes a peer: its -peers key, its name in reports, and the
// direct peer it is compared with (by key; "" for a direct peer).
type peerSpec struct {
	key, name string
	kind      peerKind
	base      string
}

// peerSpecs are the peers, in the order of the reports.
var peerSpecs = []peerSpec{
	{"net/http", "net/http (direct)", goDirect, ""},
	{"node", "node http (direct)", nodeDirect, ""},
	{"forward", "funcd forward (custom handler)", funcdForward, "net/http"},
	{"gosdk", "funcd Go SDK worker", funcdGoSDK, "net/http"},
	{"nodefuncd", "funcd Node.js worker (v4)", funcdNode, "node"},
	{"nodeforward", "funcd forward to node http", funcdNodeForward, "node"},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the benchmark and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	var o options
	var peers string
	fs := flag.NewFlagSet("workerbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured run")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "load before each measured run, not measured")
	fs.IntVar(&o.concurrency, "concurrency", 32, "keep-alive connections of the loaded pass")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every peer once, in rotating order")
	fs.IntVar(&o.procs, "procs", 1, "GOMAXPROCS of the load generator")
	fs.DurationVar(&o.settle, "settle", 2*time.Second, "wait after startup and a few requests before reading idle memory")
	fs.StringVar(&peers, "peers", "net/http,node,forward,gosdk,nodefuncd,nodeforward", "comma-separated peers to run, of net/http, node, forward, gosdk, nodefuncd, nodeforward")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	o.peers = strings.Split(peers, ",")
	for _, k := range o.peers {
		if !slices.ContainsFunc(peerSpecs, func(s peerSpec) bool { return s.key == k }) {
			fmt.Fprintf(stderr, "workerbench: -peers: unknown peer %q\n", k)
			return 1
		}
	}
	if fs.NArg() > 0 || o.duration <= 0 || o.concurrency < 1 || o.rounds < 1 || o.procs < 1 {
		fmt.Fprintln(stderr, "workerbench: bad flags; see -h")
		return 1
	}
	o.serverProcs = runtime.GOMAXPROCS(o.procs)

	return benchrun.Main("workerbench", o.out, stdout, stderr, func(ctx context.Context, procs *benchproc.Set) (benchrun.Report, error) {
		b := &bench{opts: o, procs: procs, log: stderr, command: benchrun.CommandLine("./bench/cmd/workerbench", args)}
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

	funcdBin, handlerBin, nodeBin string
}

// peer is one way of serving the hello function.
type peer struct {
	key, name string
	kind      peerKind
	base      *peer  // the direct peer compared with; nil for a direct peer
	addr      string // where GET /api/hello is served

	proc    *benchproc.Process // the process served from: the direct server or funcd
	handler int                // the process that runs the function: proc's own, or funcd's handler or worker

	idle, idleHandler benchproc.Memory // after startup, a few requests and settling

	rounds []benchrun.Round
}

// isFuncd reports whether the peer is served by funcd.
func (p *peer) isFuncd() bool { return p.base != nil }

// run builds, starts the peers, measures them and returns the report.
func (b *bench) run(ctx context.Context) (*report, error) {
	var err error
	if b.root, err = benchrun.ModuleRoot(ctx); err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "funcd-workerbench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)
	// Stop the servers before their folder goes (defers run last in, first
	// out). The caller's deferred StopAll covers what happens before this.
	defer b.procs.StopAll()

	peers := b.peers()
	b.logf("building bin/funcd and the handler")
	b.funcdBin = filepath.Join(b.root, "bin", "funcd")
	b.handlerBin = filepath.Join(b.tmp, "handler")
	if err := benchrun.GoBuild(ctx, b.root, b.funcdBin, "./cmd/funcd"); err != nil {
		return nil, err
	}
	if err := benchrun.GoBuild(ctx, b.root, b.handlerBin, "./bench/handler"); err != nil {
		return nil, err
	}
	if b.has(peers, nodeDirect) || b.has(peers, funcdNode) || b.has(peers, funcdNodeForward) {
		if b.nodeBin, err = exec.LookPath("node"); err != nil {
			return nil, fmt.Errorf("the Node.js peers need node on PATH: %w", err)
		}
		if b.nodeBin, err = filepath.EvalSymlinks(b.nodeBin); err != nil {
			return nil, err
		}
	}
	if b.has(peers, funcdNode) {
		if err := b.npmCI(ctx); err != nil {
			return nil, err
		}
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

	plan := benchrun.Plan{Warmup: b.opts.warmup, Duration: b.opts.duration, Concurrency: b.opts.concurrency, Log: b.logf}
	for r := range b.opts.rounds {
		for i := range peers {
			p := peers[(i+r)%len(peers)] // rotate, so no peer always goes first
			b.logf("round %d/%d: %s", r+1, b.opts.rounds, p.name)
			rr, err := benchrun.Measure(ctx, plan, b.target(p))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			p.rounds = append(p.rounds, rr)
		}
	}
	return newReport(b, peers), nil
}

// peers returns the peers -peers asks for, in the order of peerSpecs, each
// linked to its direct peer when that one runs too.
func (b *bench) peers() []*peer {
	byKey := map[string]*peer{}
	var peers []*peer
	for _, s := range peerSpecs {
		if slices.Contains(b.opts.peers, s.key) {
			p := &peer{key: s.key, name: s.name, kind: s.kind}
			byKey[s.key] = p
			peers = append(peers, p)
		}
	}
	for _, s := range peerSpecs {
		if p := byKey[s.key]; p != nil && s.base != "" {
			p.base = byKey[s.base]
			if p.base == nil {
				// Compared with nothing, but still funcd: a placeholder
				// base with no rounds.
				p.base = &peer{key: s.base}
			}
		}
	}
	return peers
}

// has reports whether a peer of the kind runs.
func (b *bench) has(peers []*peer, kind peerKind) bool {
	return slices.ContainsFunc(peers, func(p *peer) bool { return p.kind == kind })
}

// target is what benchrun measures of a peer.
func (b *bench) target(p *peer) benchrun.Target {
	return benchrun.Target{
		Load: loadgen.Config{Addr: p.addr, Path: helloPath, WantBody: greeting},
		Proc: p.proc,
		CPU: func() (host, handler time.Duration) {
			if p.isFuncd() {
				host = benchproc.CPUOf(p.proc.PID())
			}
			return host, benchproc.CPUOf(p.handler)
		},
	}
}

// startPeer starts a peer, waits until it answers, and checks that it
// serves the greeting.
func (b *bench) startPeer(ctx context.Context, p *peer) error {
	addr, err := benchproc.FreeAddr()
	if err != nil {
		return err
	}
	p.addr = addr
	_, port, _ := strings.Cut(addr, ":")
	var exe string // the executable of funcd's child that runs the function
	switch p.kind {
	case goDirect:
		b.logf("starting %s on %s", p.name, addr)
		p.proc, err = b.start(p.name, b.tmp, b.handlerBin, "-addr", addr)
	case nodeDirect:
		b.logf("starting %s on %s", p.name, addr)
		p.proc, err = b.start(p.name, b.tmp, b.nodeBin, filepath.Join(b.root, "bench", "apps", "nodehttp", "server.js"), port)
	case funcdForward:
		var dir string
		if dir, err = b.copyApp("forward"); err != nil {
			return err
		}
		if err = copyFile(b.handlerBin, filepath.Join(dir, "handler")); err != nil {
			return err
		}
		exe = filepath.Join(dir, "handler")
		p.proc, err = b.startFuncd(p, dir)
	case funcdGoSDK:
		var dir string
		if dir, err = b.copyApp("gosdk"); err != nil {
			return err
		}
		exe = filepath.Join(dir, "app")
		if err = benchrun.GoBuild(ctx, b.root, exe, "./bench/apps/gosdk"); err != nil {
			return err
		}
		p.proc, err = b.startFuncd(p, dir) // FUNCTIONS_WORKER_RUNTIME golang: in local.settings.json
	case funcdNode:
		var dir string
		if dir, err = b.copyApp("nodev4"); err != nil {
			return err
		}
		exe = b.nodeBin
		p.proc, err = b.startFuncd(p, dir) // FUNCTIONS_WORKER_RUNTIME node: in local.settings.json
	case funcdNodeForward:
		var dir string
		if dir, err = b.copyApp("nodeforward"); err != nil {
			return err
		}
		if err = copyFile(filepath.Join(b.root, "bench", "apps", "nodehttp", "server.js"), filepath.Join(dir, "server.js")); err != nil {
			return err
		}
		exe = b.nodeBin
		p.proc, err = b.startFuncd(p, dir) // host.json: node server.js, on FUNCTIONS_CUSTOMHANDLER_PORT
	}
	if err != nil {
		return err
	}
	if err := p.proc.WaitReady(ctx, "http", addr, nil, 60*time.Second); err != nil {
		return err
	}
	p.handler = p.proc.PID()
	if p.isFuncd() {
		pid, resolved, err := benchproc.FindChild(p.proc.PID(), exe, 30*time.Second)
		if err != nil {
			return fmt.Errorf("%s: %w; its output:\n%s", p.name, err, p.proc.LogTail())
		}
		p.handler = pid
		p.proc.Adopt(pid, resolved)
	}
	return benchrun.Smoke(ctx, p.name, b.target(p))
}

// startFuncd runs `funcd start` on the app in dir, anonymous, on the peer's
// port.
func (b *bench) startFuncd(p *peer, dir string) (*benchproc.Process, error) {
	_, port, _ := strings.Cut(p.addr, ":")
	b.logf("starting %s on %s with app %s", p.name, p.addr, dir)
	return b.start(p.name, dir, b.funcdBin, "start", "--script-root", dir, "--port", port, "--no-auth")
}

// start starts a server process in dir, with its output in a log file in
// the temporary folder.
func (b *bench) start(name, dir, bin string, args ...string) (*benchproc.Process, error) {
	logName := strings.NewReplacer(" ", "-", "(", "", ")", "", "/", "", ":", "", ".", "").Replace(name) + ".log"
	return b.procs.Start(name, dir, filepath.Join(b.tmp, logName), benchrun.ChildEnv(), bin, args...)
}

// copyApp copies bench/apps/<name> to the temporary folder and returns the
// copy's path.
func (b *bench) copyApp(name string) (string, error) {
	src := filepath.Join(b.root, "bench", "apps", name)
	dst := filepath.Join(b.tmp, "apps", name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return "", fmt.Errorf("cannot copy app %s: %w", name, err)
	}
	return dst, nil
}

// npmCI installs the Node.js app's packages from its package-lock.json
// when its node_modules is missing.
func (b *bench) npmCI(ctx context.Context) error {
	dir := filepath.Join(b.root, "bench", "apps", "nodev4")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@azure", "functions", "package.json")); err == nil {
		return nil
	}
	b.logf("npm ci in %s", dir)
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, msg)
	}
	return nil
}

// copyFile copies an executable.
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

// logf prints progress on stderr.
func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "workerbench: "+format+"\n", args...)
}
