// Command durablebench measures Durable Functions on funcd: three
// workloads, each on every store and app asked for, and the same workloads
// on peer systems in the same run:
//
//	(a) latency: one orchestration chaining 5 no-op activities (Chain5),
//	    run alone, one after the other: the median time from start to
//	    completion; goal under 25 ms.
//	(b) throughput: -n such orchestrations started at once: orchestrations
//	    a second from the first start to the last completion; goal at
//	    least 500/s and at least 2 × the Temporal development server's.
//	(c) fan-out: one orchestration fanning out to -fanout no-op activities
//	    and in (FanOut): the time from start to completion; goal under 2 s.
//
// funcd runs in-process (package host, as funcd start does, without the
// HTTP front door, which these workloads do not use): its engine is
// driven through the durable client, the app's worker is a child process:
// the Go SDK app e2e/testdata/durablego or the Node.js app
// e2e/testdata/durablenode (the durable-functions package from npm; make
// nodeapps installs it). The stores are the embedded one (sqlite, a new
// folder per run) and PostgreSQL (-pg); a store that does not keep
// Durable Functions state (does not implement durable.Backend) is skipped
// with a message.
//
// The peers (durabletask-go with its SQLite backend, and the Temporal Go
// SDK against the Temporal development server) run in the separate module
// bench/durablepeers, so that the main module does not carry their
// dependencies; this command builds it and drives it over its standard
// input. See bench/durablepeers for what it needs.
//
// CPU per orchestration: funcd's is the CPU of this process (the host
// runs in it; the client calls and polling of the benchmark are included)
// plus the app's worker process, from getrusage and /proc; a peer's is the
// CPU of its process and every process it started. Rounds measure every
// target once per workload, in rotating order; the report gives medians.
//
// Usage, from the module root:
//
//	go run ./bench/cmd/durablebench [-rounds 3] [-stores sqlite,postgres] [-apps gosdk,node] [-peers durabletask,temporal] [-out file.md]
//
// It exits with status 1 when it cannot run, and 2 when it ran but a goal
// was missed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/bench/internal/benchrun"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/host"
	"github.com/funcd/funcd/postgres"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// options are the command's flags.
type options struct {
	rounds      int
	latencyRuns int
	n           int
	fanout      int
	stores      []string
	apps        []string
	peers       []string
	pg          string
	temporalCLI string
	out         string
	cpuProfile  string
	// durableTaskN is (b)'s count for durabletask-go, whose SQLite
	// backend runs a few orchestrations a second: 1000 would take minutes
	// a round.
	durableTaskN int
	yardsticks   bool
	workloads    []workload
}

