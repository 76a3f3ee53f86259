package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Goals the report checks.
const (
	goalEmbeddedMsgPerSec = 5000
	goalPostgresMsgPerSec = 2000
	goalP50               = 5 * time.Millisecond
	goalOverAzurite       = 10
)

// summary is one provider's medians over the rounds.
type summary struct {
	provider              string
	messages              int
	msgPerSec             float64
	cpuPerMsg, hcpuPerMsg time.Duration
	p50, p99              time.Duration
}

// summarize takes the median of every figure over the rounds.
func summarize(provider string, rs []result) summary {
	s := summary{provider: provider}
	var rate []float64
	var cpu, hcpu, p50, p99 []time.Duration
	for _, r := range rs {
		if r.provider != provider {
			continue
		}
		s.messages = r.messages
		rate = append(rate, r.msgPerSec)
		cpu, hcpu = append(cpu, r.cpuPerMsg), append(hcpu, r.hcpuPerMsg)
		p50, p99 = append(p50, r.p50), append(p99, r.p99)
	}
	s.msgPerSec = median(rate)
	s.cpuPerMsg, s.hcpuPerMsg = median(cpu), median(hcpu)
	s.p50, s.p99 = median(p50), median(p99)
	return s
}

// median returns the middle value (the mean of the two middle ones for an
// even count).
func median[T float64 | time.Duration](v []T) T {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// ratioOver returns the median of the per-round ratios of provider's
// throughput to Azurite's, 0 when either is missing.
func ratioOver(provider string, rs []result) float64 {
	byRound := map[int]map[string]float64{}
	for _, r := range rs {
		if byRound[r.round] == nil {
			byRound[r.round] = map[string]float64{}
		}
		byRound[r.round][r.provider] = r.msgPerSec
	}
	var ratios []float64
	for _, m := range byRound {
		if a, b := m[provider], m["azurite"]; a > 0 && b > 0 {
			ratios = append(ratios, a/b)
		}
	}
	return median(ratios)
}

// report writes the results as Markdown and returns the exit status: 2
// when a goal is missed.
func report(w io.Writer, c config, rs []result) int {
	fmt.Fprintf(w, "Command: `go run ./bench/cmd/queuebench %s`\n\n", strings.Join(flagArgs(), " "))
	fmt.Fprintf(w, "Machine: %d CPUs, %s %s/%s\n\n", runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "Rounds: %d, each measuring every provider in turn (rotating order). Throughput: messages pre-filled, then funcd started and timed from the handler's first invocation until the queue is empty. Latency: %d messages enqueued through the admin route at %.0f/s, enqueue to the handler's receipt. Medians over rounds.\n\n", c.rounds, c.latencyN, c.rate)
	fmt.Fprintln(w, "| provider | messages | msg/s | × Azurite | funcd CPU/msg | handler CPU/msg | p50 enqueue→start | p99 enqueue→start |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|")
	sums := map[string]summary{}
	for _, p := range c.providers {
		s := summarize(p, rs)
		sums[p] = s
		ratio := "–"
		if p != "azurite" {
			if x := ratioOver(p, rs); x > 0 {
				ratio = fmt.Sprintf("%.1f", x)
			}
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %s | %.1f µs | %.1f µs | %.2f ms | %.2f ms |\n",
			p, s.messages, s.msgPerSec, ratio, micros(s.cpuPerMsg), micros(s.hcpuPerMsg), millis(s.p50), millis(s.p99))
	}
	fmt.Fprintln(w, "\n#### Every round")
	fmt.Fprintln(w, "\n| round | provider | msg/s | funcd CPU/msg | p50 | p99 |")
	fmt.Fprintln(w, "|--:|---|--:|--:|--:|--:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %s | %.0f | %.1f µs | %.2f ms | %.2f ms |\n", r.round, r.provider, r.msgPerSec, micros(r.cpuPerMsg), millis(r.p50), millis(r.p99))
	}
	fmt.Fprintln(w, "\n#### Goals")
	fmt.Fprintln(w)
	code := 0
	check := func(ok bool, format string, args ...any) {
		verdict := "PASS"
		if !ok {
			verdict, code = "FAIL", 2
		}
		fmt.Fprintf(w, "- %s %s\n", verdict, fmt.Sprintf(format, args...))
	}
	if s, ok := sums["embedded"]; ok {
		check(s.msgPerSec >= goalEmbeddedMsgPerSec, "embedded: ≥ %d msg/s (measured %.0f)", goalEmbeddedMsgPerSec, s.msgPerSec)
		check(s.p50 < goalP50, "embedded: p50 enqueue-to-start < %v (measured %.2f ms)", goalP50, millis(s.p50))
		if _, ok := sums["azurite"]; ok {
			x := ratioOver("embedded", rs)
			check(x >= goalOverAzurite, "embedded: ≥ %d × Azurite's throughput (measured %.1f ×)", goalOverAzurite, x)
		}
	}
	if s, ok := sums["postgres"]; ok {
		check(s.msgPerSec >= goalPostgresMsgPerSec, "postgres: ≥ %d msg/s (measured %.0f)", goalPostgresMsgPerSec, s.msgPerSec)
		check(s.p50 < goalP50, "postgres: p50 enqueue-to-start < %v (measured %.2f ms)", goalP50, millis(s.p50))
	}
	return code
}

// flagArgs returns the flags set on the command line.
func flagArgs() []string {
	var out []string
	flag.Visit(func(f *flag.Flag) { out = append(out, "-"+f.Name+" "+f.Value.String()) })
	return out
}
