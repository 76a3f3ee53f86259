package durable_test

import (
	"context"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
)

// BenchmarkEngineChain5 runs b.N orchestrations of 5 chained activities at
// once on the embedded store, with the functions in-process: the engine's
// and the store's cost without a worker.
func BenchmarkEngineChain5(b *testing.B) {
	x := &executor{orch: map[string]orchestrator{"Chain": chain(5)}, act: map[string]func(string) (string, error){"Inc": inc}}
	te := newEngine(b, clock.Real{}, x)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	cpu0 := processCPU()
	for i := range b.N {
		if _, err := te.c.StartNew(ctx, "Chain", durable.StartOptions{InstanceID: "b" + strconv.Itoa(i), Input: "1"}); err != nil {
			b.Fatal(err)
		}
	}
	for {
		time.Sleep(20 * time.Millisecond)
		page, _, err := te.c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 100000})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == b.N {
			break
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orch/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/orch")
}

// processCPU is the CPU time the test process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
