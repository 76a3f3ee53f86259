package durable_test

import (
	"context"
	"testing"
	"time"

	"github.com/funcd/funcd/sdk/durable"
)

// BenchmarkRunOrchestratorChain5 replays the last episode of a chain of
// five activities: what the worker does for the busiest episode of the
// durable benchmark's orchestrations.
func BenchmarkRunOrchestratorChain5(b *testing.B) {
	chain5 := func(ctx *durable.OrchestrationContext) (any, error) {
		var n int
		if err := ctx.GetInput(&n); err != nil {
			return nil, err
		}
		for range 5 {
			if err := ctx.CallActivity("Inc", durable.WithInput(n)).Await(&n); err != nil {
				return nil, err
			}
		}
		return n, nil
	}
	h := newHistory(b, "Chain5", 0)
	for i := range 5 {
		id := h.scheduled("Inc")
		h.episode(time.Millisecond).completed(id, string(rune('1'+i)))
	}
	payload := h.payload()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := durable.RunOrchestrator(context.Background(), payload, chain5); err != nil {
			b.Fatal(err)
		}
	}
}
