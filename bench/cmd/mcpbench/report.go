package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/funcd/funcd/bench/internal/benchrun"
)

// report is the benchmark's outcome: medians over rounds, and the machine
// they were measured on.
type report struct {
	opts              options
	command, machine  string
	funcd, bare, yard *peer
	grpc              *peer // the yardstick without the HTTP proxy
	goals             []goal
}

// goal is one check against a target.
type goal struct {
	what, got string
	pass      bool
}

// newReport checks the goals.
func newReport(b *bench, funcd, bare, yard, grpc *peer) *report {
	r := &report{opts: b.opts, command: b.command, machine: benchrun.Machine(), funcd: funcd, bare: bare, yard: yard, grpc: grpc}
	for i, n := range b.opts.clients {
		x := ratio(funcd, bare, i)
		r.goals = append(r.goals, goal{what: fmt.Sprintf("funcd calls/s at %d client%s ≥ %.1f × bare's", n, plural(n), goalThroughput),
			got: fmt.Sprintf("%.2f ×", x), pass: x >= goalThroughput})
	}
	d := added(funcd, bare)
	r.goals = append(r.goals, goal{what: fmt.Sprintf("funcd added p50 at 1 client (vs bare) < %s ms", benchrun.MS(goalAdded)),
		got: fmt.Sprintf("%+.3f ms", float64(d)/1e6), pass: d < goalAdded})
	return r
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// AllPass reports whether every goal was met.
func (r *report) AllPass() bool {
	for _, g := range r.goals {
		if !g.pass {
			return false
		}
	}
	return true
}

// ratio is the median over rounds of p's calls/s over base's in the same
// round, at the i-th client count.
func ratio(p, base *peer, i int) float64 {
	var v []float64
	for k, rr := range p.rounds {
		v = append(v, rr.runs[i].res.RPS()/base.rounds[k].runs[i].res.RPS())
	}
	return benchrun.Median(v)
}

// added is the median over rounds of p's median latency at one client minus
// base's in the same round.
func added(p, base *peer) time.Duration {
	var v []float64
	for k, rr := range p.rounds {
		v = append(v, float64(rr.runs[0].res.Latency.Quantile(0.5)-base.rounds[k].runs[0].res.Latency.Quantile(0.5)))
	}
	return time.Duration(benchrun.Median(v))
}

// stat returns the median over p's rounds of f of the run at the i-th
// client count.
func stat(p *peer, i int, f func(run) float64) float64 {
	var v []float64
	for _, rr := range p.rounds {
		v = append(v, f(rr.runs[i]))
	}
	return benchrun.Median(v)
}

func rps(ru run) float64 { return ru.res.RPS() }

func hostCPU(ru run) float64   { return benchrun.PerRequest(ru.hostCPU, ru.res) }
func workerCPU(ru run) float64 { return benchrun.PerRequest(ru.workerCPU, ru.res) }
func serverCPU(ru run) float64 { return benchrun.PerRequest(ru.hostCPU+ru.workerCPU, ru.res) }
func clientCPU(ru run) float64 { return benchrun.PerRequest(ru.clientCPU, ru.res) }

func p50(ru run) float64 { return float64(ru.res.Latency.Quantile(0.5)) }
func p99(ru run) float64 { return float64(ru.res.Latency.Quantile(0.99)) }

// ms formats a median latency in nanoseconds as milliseconds.
func ms(ns float64) string { return benchrun.MS(time.Duration(ns)) }

// Markdown renders the report.
func (r *report) Markdown() string {
	var b strings.Builder
	o := r.opts
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	peers := []*peer{r.funcd, r.bare, r.yard, r.grpc}

	w("## funcd MCP benchmark: tools/call through funcd's webhook vs a bare Go SDK MCP server\n\n")
	w("Command: `%s`\n\n", r.command)
	w("Machine: %s\n\n", r.machine)
	w("Load: tools/call of the no-op tool %s (answering %q) over the streamable HTTP transport on loopback, from the official MCP Go SDK's client "+
		"(mcp.NewClient and StreamableClientTransport with their defaults; each client one session, initialized before the run, calling in a closed loop; "+
		"one HTTP transport keeping every client's connection alive). funcd is reached with the mcp_extension system key in x-functions-key and the "+
		"MCP extension's default settings; the bare server is the same Go SDK's server, stateless, as funcd's webhook is. The yardstick is GET %s, an "+
		"anonymous HTTP function of the same app, through the same funcd and Go SDK worker, driven by the HTTP benchmarks' load generator; "+
		"the worker forwards it through its HttpUri proxy, and funcd answers before the InvocationResponse is back. The second yardstick is the same "+
		"request to a second funcd whose worker runs with FUNCTIONS_GO_DISABLE_HTTP_PROXY=true: the request goes in the InvocationRequest and the "+
		"response comes back in the InvocationResponse, the gRPC round trip an MCP tool call makes. "+
		"Rounds: %d, each measuring every peer in turn (rotating order), at %s clients: %v warm-up, then %v measured. Medians over rounds. "+
		"The clients run in the benchmark's process with GOMAXPROCS=%d; the servers with the default GOMAXPROCS (%d) and %s.\n\n",
		toolName, answer, helloPath, o.rounds, joinInts(o.clients), o.warmup, o.duration, o.procs, o.serverProcs, gogc(o.gogc))

	w("| peer | clients | calls/s | × bare | p50 | p99 | server CPU/call | funcd CPU/call | worker CPU/call | client CPU/call |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, p := range peers {
		for i, n := range o.clients {
			x, host, worker := "1.00", "–", "–"
			if p != r.bare {
				x = fmt.Sprintf("%.2f", ratio(p, r.bare, i))
				host = fmt.Sprintf("%.1f µs", stat(p, i, hostCPU))
				worker = fmt.Sprintf("%.1f µs", stat(p, i, workerCPU))
			}
			w("| %s | %d | %.0f | %s | %s ms | %s ms | %.1f µs | %s | %s | %.1f µs |\n", p.name, n, stat(p, i, rps), x,
				ms(stat(p, i, p50)), ms(stat(p, i, p99)), stat(p, i, serverCPU), host, worker, stat(p, i, clientCPU))
		}
	}
	w("\nserver CPU/call is the user+system CPU time (/proc/<pid>/stat) of the server's processes over the measured run divided by its calls: funcd and "+
		"its Go SDK worker together (also shown apart), or the bare server. client CPU/call is the benchmark process's (the MCP clients, or the load generator "+
		"for the yardstick). × bare is the median of per-round ratios with the bare server's run at the same client count (for the yardstick, a plain HTTP "+
		"request over an MCP call, for scale only). Added p50 at 1 client, funcd over bare: %+.3f ms; the yardstick's p50 at 1 client minus bare's: %+.3f ms.\n\n",
		float64(added(r.funcd, r.bare))/1e6, float64(added(r.yard, r.bare))/1e6)

	w("### Goals\n\n| goal | measured | status |\n|---|--:|---|\n")
	for _, g := range r.goals {
		status := "**met**"
		if !g.pass {
			status = "**not met**"
		}
		w("| %s | %s | %s |\n", g.what, g.got, status)
	}

	last := len(o.clients) - 1
	w("\n### Yardsticks\n\n")
	w("At %d clients, server CPU a call: funcd MCP %.1f µs (funcd %.1f, worker %.1f); the bare server %.1f µs; a plain HTTP invocation of the "+
		"same worker %.1f µs through its HttpUri proxy (funcd %.1f, worker %.1f) and %.1f µs over gRPC alone (funcd %.1f, worker %.1f). "+
		"At 1 client, p50: funcd MCP %s ms, bare %s ms, HTTP yardstick %s ms, gRPC-only yardstick %s ms; "+
		"added p50 over bare, per-round medians: funcd MCP %+.3f ms, gRPC-only yardstick %+.3f ms.\n",
		o.clients[last], stat(r.funcd, last, serverCPU), stat(r.funcd, last, hostCPU), stat(r.funcd, last, workerCPU), stat(r.bare, last, serverCPU),
		stat(r.yard, last, serverCPU), stat(r.yard, last, hostCPU), stat(r.yard, last, workerCPU),
		stat(r.grpc, last, serverCPU), stat(r.grpc, last, hostCPU), stat(r.grpc, last, workerCPU),
		ms(stat(r.funcd, 0, p50)), ms(stat(r.bare, 0, p50)), ms(stat(r.yard, 0, p50)), ms(stat(r.grpc, 0, p50)),
		float64(added(r.funcd, r.bare))/1e6, float64(added(r.grpc, r.bare))/1e6)

	w("\n### Every round\n\n")
	w("| round | peer | clients | calls/s | p50 | p99 | server CPU/call | client CPU/call | failed calls |\n|--:|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for k := range o.rounds {
		for _, p := range peers {
			for _, ru := range p.rounds[k].runs {
				w("| %d | %s | %d | %.0f | %s ms | %s ms | %.1f µs | %.1f µs | %d |\n", k+1, p.name, ru.clients, rps(ru), ms(p50(ru)), ms(p99(ru)),
					serverCPU(ru), clientCPU(ru), ru.res.Errors)
			}
		}
	}
	return b.String()
}

// gogc describes the servers' GOGC.
func gogc(v string) string {
	if v == "" {
		return "Go's default GOGC (100), except funcd's own heap floor (its collector's goal held at 32 MiB or more while the live heap is under 16 MiB)"
	}
	return "GOGC=" + v + " (which turns funcd's heap floor off)"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