// The goals.
const (
	goalLatency         = 25 * time.Millisecond
	goalThroughput      = 500.0
	goalTemporalRatio   = 2.0
	goalFanout          = 2 * time.Second
	chainLength         = 5
	latencyWarmup       = 3
	throughputStarters  = 16
	completionPollEvery = 5 * time.Millisecond
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	var stores, apps, peers, wls string
	fs := flag.NewFlagSet("durablebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.rounds, "rounds", 3, "rounds; each measures every target once per workload, in rotating order")
	fs.IntVar(&o.latencyRuns, "latency-runs", 20, "orchestrations run one after the other in workload (a), after 3 not measured")
	fs.IntVar(&o.n, "n", 1000, "orchestrations started at once in workload (b)")
	fs.IntVar(&o.fanout, "fanout", 1000, "activities of the fan-out in workload (c)")
	fs.StringVar(&stores, "stores", "sqlite,postgres", "comma-separated stores of funcd: sqlite, postgres")
	fs.StringVar(&apps, "apps", "gosdk,node", "comma-separated apps run by funcd: gosdk, node")
	fs.StringVar(&peers, "peers", "durabletask,temporal", "comma-separated peers: durabletask, temporal (\"\" for none)")
	fs.IntVar(&o.durableTaskN, "durabletask-n", 200, "orchestrations started at once in workload (b) on durabletask-go (0: -n)")
	fs.StringVar(&wls, "workloads", "a,b,c", "comma-separated workloads to run: a, b, c")
	fs.BoolVar(&o.yardsticks, "yardsticks", true, "also measure the engine alone (no worker) and SQLite's raw commit rate")
	fs.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL connection string of the postgres store")
	fs.StringVar(&o.temporalCLI, "temporal", "", "the Temporal CLI that runs the development server (default: temporal on PATH)")
	fs.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (funcd's host, in-process) to this file")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	split := func(s string) []string {
		var out []string
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
		return out
	}
	o.stores, o.apps, o.peers = split(stores), split(apps), split(peers)
	for _, s := range o.stores {
		if s != "sqlite" && s != "postgres" {
			fmt.Fprintf(stderr, "durablebench: -stores: unknown store %q (sqlite, postgres)\n", s)
			return 1
		}
	}
	for _, a := range o.apps {
		if a != "gosdk" && a != "node" {
			fmt.Fprintf(stderr, "durablebench: -apps: unknown app %q (gosdk, node)\n", a)
			return 1
		}
	}
	for _, w := range split(wls) {
		i := strings.Index("abc", w)
		if len(w) != 1 || i < 0 {
			fmt.Fprintf(stderr, "durablebench: -workloads: unknown workload %q (a, b, c)\n", w)
			return 1
		}
		o.workloads = append(o.workloads, workload(i))
	}
	if len(o.workloads) == 0 {
		fmt.Fprintln(stderr, "durablebench: -workloads: none given (a, b, c)")
		return 1
	}
	for _, p := range o.peers {
		if p != "durabletask" && p != "temporal" {
			fmt.Fprintf(stderr, "durablebench: -peers: unknown peer %q (durabletask, temporal)\n", p)
			return 1
		}
	}
	if fs.NArg() > 0 || o.rounds < 1 || o.latencyRuns < 1 || o.n < 1 || o.fanout < 1 {
		fmt.Fprintln(stderr, "durablebench: bad flags; see -h")
		return 1
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "durablebench:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "durablebench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	return benchrun.Main("durablebench", o.out, stdout, stderr, func(ctx context.Context, procs *benchproc.Set) (benchrun.Report, error) {
		b := &bench{opts: o, procs: procs, log: stderr, command: benchrun.CommandLine("./bench/cmd/durablebench", args)}
		return b.run(ctx)
	})
}

// bench is one run of the benchmark.
type bench struct {
	opts    options
	procs   *benchproc.Set
	log     io.Writer
	command string
	root    string
	tmp     string
	skipped []string // targets not run, with the reason
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "durablebench: "+format+"\n", args...)
}

// workload is one of (a), (b), (c).
type workload int

const (
	latency workload = iota
	throughput
	fanout
)

func (w workload) String() string {
	return [...]string{"(a) chain of 5, alone", "(b) chains of 5, at once", "(c) fan-out/fan-in"}[w]
}

// target is a system that runs the workloads.
type target interface {
	name() string
	// run runs a workload once and returns its figure: the median latency
	// for (a), the elapsed time for (b) and (c).
	run(ctx context.Context, w workload, round int) (time.Duration, error)
	// cpu is the CPU its processes used so far.
	cpu() time.Duration
	// count is the orchestrations (b) starts at once on it.
	count() int
	close()
}

// sample is one round's measurement of a workload on a target.
type sample struct {
	value     time.Duration
	cpuPer    time.Duration // CPU per orchestration
	workerPer time.Duration // of which funcd's worker process (0 for the others)
}

// result is a target's samples per workload.
type result struct {
	name    string
	n       int // orchestrations of (b)
	samples map[workload][]sample
}

func (b *bench) run(ctx context.Context) (*report, error) {
	var err error
	if b.root, err = benchrun.ModuleRoot(ctx); err != nil {
		return nil, err
	}
	if b.tmp, err = os.MkdirTemp("", "funcd-durablebench-"); err != nil {
		return nil, err
	}
	defer os.RemoveAll(b.tmp)
	defer b.procs.StopAll()

	var targets []target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, store := range b.opts.stores {
		for _, app := range b.opts.apps {
			t, err := b.startFuncd(ctx, store, app)
			if err != nil {
				return nil, fmt.Errorf("funcd %s %s: %w", store, app, err)
			}
			if t != nil {
				targets = append(targets, t)
			}
		}
	}
	if b.opts.yardsticks {
		b.logf("starting the engine alone")
		t, err := b.startEngine(ctx)
		if err != nil {
			return nil, fmt.Errorf("the engine alone: %w", err)
		}
		targets = append(targets, t)
	}
	if len(b.opts.peers) > 0 {
		ps, err := b.startPeers(ctx)
		if err != nil {
			return nil, err
		}
		targets = append(targets, ps...)
	}
	if len(targets) == 0 {
		return nil, errors.New("nothing to measure: " + strings.Join(b.skipped, "; "))
	}
	results := make([]*result, len(targets))
	for i, t := range targets {
		results[i] = &result{name: t.name(), n: t.count(), samples: map[workload][]sample{}}
	}
	for r := range b.opts.rounds {
		for _, w := range b.opts.workloads {
			for i := range targets {
				k := (i + r) % len(targets) // rotate, so no target always goes first
				t := targets[k]
				b.logf("round %d/%d, %s: %s", r+1, b.opts.rounds, w, t.name())
				cpu0 := t.cpu()
				var w0 time.Duration
				if ft, ok := t.(*funcdTarget); ok {
					w0 = benchproc.CPUOf(ft.worker...)
				}
				v, err := t.run(ctx, w, r)
				if err != nil {
					return nil, fmt.Errorf("%s, %s: %w", t.name(), w, err)
				}
				cpu := t.cpu() - cpu0
				orchs := 1
				switch w {
				case latency:
					orchs = b.opts.latencyRuns
				case throughput:
					orchs = t.count()
				}
				s := sample{value: v, cpuPer: cpu / time.Duration(orchs)}
				b.logf("  %s, CPU %v per orchestration", format(w, v, t.count()), s.cpuPer)
				if ft, ok := t.(*funcdTarget); ok {
					s.workerPer = (benchproc.CPUOf(ft.worker...) - w0) / time.Duration(orchs)
					b.logf("  of which the worker %v per orchestration", s.workerPer)
				}
				results[k].samples[w] = append(results[k].samples[w], s)
			}
		}
	}
	var commits []commitSample
	if b.opts.yardsticks {
		for r := range b.opts.rounds {
			n := writesPerChain * b.opts.n
			b.logf("round %d/%d: SQLite's raw commit rate, %d transactions", r+1, b.opts.rounds, n)
			dir, err := os.MkdirTemp(b.tmp, "commits-")
			if err != nil {
				return nil, err
			}
			var c commitSample
			if c.serial, c.parallel, c.cpuPer, err = commitRate(dir, n); err != nil {
				return nil, fmt.Errorf("SQLite's commit rate: %w", err)
			}
			b.logf("  %.0f commits/s one after the other, %.0f from 16 goroutines, CPU %v a commit", c.serial, c.parallel, c.cpuPer)
			commits = append(commits, c)
		}
	}
	rep := newReport(b, results)
	rep.commits = commits
	return rep, nil
}

// commitSample is one round of SQLite's raw commit rate.
type commitSample struct {
	serial, parallel float64
	cpuPer           time.Duration
}

// format writes a workload's figure.
func format(w workload, v time.Duration, n int) string {
	switch w {
	case throughput:
		return fmt.Sprintf("%.0f orchestrations/s", float64(n)/v.Seconds())
	default:
		return fmt.Sprintf("%.1f ms", float64(v)/1e6)
	}
}

// funcdTarget is funcd's host, in-process, with an app and a store.
type funcdTarget struct {
	b      *bench
	label  string
	h      *host.Host
	c      *durable.Client
	store  storage.Store
	worker []int // the app's worker processes
}

func (t *funcdTarget) name() string { return t.label }
func (t *funcdTarget) count() int   { return t.b.opts.n }

func (t *funcdTarget) cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return self + benchproc.CPUOf(t.worker...)
}

