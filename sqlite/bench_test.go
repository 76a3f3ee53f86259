package sqlite

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
)

// BenchmarkEnqueueReceiveDelete runs a queue end to end: two producers
// enqueue b.N messages of 200 bytes while four consumers receive them in
// batches of 16 and delete each, as the queue trigger does. It reports
// messages per second, with synchronous=NORMAL (the default) and FULL.
func BenchmarkEnqueueReceiveDelete(b *testing.B) {
	b.Run("normal", func(b *testing.B) { benchQueue(b, Options{Clock: clock.Real{}}) })
	b.Run("fullsync", func(b *testing.B) { benchQueue(b, Options{Clock: clock.Real{}, FullSync: true}) })
}

func benchQueue(b *testing.B, opts Options) {
	s, err := Open(b.TempDir(), opts)
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

// BenchmarkReceiveDeleteBehindInFlight receives and deletes one message at
// a time from a queue whose oldest messages are invisible (received and not
// yet deleted): Receive skips them in its index, at a cost that grows with
// their number.
func BenchmarkReceiveDeleteBehindInFlight(b *testing.B) {
	for _, inFlight := range []int{0, 100, 1000, 10000} {
		b.Run(fmt.Sprint(inFlight), func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{Clock: clock.Real{}})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			for range inFlight {
				if _, err := s.Enqueue(ctx, "bench", []byte("x"), 0, 0); err != nil {
					b.Fatal(err)
				}
			}
			for taken := 0; taken < inFlight; {
				msgs, err := s.Receive(ctx, "bench", 1000, time.Hour)
				if err != nil {
					b.Fatal(err)
				}
				taken += len(msgs)
			}
			for range b.N {
				if _, err := s.Enqueue(ctx, "bench", []byte("x"), 0, 0); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				msgs, err := s.Receive(ctx, "bench", 1, time.Hour)
				if err != nil || len(msgs) != 1 {
					b.Fatal(len(msgs), err)
				}
				if err := s.Delete(ctx, "bench", msgs[0].ID, msgs[0].PopReceipt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
