package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
)

// BenchmarkEnqueueReceiveDelete runs a queue end to end: producers enqueue
// b.N messages of 200 bytes while four consumers receive them in batches of
// 16 and delete each, the batch's messages at once, as the queue trigger
// does, waiting on WatchQueue when the queue is empty. It reports messages
// per second and receive statements per message. With two producers each enqueue waits for its own
// WAL flush; with sixteen, as under a host's concurrent requests, the
// server flushes many commits at once.
func BenchmarkEnqueueReceiveDelete(b *testing.B) {
	for _, producers := range []int{2, 16} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			benchmarkQueue(b, producers)
		})
	}
}

func benchmarkQueue(b *testing.B, producers int) {
	s := openIn(b, newSchema(b), clock.Real{})
	ctx := context.Background()
	if err := s.CreateQueue(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 200)
	var sent, done, receives atomic.Int64
	total := int64(b.N)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range producers {
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
			ch, stop := s.WatchQueue("bench")
			defer stop()
			for done.Load() < total {
				msgs, err := s.Receive(ctx, "bench", 16, time.Minute)
				if err != nil {
					b.Error(err)
					return
				}
				receives.Add(1)
				if len(msgs) == 0 {
					select {
					case <-ch:
					case <-time.After(10 * time.Millisecond):
					}
					continue
				}
				// The batch's messages are handled at once, each deleted
				// when done, as the queue trigger does.
				var batch sync.WaitGroup
				for _, m := range msgs {
					batch.Go(func() {
						if err := s.Delete(ctx, "bench", m.ID, m.PopReceipt); err != nil {
							b.Error(err)
						}
						done.Add(1)
					})
				}
				batch.Wait()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(receives.Load())/float64(total), "receives/msg")
}
