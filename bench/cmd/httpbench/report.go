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
	direct  *peer
	minimal *peer // the minimal-proxy yardstick, nil without -proxy
	goals   []goal
}

// goal is one check of a funcd peer against a target.
type goal struct {
	peer, what, got string
	pass            bool
}

// newReport computes the medians and checks the goals.
func newReport(b *bench, peers []*peer) *report {
	r := &report{opts: b.opts, command: b.command, machine: benchrun.Machine(), peers: peers, direct: peers[0]}
	for _, p := range peers {
		if p.mode == "minimal" {
			r.minimal = p
		}
	}
	for _, p := range peers {
		if !p.isFuncd() {
			continue
		}
		ratio := r.ratio(p)
		added := r.addedLatency(p)
		rss := benchproc.MiB(p.idle.RSSKB)
		r.goals = append(r.goals,
			goal{p.name, fmt.Sprintf("throughput ≥ %.1f × direct at c=%d", goalThroughputRatio, b.opts.concurrency),
				fmt.Sprintf("%.2f ×", ratio), ratio >= goalThroughputRatio},
			goal{p.name, fmt.Sprintf("added median latency < %s ms at c=1", benchrun.MS(goalAddedLatency)),
				benchrun.MS(added) + " ms", added < goalAddedLatency},
			goal{p.name, fmt.Sprintf("funcd idle RSS < %.0f MiB", goalIdleRSSMiB),
				fmt.Sprintf("%.1f MiB", rss), rss < goalIdleRSSMiB},
		)
		if r.minimal != nil && p.kind != funcdJSON {
			x := r.cpuOverMinimal(p)
			r.goals = append(r.goals, goal{p.name, fmt.Sprintf("CPU/req ≤ %.1f × the minimal proxy's at c=%d", goalCPUOverMinimal, b.opts.concurrency),
				fmt.Sprintf("%.2f ×", x), x <= goalCPUOverMinimal})
		}
	}
	return r
}

// allPass reports whether every goal was met.
func (r *report) AllPass() bool {
	for _, g := range r.goals {
		if !g.pass {
			return false
		}
	}
	return true
}

// ratio is the median over rounds of p's throughput over direct's in the
// same round.
func (r *report) ratio(p *peer) float64 {
	var v []float64
	for i, rr := range p.rounds {
		v = append(v, rr.Loaded.RPS()/r.direct.rounds[i].Loaded.RPS())
	}
	return benchrun.Median(v)
}

// cpuOverMinimal is the median over rounds of p's CPU per request in front
// of the handler over the minimal proxy's in the same round.
func (r *report) cpuOverMinimal(p *peer) float64 {
	var v []float64
	for i, rr := range p.rounds {
		m := r.minimal.rounds[i]
		if base := benchrun.PerRequest(m.HostCPU, m.Loaded); base > 0 {
			v = append(v, benchrun.PerRequest(rr.HostCPU, rr.Loaded)/base)
		}
	}
	return benchrun.Median(v)
}

// addedLatency is the median over rounds of p's median latency at c=1 minus
// direct's in the same round.
func (r *report) addedLatency(p *peer) time.Duration {
	var v []float64
	for i, rr := range p.rounds {
		v = append(v, float64(rr.Single.Latency.Quantile(0.5)-r.direct.rounds[i].Single.Latency.Quantile(0.5)))
	}
	return time.Duration(benchrun.Median(v))
}

// stat returns the median over p's rounds of f.
func stat(p *peer, f func(roundResult) float64) float64 {
	var v []float64
	for _, rr := range p.rounds {
		v = append(v, f(rr))
	}
	return benchrun.Median(v)
}

