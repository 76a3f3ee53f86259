package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/storage"
)

// One grouped statement gives each delete its own outcome, even when the
// group holds the same message twice or a stale receipt for it.
func TestGroupedDeletesKeepTheirOwnResults(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for i := range 2 {
		if _, err := s.Enqueue(ctx, "grouped", fmt.Appendf(nil, "m%d", i), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Receive(ctx, "grouped", 2, time.Minute)
	if err != nil || len(msgs) != 2 {
		t.Fatalf("Receive = %v, %v", msgs, err)
	}
	a, b := msgs[0], msgs[1]
	reqs := []deleteReq{
		{queue: "grouped", id: a.ID, receipt: parseReceipt(a.PopReceipt)},
		{queue: "grouped", id: a.ID, receipt: parseReceipt(a.PopReceipt)}, // the same delete again
		{queue: "grouped", id: b.ID, receipt: parseReceipt(b.PopReceipt) + 1000},
		{queue: "grouped", id: newUUID(), receipt: 1},
		{queue: "other", id: b.ID, receipt: parseReceipt(b.PopReceipt)}, // the right message in the wrong queue
	}
	res, err := s.execDeletes(ctx, reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, storage.ErrNotFound, storage.ErrPopReceiptMismatch, storage.ErrNotFound, storage.ErrNotFound}
	for i := range want {
		if !errors.Is(res[i], want[i]) || (want[i] == nil) != (res[i] == nil) {
			t.Errorf("request %d: %v, want %v", i, res[i], want[i])
		}
	}
	left, err := s.Peek(ctx, "grouped", 10)
	if err != nil || len(left) != 0 {
		t.Fatalf("Peek = %v, %v; want none visible", left, err)
	}
	if err := s.Delete(ctx, "grouped", b.ID, b.PopReceipt); err != nil {
		t.Fatalf("Delete of the message the group left: %v", err)
	}
}

// Many concurrent enqueues and deletes, grouped, each succeed exactly once
// and keep the queue's order per producer.
func TestConcurrentGroupedWrites(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	const producers, each = 8, 25
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if _, err := s.Enqueue(ctx, "many", fmt.Appendf(nil, "%d/%03d", p, i), 0, 0); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	msgs, err := s.Receive(ctx, "many", producers*each+10, time.Minute)
	if err != nil || len(msgs) != producers*each {
		t.Fatalf("Receive = %d messages, %v; want %d", len(msgs), err, producers*each)
	}
	last := map[byte]string{}
	for _, m := range msgs {
		p := m.Body[0]
		if string(m.Body) <= last[p] {
			t.Fatalf("producer %c's messages out of order: %s after %s", p, m.Body, last[p])
		}
		last[p] = string(m.Body)
	}
	errs := make([]error, 2*len(msgs))
	for i, m := range msgs {
		for k := range 2 { // every message deleted twice at once
			wg.Go(func() { errs[2*i+k] = s.Delete(ctx, "many", m.ID, m.PopReceipt) })
		}
	}
	wg.Wait()
	for i := range msgs {
		ok := 0
		for k := range 2 {
			switch err := errs[2*i+k]; {
			case err == nil:
				ok++
			case !errors.Is(err, storage.ErrNotFound):
				t.Errorf("Delete: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("message %d deleted %d times, want once", i, ok)
		}
	}
}