func (t *funcdTarget) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = t.h.Shutdown(ctx)
	_ = t.store.Close()
}

// startFuncd starts a host with the store and the app; nil, nil when the
// store does not keep Durable Functions state.
func (b *bench) startFuncd(ctx context.Context, storeName, app string) (*funcdTarget, error) {
	label := "funcd " + storeName + ", " + map[string]string{"gosdk": "Go SDK", "node": "Node.js"}[app]
	dir := filepath.Join(b.tmp, storeName+"-"+app)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var store storage.Store
	switch storeName {
	case "sqlite":
		s, err := sqlite.Open(filepath.Join(dir, "store"), sqlite.Options{})
		if err != nil {
			return nil, err
		}
		store = s
	case "postgres":
		s, err := postgres.Open(ctx, b.opts.pg, postgres.Options{Schema: "durablebench"})
		if err != nil {
			return nil, fmt.Errorf("PostgreSQL at %s: %w", b.opts.pg, err)
		}
		store = s
	}
	backend, ok := store.(durable.Backend)
	if !ok {
		_ = store.Close()
		msg := fmt.Sprintf("%s: skipped, the %s store does not keep Durable Functions state (it does not implement durable.Backend)", label, storeName)
		b.logf("%s", msg)
		b.skipped = append(b.skipped, msg)
		return nil, nil
	}
	// A clean hub: the runs before this one may have left instances.
	if err := backend.DeleteTaskHub(ctx, durable.DefaultHub); err != nil {
		_ = store.Close()
		return nil, err
	}
	appDir, err := b.prepareApp(ctx, app)
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	before := descendants(os.Getpid())
	b.logf("starting %s", label)
	h, err := host.New(host.Config{
		ScriptRoot: appDir,
		StateDir:   filepath.Join(dir, "state"),
		Environ:    benchrun.ChildEnv(),
		Logger:     slog.New(slog.DiscardHandler),
		Store:      store,
	})
	if err != nil {
		_ = store.Close()
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := h.Start(sctx); err != nil {
		_ = h.Shutdown(context.Background())
		_ = store.Close()
		return nil, err
	}
	t := &funcdTarget{b: b, label: label, h: h, store: store}
	e := h.Durable()
	if e == nil {
		t.close()
		return nil, errors.New("the host has no Durable Functions engine")
	}
	t.c = e.Client("")
	for _, pid := range descendants(os.Getpid()) {
		if !slices.Contains(before, pid) {
			t.worker = append(t.worker, pid)
		}
	}
	// One orchestration end to end before measuring: the worker is up.
	if _, err := t.run(ctx, latency, -1); err != nil {
		t.close()
		return nil, fmt.Errorf("first orchestration: %w", err)
	}
	return t, nil
}

// prepareApp copies the app into the benchmark's folder: the Go SDK app
// with a go.mod that uses this module, built; the Node.js app as is
// (node_modules from make nodeapps).
func (b *bench) prepareApp(ctx context.Context, app string) (string, error) {
	switch app {
	case "gosdk":
		dst := filepath.Join(b.tmp, "app-gosdk")
		if _, err := os.Stat(filepath.Join(dst, "app")); err == nil {
			return dst, nil
		}
		if err := os.CopyFS(dst, os.DirFS(filepath.Join(b.root, "e2e", "testdata", "durablego"))); err != nil {
			return "", err
		}
		gomod := "module example.com/durablebench\n\ngo 1.26\n\nrequire github.com/funcd/funcd v0.0.0\n\nreplace github.com/funcd/funcd => " + b.root + "\n"
		sum, err := os.ReadFile(filepath.Join(b.root, "go.sum"))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, "go.mod"), []byte(gomod), 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, "go.sum"), sum, 0o644); err != nil {
			return "", err
		}
		for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", "app", "."}} {
			cmd := exec.CommandContext(ctx, "go", args...)
			cmd.Dir = dst
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
			if out, err := cmd.CombinedOutput(); err != nil {
				return "", fmt.Errorf("go %s in %s: %w\n%s", strings.Join(args, " "), dst, err, out)
			}
		}
		return dst, nil
	case "node":
		src := filepath.Join(b.root, "e2e", "testdata", "durablenode")
		if _, err := os.Stat(filepath.Join(src, "node_modules", "durable-functions")); err != nil {
			return "", fmt.Errorf("%s has no node_modules/durable-functions: run make nodeapps", src)
		}
		if _, err := exec.LookPath("node"); err != nil {
			return "", errors.New("the Node.js app needs node on PATH")
		}
		return src, nil
	}
	return "", fmt.Errorf("unknown app %q", app)
}