// quantile returns the median over p's rounds of a latency percentile.
func quantile(p *peer, single bool, q float64) time.Duration {
	return time.Duration(stat(p, func(rr roundResult) float64 {
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

	w("## funcd HTTP benchmark: custom handler behind funcd vs net/http alone\n\n")
	w("Command: `%s`\n\n", r.command)
	w("Machine: %s\n\n", r.machine)
	w("Load: GET %s on loopback, closed loop, keep-alive. Rounds: %d, each measuring every peer in turn (rotating order): "+
		"%v warm-up, %v at c=%d connections, then 200ms of warm-up and %v at c=1. Medians over rounds. "+
		"Load generator: in-process HTTP/1.1 client, GOMAXPROCS=%d; funcd and the handler run with the default GOMAXPROCS (%d).\n\n",
		helloPath, o.rounds, o.warmup, o.duration, c, o.duration, o.procs, o.serverProcs)

	w("| peer | req/s c=%d | × direct | p50 c=%d | p90 c=%d | p99 c=%d | p50 c=1 | added p50 c=1 | funcd (proxy) RSS idle | handler RSS idle |\n", c, c, c, c)
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range r.peers {
		ratio, added, funcdRSS := "1.00", "–", "–"
		if p.hasHost() {
			ratio = fmt.Sprintf("%.2f", r.ratio(p))
			added = fmt.Sprintf("%+.3f ms", float64(r.addedLatency(p))/1e6)
			funcdRSS = fmt.Sprintf("%.1f MiB", benchproc.MiB(p.idle.RSSKB))
		}
		w("| %s | %.0f | %s | %s ms | %s ms | %s ms | %s ms | %s | %s | %.1f MiB |\n",
			p.name, stat(p, func(rr roundResult) float64 { return rr.Loaded.RPS() }), ratio,
			benchrun.MS(quantile(p, false, 0.5)), benchrun.MS(quantile(p, false, 0.9)), benchrun.MS(quantile(p, false, 0.99)),
			benchrun.MS(quantile(p, true, 0.5)), added, funcdRSS, benchproc.MiB(p.idleHandler.RSSKB))
	}
	if r.opts.proxy {
		w("\nThe yardsticks (bench/proxy) each stand in front of a handler process of their own and do nothing of funcd's: " +
			"an httputil.ReverseProxy is one more net/http hop; the minimal proxy reads and writes each request and response with " +
			"net/http's parser on one goroutine per connection; the TCP relay copies bytes without parsing them, " +
			"the most any process in front of the handler can reach on this machine.\n")
	}
	w("\n× direct and added p50 are medians of per-round comparisons with the direct run of the same round. "+
		"RSS is VmRSS from /proc/<pid>/status after startup, %d requests and %v of settling; 1 MiB = 1024 × 1024 bytes.\n\n", benchrun.SmokeRequests, o.settle)

	w("### Cost per request and memory after load\n\n")
	w("| peer | funcd (proxy) CPU/req c=%d | handler CPU/req c=%d | load generator CPU | req/s c=1 | funcd (proxy) RSS / peak after load | handler RSS / peak after load | failed requests |\n", c, c)
	w("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range r.peers {
		hostCPU, funcdMem := "–", "–"
		if p.hasHost() {
			hostCPU = fmt.Sprintf("%.1f µs", stat(p, func(rr roundResult) float64 { return benchrun.PerRequest(rr.HostCPU, rr.Loaded) }))
			funcdMem = fmt.Sprintf("%.1f / %.1f MiB", benchproc.MiB(p.load.RSSKB), benchproc.MiB(p.load.HWMKB))
		}
		var failed uint64
		for _, rr := range p.rounds {
			failed += rr.Loaded.Errors + rr.Single.Errors
		}
		w("| %s | %s | %.1f µs | %.0f%% of a core | %.0f | %s | %.1f / %.1f MiB | %d |\n",
			p.name, hostCPU,
			stat(p, func(rr roundResult) float64 { return benchrun.PerRequest(rr.HandlerCPU, rr.Loaded) }),
			stat(p, func(rr roundResult) float64 { return 100 * rr.Loaded.ClientCPU.Seconds() / rr.Loaded.Elapsed.Seconds() }),
			stat(p, func(rr roundResult) float64 { return rr.Single.RPS() }),
			funcdMem, benchproc.MiB(p.loadHandler.RSSKB), benchproc.MiB(p.loadHandler.HWMKB), failed)
	}
	w("\nCPU/req is the process's user+system CPU time (/proc/<pid>/stat) over the loaded run divided by its requests.")
	if r.minimal != nil {
		w(" × minimal is the median of per-round ratios of a peer's CPU/req to the minimal proxy's:")
		for _, p := range r.peers {
			if p.hasHost() {
				w(" %s %.2f ×;", p.name, r.cpuOverMinimal(p))
			}
		}
	}
	w("\n\n")

	w("### Every round\n\n")
	w("| round | peer | req/s c=%d | p50 c=%d | p99 c=%d | p50 c=1 |\n|--:|---|--:|--:|--:|--:|\n", c, c, c)
	for i := range o.rounds {
		for _, p := range r.peers {
			rr := p.rounds[i]
			w("| %d | %s | %.0f | %s ms | %s ms | %s ms |\n", i+1, p.name, rr.Loaded.RPS(),
				benchrun.MS(rr.Loaded.Latency.Quantile(0.5)), benchrun.MS(rr.Loaded.Latency.Quantile(0.99)), benchrun.MS(rr.Single.Latency.Quantile(0.5)))
		}
	}

	w("\n### Goals\n\n")
	for _, g := range r.goals {
		verdict := "PASS"
		if !g.pass {
			verdict = "FAIL"
		}
		w("- %s %s: %s (measured %s)\n", verdict, g.peer, g.what, g.got)
	}
	return b.String()
}
