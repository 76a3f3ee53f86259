package sqlite

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

// Deletes committed together in one batch each get their own outcome.
func TestBatchedDeletesKeepTheirOwnResults(t *testing.T) {
	s := open(t, t.TempDir(), clocktest.New(time.Unix(1e9, 0)))
	ctx := t.Context()
	const n = 60
	for i := range n {
		if _, err := s.Enqueue(ctx, "batch", []byte(fmt.Sprint(i)), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := s.Receive(ctx, "batch", n, time.Hour)
	if err != nil || len(msgs) != n {
		t.Fatalf("Receive: %d messages, %v", len(msgs), err)
	}
	want := func(i int) error {
		switch i % 3 {
		case 1:
			return storage.ErrPopReceiptMismatch
		case 2:
			return storage.ErrNotFound
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, m := range msgs {
		wg.Go(func() {
			id, pop := m.ID, m.PopReceipt
			switch i % 3 {
			case 1:
				pop = "AAAAAAAAAAE"
			case 2:
				id = messageID(1<<40, 1)
			}
			errs[i] = s.Delete(ctx, "batch", id, pop)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if w := want(i); (w == nil && err != nil) || (w != nil && !errors.Is(err, w)) {
			t.Errorf("delete %d: %v, want %v", i, err, w)
		}
	}
	infos, err := s.ListQueues(ctx, "batch")
	if err != nil || len(infos) != 1 || infos[0].Messages != 2*n/3 {
		t.Errorf("ListQueues = %v, %v; want %d messages left", infos, err, 2*n/3)
	}
}