// run runs a workload once.
func (t *funcdTarget) run(ctx context.Context, w workload, round int) (time.Duration, error) {
	prefix := fmt.Sprintf("r%d-%d-", round, w)
	if round < 0 {
		prefix = "warm-"
	}
	switch w {
	case latency:
		runs := t.b.opts.latencyRuns
		if round < 0 {
			runs = 0
		}
		var lat []float64
		for i := range latencyWarmup + runs {
			start := time.Now()
			id := prefix + strconv.Itoa(i)
			if err := t.start(ctx, "Chain5", id, "0"); err != nil {
				return 0, err
			}
			if err := t.wait(ctx, id, strconv.Itoa(chainLength), 500*time.Microsecond); err != nil {
				return 0, err
			}
			if i >= latencyWarmup {
				lat = append(lat, float64(time.Since(start)))
			}
		}
		return time.Duration(benchrun.Median(lat)), nil
	case throughput:
		n := t.b.opts.n
		start := time.Now()
		var next atomic.Int64
		errs := make(chan error, throughputStarters)
		var wg sync.WaitGroup
		for range throughputStarters {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					if err := t.start(ctx, "Chain5", prefix+strconv.Itoa(i), "0"); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return 0, err
		}
		// Instances finish in about the order they started: wait for each
		// in turn.
		for i := range n {
			if err := t.wait(ctx, prefix+strconv.Itoa(i), strconv.Itoa(chainLength), completionPollEvery); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	case fanout:
		n := t.b.opts.fanout
		start := time.Now()
		id := prefix + "fan"
		if err := t.start(ctx, "FanOut", id, strconv.Itoa(n)); err != nil {
			return 0, err
		}
		// FanOut doubles 1..n and sums: n(n+1).
		if err := t.wait(ctx, id, strconv.Itoa(n*(n+1)), time.Millisecond); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}
	return 0, fmt.Errorf("unknown workload %d", w)
}

func (t *funcdTarget) start(ctx context.Context, name, id, input string) error {
	_, err := t.c.StartNew(ctx, name, durable.StartOptions{InstanceID: id, Input: input})
	return err
}

// wait polls the instance until it completes with output want.
func (t *funcdTarget) wait(ctx context.Context, id, want string, every time.Duration) error {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		inst, err := t.c.Status(ctx, id)
		if err != nil && !errors.Is(err, durable.ErrNotFound) {
			return err
		}
		if err == nil && inst.Status.Terminal() {
			if inst.Status != durable.Completed || strings.TrimSpace(inst.Output) != want {
				return fmt.Errorf("instance %s ended %v with output %s, want Completed with %s", id, inst.Status, inst.Output, want)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %s did not complete in 5 minutes", id)
		}
		if err := benchrun.Sleep(ctx, every); err != nil {
			return err
		}
	}
}

// descendants returns the ids of pid's child processes and theirs.
func descendants(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	for p := range parent {
		for q := parent[p]; q > 1; q = parent[q] {
			if q == pid {
				out = append(out, p)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// peerTarget is a peer system run by bench/durablepeers, driven over its
// standard input: a line "latency|throughput|fanout N ROUND" runs a
// workload and answers with a JSON line {"ns": ..., "error": ...}.
type peerTarget struct {
	b     *bench
	n     int // orchestrations of (b)
	label string
	proc  *benchproc.Process
	in    io.Writer
	out   *bufio.Scanner
}

func (p *peerTarget) name() string { return p.label }
func (p *peerTarget) count() int   { return p.n }
func (p *peerTarget) cpu() time.Duration {
	return benchproc.CPUOf(append(descendants(p.proc.PID()), p.proc.PID())...)
}
func (p *peerTarget) close() { p.proc.Stop() }

func (p *peerTarget) run(ctx context.Context, w workload, round int) (time.Duration, error) {
	var cmd string
	switch w {
	case latency:
		cmd = fmt.Sprintf("latency %d %d", p.b.opts.latencyRuns, round)
	case throughput:
		cmd = fmt.Sprintf("throughput %d %d", p.n, round)
	case fanout:
		cmd = fmt.Sprintf("fanout %d %d", p.b.opts.fanout, round)
	}
	return p.call(cmd)
}

// call sends a command line and reads the answer.
func (p *peerTarget) call(cmd string) (time.Duration, error) {
	if _, err := io.WriteString(p.in, cmd+"\n"); err != nil {
		return 0, fmt.Errorf("%s: %w; log:\n%s", p.label, err, p.proc.LogTail())
	}
	if !p.out.Scan() {
		return 0, fmt.Errorf("%s exited; log:\n%s", p.label, p.proc.LogTail())
	}
	var ans struct {
		NS    int64  `json:"ns"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(p.out.Bytes(), &ans); err != nil {
		return 0, fmt.Errorf("%s answered %q: %w", p.label, p.out.Text(), err)
	}
	if ans.Error != "" {
		return 0, errors.New(ans.Error)
	}
	return time.Duration(ans.NS), nil
}

// startPeers builds bench/durablepeers and starts one process per peer;
// a peer that cannot run here is skipped with its reason.
func (b *bench) startPeers(ctx context.Context) ([]target, error) {
	bin := filepath.Join(b.tmp, "durablepeers")
	b.logf("building bench/durablepeers")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(b.root, "bench", "durablepeers")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build bench/durablepeers: %w\n%s", err, out)
	}
	var out []target
	for _, name := range b.opts.peers {
		args := []string{"-system", name, "-dir", filepath.Join(b.tmp, "peer-"+name)}
		label := map[string]string{"durabletask": "durabletask-go (sqlite)", "temporal": "Temporal dev server (Go SDK)"}[name]
		if name == "temporal" {
			cli := b.opts.temporalCLI
			if cli == "" {
				var err error
				if cli, err = exec.LookPath("temporal"); err != nil {
					msg := label + ": skipped, no Temporal CLI (temporal on PATH or -temporal) to run the development server; see bench/RESULTS.md"
					b.logf("%s", msg)
					b.skipped = append(b.skipped, msg)
					continue
				}
			}
			args = append(args, "-temporal", cli)
		}
		b.logf("starting %s", label)
		p, err := b.startPeer(label, bin, args)
		if err != nil {
			return nil, err
		}
		if name == "durabletask" && b.opts.durableTaskN > 0 {
			p.n = b.opts.durableTaskN
		}
		out = append(out, p)
	}
	return out, nil
}

func (b *bench) startPeer(label, bin string, args []string) (*peerTarget, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = benchrun.ChildEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(b.tmp, strings.Fields(label)[0]+".log")
	proc, err := b.procs.StartCmd(label, cmd, logPath)
	if err != nil {
		return nil, err
	}
	p := &peerTarget{b: b, n: b.opts.n, label: label, proc: proc, in: stdin, out: bufio.NewScanner(stdout)}
	// The first answer says the peer is up (and ran one orchestration).
	if _, err := p.call("ready 0 0"); err != nil {
		proc.Stop()
		return nil, err
	}
	return p, nil
}
