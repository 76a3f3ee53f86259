package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/funcd/funcd/bench/internal/benchproc"
	"github.com/funcd/funcd/bench/internal/benchrun"
)

// report is the benchmark's outcome: medians over rounds, and the machine
// they were measured on.
type report struct {
	opts    options
	command string
	machine string
	peers   []*peer
	goals   []goal
	// yardstick is the Node.js throughput goal's ceiling: funcd forwarding
	// to node http, as a fraction of node http's throughput ("" when
	// either was not run).
	yardstick string
}

// goal is one check against a target; measured is false when a peer it
// needs was not run.
type goal struct {
	what, got string
	measured  bool
	pass      bool
}

// newReport checks the goals.
func newReport(b *bench, peers []*peer) *report {
	r := &report{opts: b.opts, command: b.command, machine: benchrun.Machine(), peers: peers}
	byKind := map[peerKind]*peer{}
	for _, p := range peers {
		byKind[p.kind] = p
	}
	added := func(kind peerKind, limit time.Duration, what string) {
		g := goal{what: what}
		if p := byKind[kind]; p != nil && len(p.base.rounds) > 0 {
			d := addedLatency(p)
			g.got, g.measured, g.pass = fmt.Sprintf("%+.3f ms", float64(d)/1e6), true, d < limit
		}
		r.goals = append(r.goals, g)
	}
	ratio := func(kind, baseKind peerKind, limit float64, what string) {
		g := goal{what: what}
		if p, base := byKind[kind], byKind[baseKind]; p != nil && base != nil {
			x := throughputRatio(p, base)
			g.got, g.measured, g.pass = fmt.Sprintf("%.2f ×", x), true, x >= limit
		}
		r.goals = append(r.goals, g)
	}
	c := b.opts.concurrency
	added(funcdGoSDK, goalGoSDKAdded, fmt.Sprintf("Go SDK: added p50 at c=1 (vs net/http) < %s ms", benchrun.MS(goalGoSDKAdded)))
	added(funcdNode, goalNodeAdded, fmt.Sprintf("Node.js: added p50 at c=1 (vs node http) < %s ms", benchrun.MS(goalNodeAdded)))
	ratio(funcdGoSDK, funcdForward, goalGoSDKThroughput, fmt.Sprintf("Go SDK req/s at c=%d ≥ %.1f × funcd forward's", c, goalGoSDKThroughput))
	ratio(funcdNode, nodeDirect, goalNodeThroughput, fmt.Sprintf("Node.js through funcd req/s at c=%d ≥ %.1f × node http's", c, goalNodeThroughput))
	if p, base := byKind[funcdNodeForward], byKind[nodeDirect]; p != nil && base != nil {
		r.yardstick = fmt.Sprintf("%.2f ×", throughputRatio(p, base))
	}
	return r
}

// allPass reports whether every goal measured was met.
func (r *report) AllPass() bool {
	for _, g := range r.goals {
		if g.measured && !g.pass {
			return false
		}
	}
	return true
}

// throughputRatio is the median over rounds of p's throughput over base's
// in the same round.
func throughputRatio(p, base *peer) float64 {
	var v []float64
	for i, rr := range p.rounds {
		v = append(v, rr.Loaded.RPS()/base.rounds[i].Loaded.RPS())
	}
	return benchrun.Median(v)
}

// addedLatency is the median over rounds of p's median latency at c=1 minus
// its direct peer's in the same round.
func addedLatency(p *peer) time.Duration {
	var v []float64
	for i, rr := range p.rounds {
		v = append(v, float64(rr.Single.Latency.Quantile(0.5)-p.base.rounds[i].Single.Latency.Quantile(0.5)))
	}
	return time.Duration(benchrun.Median(v))
}

// stat returns the median over p's rounds of f.
func stat(p *peer, f func(benchrun.Round) float64) float64 {
	var v []float64
	for _, rr := range p.rounds {
		v = append(v, f(rr))
	}
	return benchrun.Median(v)
}

// quantile returns the median over p's rounds of a latency percentile, at
// one connection (single) or loaded.
func quantile(p *peer, single bool, q float64) time.Duration {
	return time.Duration(stat(p, func(rr benchrun.Round) float64 {
		res := rr.Loaded
		if single {
			res = rr.Single
		}
		return float64(res.Latency.Quantile(q))
	}))
}

// markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	o := r.opts
	c := o.concurrency
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("## funcd worker benchmark: language workers behind funcd vs plain servers\n\n")
	w("Command: `%s`\n\n", r.command)
	w("Machine: %s\n\n", r.machine)
	w("Load: GET %s on loopback, closed loop, keep-alive. Rounds: %d, each measuring every peer in turn (rotating order): "+
		"%v warm-up, %v at c=%d connections, then 200ms of warm-up and %v at c=1. Medians over rounds. "+
		"Load generator: in-process HTTP/1.1 client, GOMAXPROCS=%d; the servers run with the default GOMAXPROCS (%d).\n\n",
		helloPath, o.rounds, o.warmup, o.duration, c, o.duration, o.procs, o.serverProcs)

	w("| peer | req/s c=%d | × direct peer | p50 c=1 | added p50 c=1 | funcd CPU/req c=%d | handler/worker CPU/req c=%d | p50 c=%d | p99 c=%d | funcd RSS idle | handler/worker RSS idle |\n", c, c, c, c, c)
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range r.peers {
		ratio, added, hostCPU, funcdRSS := "1.00", "–", "–", "–"
		if p.isFuncd() {
			ratio, added = "–", "–"
			if len(p.base.rounds) > 0 {
				ratio = fmt.Sprintf("%.2f", throughputRatio(p, p.base))
				added = fmt.Sprintf("%+.3f ms", float64(addedLatency(p))/1e6)
			}
			hostCPU = fmt.Sprintf("%.1f µs", stat(p, func(rr benchrun.Round) float64 { return benchrun.PerRequest(rr.HostCPU, rr.Loaded) }))
			funcdRSS = fmt.Sprintf("%.1f MiB", benchproc.MiB(p.idle.RSSKB))
		}
		w("| %s | %.0f | %s | %s ms | %s | %s | %.1f µs | %s ms | %s ms | %s | %.1f MiB |\n",
			p.name, stat(p, func(rr benchrun.Round) float64 { return rr.Loaded.RPS() }), ratio,
			benchrun.MS(quantile(p, true, 0.5)), added, hostCPU,
			stat(p, func(rr benchrun.Round) float64 { return benchrun.PerRequest(rr.HandlerCPU, rr.Loaded) }),
			benchrun.MS(quantile(p, false, 0.5)), benchrun.MS(quantile(p, false, 0.99)),
			funcdRSS, benchproc.MiB(p.idleHandler.RSSKB))
	}
	w("\nThe direct peer of funcd forward and of the Go SDK worker is net/http (bench/handler alone); that of the Node.js worker and of funcd forward to node http is node http " +
		"(bench/apps/nodehttp). × direct peer and added p50 are medians of per-round comparisons with the direct peer's run of the same round. " +
		"CPU/req is a process's user+system CPU time (/proc/<pid>/stat) over the loaded run divided by its requests: funcd's, and that of the process " +
		"that runs the function (the direct server, the custom handler, the Go SDK app, or the Node.js worker). ")
	w("RSS is VmRSS from /proc/<pid>/status after startup, %d requests and %v of settling.\n\n", benchrun.SmokeRequests, o.settle)

	w("### Goals\n\n| goal | measured | status |\n|---|--:|---|\n")
	for _, g := range r.goals {
		switch {
		case !g.measured:
			w("| %s | – | not measured |\n", g.what)
		case g.pass:
			w("| %s | %s | **met** |\n", g.what, g.got)
		default:
			w("| %s | %s | **not met** |\n", g.what, g.got)
		}
	}
	if r.yardstick != "" {
		w("\nYardstick of the Node.js throughput goal: funcd forwarding to node http as a custom handler, no worker protocol at all, "+
			"serves %s node http's requests at c=%d. No Node.js path through funcd can do better on this machine.\n", r.yardstick, c)
	}

	w("\n### Every round\n\n")
	w("| round | peer | req/s c=%d | p50 c=%d | p99 c=%d | p50 c=1 | funcd CPU/req | handler/worker CPU/req | failed requests |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|\n", c, c, c)
	for i := range o.rounds {
		for _, p := range r.peers {
			rr := p.rounds[i]
			hostCPU := "–"
			if p.isFuncd() {
				hostCPU = fmt.Sprintf("%.1f µs", benchrun.PerRequest(rr.HostCPU, rr.Loaded))
			}
			w("| %d | %s | %.0f | %s ms | %s ms | %s ms | %s | %.1f µs | %d |\n", i+1, p.name, rr.Loaded.RPS(),
				benchrun.MS(rr.Loaded.Latency.Quantile(0.5)), benchrun.MS(rr.Loaded.Latency.Quantile(0.99)), benchrun.MS(rr.Single.Latency.Quantile(0.5)),
				hostCPU, benchrun.PerRequest(rr.HandlerCPU, rr.Loaded), rr.Loaded.Errors+rr.Single.Errors)
		}
	}
	return b.String()
}
