package sqlite

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
)

// BenchmarkEnqueueReceiveDelete runs a queue end to end: two producers
// enqueue b.N messages of 200 bytes while four consumers receive them in
// batches of 16 and delete each, as the queue trigger does. It reports
// messages per second.
func BenchmarkEnqueueReceiveDelete(b *testing.B) {
	s, err := Open(b.TempDir(), Options{Clock: clock.Real{}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateQueue(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 200)
	var sent, done atomic.Int64
	total := int64(b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 2 {
		wg.Go(func() {
			for sent.Add(1) <= total {
				if _, err := s.Enqueue(ctx, "bench", body, 0, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for done.Load() < total {
				msgs, err := s.Receive(ctx, "bench", 16, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				if len(msgs) == 0 {
					time.Sleep(time.Millisecond)
					continue
				}
				for _, m := range msgs {
					if err := s.Delete(ctx, "bench", m.ID, m.PopReceipt); err != nil {
						b.Error(err)
						return
					}
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
}
