package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

// Three stores, each with its own pool as three processes would have,
// receive from one queue at once: every message is delivered exactly once
// while its visibility timeout lasts.
func TestSeveralStoresReceiveEachMessageOnce(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	stores := []*Store{openIn(t, schema, clk), openIn(t, schema, clk), openIn(t, schema, clk)}
	ctx := context.Background()
	const total = 300
	for i := range total {
		if _, err := stores[i%3].Enqueue(ctx, "shared", fmt.Appendf(nil, "%d", i), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	for _, s := range stores {
		for range 3 {
			wg.Go(func() {
				for {
					msgs, err := s.Receive(ctx, "shared", 7, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(msgs) == 0 {
						return
					}
					mu.Lock()
					for _, m := range msgs {
						seen[string(m.Body)]++
					}
					mu.Unlock()
					for _, m := range msgs {
						if err := s.Delete(ctx, "shared", m.ID, m.PopReceipt); err != nil {
							t.Error(err)
						}
					}
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("%d distinct messages received, want %d", len(seen), total)
	}
	for body, n := range seen {
		if n != 1 {
			t.Errorf("message %s received %d times", body, n)
		}
	}
}

// One timer lease contended by three stores on a fake clock: exactly one
// holder at a time, a takeover after expiry with a larger token, and the
// old holder's fenced writes refused.
func TestLeaseContendedByThreeStores(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	stores := []*Store{openIn(t, schema, clk), openIn(t, schema, clk), openIn(t, schema, clk)}
	ctx := context.Background()
	const ttl = 15 * time.Second

	// contend has all three try at once and returns the one lease taken.
	contend := func(round int) (storage.Lease, int) {
		t.Helper()
		leases := make([]storage.Lease, 3)
		errs := make([]error, 3)
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { leases[i], errs[i] = s.AcquireLease(ctx, "timer", fmt.Sprintf("host-%d", i), ttl) })
		}
		wg.Wait()
		holder := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if holder >= 0 {
					t.Fatalf("round %d: host-%d and host-%d both hold the lease", round, holder, i)
				}
				holder = i
			case !errors.Is(err, storage.ErrLeaseHeld):
				t.Fatalf("round %d: host-%d: %v", round, i, err)
			}
		}
		if holder < 0 {
			t.Fatalf("round %d: nobody holds the lease", round)
		}
		return leases[holder], holder
	}

	first, h := contend(1)
	st := storage.ScheduleStatus{Last: clk.Now(), Next: clk.Now().Add(time.Minute), LastUpdated: clk.Now()}
	if err := stores[h].SetScheduleStatus(ctx, "timer", st, first); err != nil {
		t.Fatalf("the holder's fenced write: %v", err)
	}
	// Before expiry nobody else gets it, however often they try.
	clk.Advance(ttl - time.Second)
	if again, h2 := contend(2); h2 != h || again.Token != first.Token {
		t.Fatalf("before expiry: host-%d holds token %d, want host-%d with %d", h2, again.Token, h, first.Token)
	}

	// The holder stops renewing; after expiry one of the three takes over
	// with a larger token, and the old holding is fenced off.
	clk.Advance(ttl + time.Second)
	next, h3 := contend(3)
	if next.Token <= first.Token {
		t.Fatalf("takeover token %d, want more than %d", next.Token, first.Token)
	}
	if h3 == h {
		// The old owner took it back: still a new holding with a new token,
		// so the old lease value is refused all the same.
		t.Logf("host-%d took the lease back with token %d", h, next.Token)
	}
	stale := storage.ScheduleStatus{Last: clk.Now(), Next: clk.Now().Add(time.Hour), LastUpdated: clk.Now()}
	if err := stores[h].SetScheduleStatus(ctx, "timer", stale, first); !errors.Is(err, storage.ErrLeaseLost) {
		t.Fatalf("stale fenced write: %v; want ErrLeaseLost", err)
	}
	if _, err := stores[h].RenewLease(ctx, first, ttl); !errors.Is(err, storage.ErrLeaseLost) {
		t.Fatalf("stale renew: %v; want ErrLeaseLost", err)
	}
	got, ok, err := stores[(h+1)%3].ScheduleStatus(ctx, "timer")
	if err != nil || !ok || !got.Next.Equal(st.Next) {
		t.Fatalf("status = %+v, %v, %v; want the first holder's write only", got, ok, err)
	}
	if err := stores[h3].SetScheduleStatus(ctx, "timer", stale, next); err != nil {
		t.Fatalf("the new holder's fenced write: %v", err)
	}

	// Release hands the lease on with a larger token still.
	if err := stores[h3].ReleaseLease(ctx, next); err != nil {
		t.Fatal(err)
	}
	after, _ := contend(4)
	if after.Token <= next.Token {
		t.Fatalf("token after release %d, want more than %d", after.Token, next.Token)
	}
}

// Writes fenced by an expired holding are refused while another store takes
// the lease over at the same time, whichever commits first.
func TestFencedWritesRaceTakeover(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	a, b := openIn(t, schema, clk), openIn(t, schema, clk)
	ctx := context.Background()
	old, err := a.AcquireLease(ctx, "race", "a", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	var wg sync.WaitGroup
	var taken storage.Lease
	wg.Go(func() {
		taken, err = b.AcquireLease(ctx, "race", "b", time.Minute)
	})
	for i := range 20 {
		wg.Go(func() {
			st := storage.ScheduleStatus{Next: epoch.Add(time.Duration(i) * time.Second)}
			if err := a.SetScheduleStatus(ctx, "race", st, old); !errors.Is(err, storage.ErrLeaseLost) {
				t.Errorf("write fenced by an expired lease: %v; want ErrLeaseLost", err)
			}
		})
	}
	wg.Wait()
	if err != nil || taken.Token <= old.Token {
		t.Fatalf("takeover = %+v, %v", taken, err)
	}
	if _, ok, _ := b.ScheduleStatus(ctx, "race"); ok {
		t.Fatal("a write fenced by the expired lease landed")
	}
}
