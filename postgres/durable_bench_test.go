package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
)

// BenchmarkDurableChain5 runs b.N orchestrations of 5 chained activities
// at once on a PostgreSQL task hub, with the functions in-process (as
// durable's BenchmarkEngineChain5 does on the embedded store): the engine's
// and the backend's cost without a worker, with one engine and with two
// engines on two pools, as two processes share a hub. It reports
// orchestrations per second.
func BenchmarkDurableChain5(b *testing.B) {
	for _, engines := range []int{1, 2} {
		b.Run("engines="+strconv.Itoa(engines), func(b *testing.B) {
			schema := newSchema(b)
			tl := newTally()
			var c *durable.Client
			for i := range engines {
				s := openIn(b, schema, clock.Real{})
				waitListening(b, s)
				e := startChainEngine(b, s, "p"+strconv.Itoa(i), tl)
				if c == nil {
					c = e.Client("")
				}
			}
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if _, err := c.StartNew(ctx, "Chain", durable.StartOptions{InstanceID: "b" + strconv.Itoa(i), Input: "1"}); err != nil {
					b.Fatal(err)
				}
			}
			for {
				time.Sleep(20 * time.Millisecond)
				page, _, err := c.List(ctx, durable.InstanceQuery{Statuses: []durable.Status{durable.Completed}, PageSize: 100000})
				if err != nil {
					b.Fatal(err)
				}
				if len(page) == b.N {
					break
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orch/s")
		})
	}
}
