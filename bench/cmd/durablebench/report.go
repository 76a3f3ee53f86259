package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/funcd/funcd/bench/internal/benchrun"
)

// report is the benchmark's outcome: medians over rounds.
type report struct {
	opts    options
	command string
	machine string
	results []*result
	skipped []string
	goals   []goal
	commits []commitSample
}

type goal struct {
	what, got string
	measured  bool
	pass      bool
}

func newReport(b *bench, results []*result) *report {
	r := &report{opts: b.opts, command: b.command, machine: benchrun.Machine(), results: results, skipped: b.skipped}
	var temporal *result
	for _, res := range results {
		if strings.HasPrefix(res.name, "Temporal") {
			temporal = res
		}
	}
	for _, res := range results {
		if !strings.HasPrefix(res.name, "funcd ") {
			continue
		}
		lat := r.median(res, latency)
		r.goals = append(r.goals, goal{what: res.name + ": (a) chain of 5 alone < 25 ms",
			got: ms(lat), measured: true, pass: lat < goalLatency})
		tp := r.rate(res)
		r.goals = append(r.goals, goal{what: res.name + ": (b) ≥ 500 orchestrations/s",
			got: fmt.Sprintf("%.0f/s (%.2f × the goal)", tp, tp/goalThroughput), measured: true, pass: tp >= goalThroughput})
		g := goal{what: res.name + ": (b) ≥ 2 × the Temporal dev server"}
		if temporal != nil {
			x := tp / r.rate(temporal)
			g.got, g.measured, g.pass = fmt.Sprintf("%.2f × (%.0f vs %.0f/s)", x, tp, r.rate(temporal)), true, x >= goalTemporalRatio
		}
		r.goals = append(r.goals, g)
		fan := r.median(res, fanout)
		r.goals = append(r.goals, goal{what: fmt.Sprintf("%s: (c) fan-out to %d and in < 2 s", res.name, r.opts.fanout),
			got: ms(fan), measured: true, pass: fan < goalFanout})
	}
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func (r *report) median(res *result, w workload) time.Duration {
	var v []float64
	for _, s := range res.samples[w] {
		v = append(v, float64(s.value))
	}
	return time.Duration(benchrun.Median(v))
}

// rate is the median over rounds of (b)'s orchestrations a second.
func (r *report) rate(res *result) float64 {
	var v []float64
	for _, s := range res.samples[throughput] {
		v = append(v, float64(res.n)/s.value.Seconds())
	}
	return benchrun.Median(v)
}

func (r *report) cpu(res *result, w workload) time.Duration {
	var v []float64
	for _, s := range res.samples[w] {
		v = append(v, float64(s.cpuPer))
	}
	return time.Duration(benchrun.Median(v))
}

// workerCPU is the median CPU per orchestration of funcd's worker.
func (r *report) workerCPU(res *result, w workload) time.Duration {
	var v []float64
	for _, s := range res.samples[w] {
		v = append(v, float64(s.workerPer))
	}
	return time.Duration(benchrun.Median(v))
}

// AllPass reports whether every measured goal was met.
func (r *report) AllPass() bool {
	for _, g := range r.goals {
		if g.measured && !g.pass {
			return false
		}
	}
	return true
}

// Markdown writes the report.
func (r *report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Durable Functions: chain, throughput, fan-out\n\n")
	fmt.Fprintf(&b, "Command: `%s`  \nMachine: %s  \n", r.command, r.machine)
	fmt.Fprintf(&b, "Rounds: %d (medians); (a) %d runs a round, (b) %d orchestrations (durabletask-go: %d), (c) %d activities.\n\n",
		r.opts.rounds, r.opts.latencyRuns, r.opts.n, r.opts.durableTaskN, r.opts.fanout)
	b.WriteString("| target | (a) chain of 5 alone | CPU/orch (a) | (b) orch/s at once | CPU/orch (b) | of which the worker (b) | (c) fan-out | CPU (c) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, res := range r.results {
		worker := "–"
		if strings.HasPrefix(res.name, "funcd ") {
			worker = us(r.workerCPU(res, throughput))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s | %s | %s | %s |\n", res.name,
			ms(r.median(res, latency)), us(r.cpu(res, latency)),
			r.rate(res), us(r.cpu(res, throughput)), worker,
			ms(r.median(res, fanout)), ms(r.cpu(res, fanout)))
	}
	for _, s := range r.skipped {
		fmt.Fprintf(&b, "\n- %s", s)
	}
	if len(r.commits) > 0 {
		var ser, par, cpu []float64
		for _, c := range r.commits {
			ser, par, cpu = append(ser, c.serial), append(par, c.parallel), append(cpu, float64(c.cpuPer))
		}
		s, p := benchrun.Median(ser), benchrun.Median(par)
		fmt.Fprintf(&b, "\n\nYardstick, SQLite's raw commit rate (%d one-insert transactions, the %d write transactions of %d Chain5 "+
			"without group commit): %.0f commits/s one after the other, %.0f from 16 goroutines, CPU %s a commit: "+
			"at %d commits an orchestration, %.0f orchestrations/s (%.0f).",
			writesPerChain*r.opts.n, writesPerChain, r.opts.n, s, p, us(time.Duration(benchrun.Median(cpu))),
			writesPerChain, s/writesPerChain, p/writesPerChain)
	}
	b.WriteString("\n\n| goal | measured | verdict |\n| --- | --- | --- |\n")
	for _, g := range r.goals {
		v := "not measured"
		switch {
		case g.measured && g.pass:
			v = "met"
		case g.measured:
			v = "**not met**"
		}
		got := g.got
		if got == "" {
			got = "–"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", g.what, got, v)
	}
	b.WriteString("\nPer round:\n\n| round | target | (a) | CPU/orch (a) | (b) orch/s | CPU/orch (b) | (c) | CPU (c) |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for i := range r.opts.rounds {
		for _, res := range r.results {
			get := func(w workload) sample {
				if i < len(res.samples[w]) {
					return res.samples[w][i]
				}
				return sample{}
			}
			a, t, f := get(latency), get(throughput), get(fanout)
			rate := 0.0
			if t.value > 0 {
				rate = float64(res.n) / t.value.Seconds()
			}
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %.0f | %s | %s | %s |\n", i+1, res.name,
				ms(a.value), us(a.cpuPer), rate, us(t.cpuPer), ms(f.value), ms(f.cpuPer))
		}
	}
	return b.String()
}
