package postgres

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/storage"
)

func TestQueueLifecycle(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()

	if _, err := s.Receive(ctx, "missing", 1, time.Minute); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Receive from a missing queue: err = %v, want ErrNotFound", err)
	}
	if err := s.CreateQueue(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateQueue(ctx, "orders"); err != nil {
		t.Fatalf("CreateQueue again: %v", err)
	}
	got, err := s.Receive(ctx, "orders", 1, time.Minute)
	if err != nil || len(got) != 0 {
		t.Fatalf("Receive from an empty queue = %v, %v; want none", got, err)
	}

	for _, body := range []string{"one", "two", "three"} {
		m, err := s.Enqueue(ctx, "orders", []byte(body), 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		now := clk.Now()
		if !validUUID(m.ID) || !m.InsertionTime.Equal(now) || !m.ExpirationTime.Equal(now.Add(storage.DefaultMessageTTL)) {
			t.Fatalf("Enqueue = %+v", m)
		}
		clk.Advance(time.Millisecond)
	}
	msgs, err := s.Receive(ctx, "orders", 2, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || string(msgs[0].Body) != "one" || string(msgs[1].Body) != "two" {
		t.Fatalf("Receive(2) = %+v; want one, two", msgs)
	}
	for _, m := range msgs {
		if m.DequeueCount != 1 || m.PopReceipt == "" || !m.NextVisibleTime.Equal(clk.Now().Add(30*time.Second)) {
			t.Fatalf("received %+v", m)
		}
	}
	peek, err := s.Peek(ctx, "orders", 10)
	if err != nil || len(peek) != 1 || string(peek[0].Body) != "three" || peek[0].PopReceipt != "" {
		t.Fatalf("Peek = %+v, %v; want three without a receipt", peek, err)
	}

	// Invisible until the timeout runs out, then received again with a
	// larger dequeue count and a new receipt.
	clk.Advance(31 * time.Second)
	again, err := s.Receive(ctx, "orders", 1, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != msgs[0].ID || again[0].DequeueCount != 2 || again[0].PopReceipt == msgs[0].PopReceipt {
		t.Fatalf("Receive after the timeout = %+v, %v; want %s again, dequeue count 2", again, err, msgs[0].ID)
	}
	if err := s.Delete(ctx, "orders", msgs[0].ID, msgs[0].PopReceipt); !errors.Is(err, storage.ErrPopReceiptMismatch) {
		t.Fatalf("Delete with the old receipt: %v; want ErrPopReceiptMismatch", err)
	}
	if err := s.Delete(ctx, "orders", again[0].ID, again[0].PopReceipt); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "orders", again[0].ID, again[0].PopReceipt); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Delete twice: %v; want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "orders", "not-a-uuid", "1"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Delete of a malformed id: %v; want ErrNotFound", err)
	}

	infos, err := s.ListQueues(ctx, "ord")
	if err != nil || len(infos) != 1 || infos[0] != (storage.QueueInfo{Name: "orders", Messages: 2}) {
		t.Fatalf("ListQueues = %+v, %v", infos, err)
	}
	if err := s.Clear(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueue(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteQueue(ctx, "orders"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("DeleteQueue twice: %v; want ErrNotFound", err)
	}
}

func TestQueueDelayTTLAndLimits(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()

	if _, err := s.Enqueue(ctx, "Bad_Name", nil, 0, 0); !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("Enqueue on a bad name: %v; want ErrInvalidName", err)
	}
	if _, err := s.Enqueue(ctx, "big", make([]byte, storage.MaxMessageSize+1), 0, 0); !errors.Is(err, storage.ErrTooLarge) {
		t.Fatalf("Enqueue too large: %v; want ErrTooLarge", err)
	}
	if _, err := s.Enqueue(ctx, "big", make([]byte, storage.MaxMessageSize), 0, 0); err != nil {
		t.Fatalf("Enqueue of exactly MaxMessageSize: %v", err)
	}

	if _, err := s.Enqueue(ctx, "later", []byte("delayed"), 10*time.Second, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, "later", []byte("short"), 0, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	forever, err := s.Enqueue(ctx, "later", []byte("forever"), 0, storage.NeverExpires)
	if err != nil || !forever.ExpirationTime.IsZero() {
		t.Fatalf("Enqueue never expiring = %+v, %v", forever, err)
	}
	clk.Advance(6 * time.Second) // "short" expires; "delayed" is not visible yet
	msgs, err := s.Peek(ctx, "later", 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "forever" {
		t.Fatalf("Peek = %+v, %v; want only forever", msgs, err)
	}
	clk.Advance(5 * time.Second)
	msgs, err = s.Receive(ctx, "later", 10, time.Minute)
	if err != nil || len(msgs) != 2 || string(msgs[0].Body) != "delayed" || string(msgs[1].Body) != "forever" {
		t.Fatalf("Receive = %+v, %v; want delayed, forever", msgs, err)
	}
	infos, err := s.ListQueues(ctx, "later")
	if err != nil || len(infos) != 1 || infos[0].Messages != 2 {
		t.Fatalf("ListQueues = %+v, %v; want 2 messages (the expired one not counted)", infos, err)
	}
}

func TestUpdateVisibilityAndMove(t *testing.T) {
	s, clk := openTest(t)
	ctx := context.Background()

	if _, err := s.Enqueue(ctx, "work", []byte("payload"), 0, 0); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Receive(ctx, "work", 1, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %v, %v", msgs, err)
	}
	m := msgs[0]
	upd, err := s.UpdateVisibility(ctx, "work", m.ID, m.PopReceipt, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if upd.PopReceipt == m.PopReceipt || !upd.NextVisibleTime.Equal(clk.Now().Add(10*time.Second)) || string(upd.Body) != "payload" || upd.DequeueCount != 1 {
		t.Fatalf("UpdateVisibility = %+v", upd)
	}
	if _, err := s.UpdateVisibility(ctx, "work", m.ID, m.PopReceipt, 0); !errors.Is(err, storage.ErrPopReceiptMismatch) {
		t.Fatalf("UpdateVisibility with the old receipt: %v; want ErrPopReceiptMismatch", err)
	}
	if _, err := s.Move(ctx, "work", m.ID, "junk", "work-poison"); !errors.Is(err, storage.ErrPopReceiptMismatch) {
		t.Fatalf("Move with a bad receipt: %v; want ErrPopReceiptMismatch", err)
	}
	if infos, _ := s.ListQueues(ctx, "work-poison"); len(infos) != 0 {
		t.Fatalf("a failed Move created its destination: %+v", infos)
	}
	moved, err := s.Move(ctx, "work", m.ID, upd.PopReceipt, "work-poison")
	if err != nil {
		t.Fatal(err)
	}
	if moved.ID == m.ID || string(moved.Body) != "payload" || moved.DequeueCount != 0 {
		t.Fatalf("Move = %+v", moved)
	}
	if _, err := s.Move(ctx, "work", m.ID, upd.PopReceipt, "work-poison"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Move twice: %v; want ErrNotFound", err)
	}
	poison, err := s.Receive(ctx, "work-poison", 32, time.Minute)
	if err != nil || len(poison) != 1 || poison[0].ID != moved.ID || poison[0].DequeueCount != 1 {
		t.Fatalf("Receive from the poison queue = %+v, %v", poison, err)
	}
	left, err := s.Peek(ctx, "work", 32)
	if err != nil || len(left) != 0 {
		t.Fatalf("Peek after Move = %+v, %v; want none", left, err)
	}
}

func TestWatchQueueAcrossStores(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	a := openIn(t, schema, clk)
	b := openIn(t, schema, clk)
	waitListening(t, b)
	ctx := context.Background()

	ch, stop := b.WatchQueue("events")
	defer stop()
	drain(ch)
	if _, err := a.Enqueue(ctx, "events", []byte("x"), 0, 0); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch, "an Enqueue by another store")

	// A watch of another queue is not woken by this one's writes.
	other, stopOther := b.WatchQueue("unrelated")
	defer stopOther()
	drain(other)

	msgs, err := a.Receive(ctx, "events", 1, time.Minute)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %v, %v", msgs, err)
	}
	drain(ch)
	if _, err := a.UpdateVisibility(ctx, "events", msgs[0].ID, msgs[0].PopReceipt, 0); err != nil {
		t.Fatal(err)
	}
	signalled(t, ch, "an UpdateVisibility to 0 by another store")

	drain(ch)
	msgs, _ = a.Receive(ctx, "events", 1, time.Minute)
	if _, err := a.Move(ctx, "events", msgs[0].ID, msgs[0].PopReceipt, "unrelated"); err != nil {
		t.Fatal(err)
	}
	signalled(t, other, "a Move into the queue by another store")
	select {
	case <-other:
		t.Fatal("signalled twice for one Move")
	default:
	}
}

func TestWatchSignalsAfterReconnect(t *testing.T) {
	schema := newSchema(t)
	clk := clocktest.New(epoch)
	a := openIn(t, schema, clk)
	b := openIn(t, schema, clk)
	waitListening(t, b)
	ctx := context.Background()

	ch, stop := b.WatchQueue("jobs")
	defer stop()
	drain(ch)

	// Kill b's listening connection, as a server restart or a network
	// failure would.
	var killed int64
	err := a.pool.QueryRow(ctx, `
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE query LIKE 'LISTEN %' AND query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, b.watch.channel).Scan(&killed)
	if err != nil || killed == 0 {
		t.Fatalf("terminate the listener: killed %d, %v", killed, err)
	}
	// The reconnect wakes every watcher, since notifications may have been
	// lost meanwhile.
	signalled(t, ch, "the reconnect")

	// And notifications flow again: wait until a fresh LISTEN is in place
	// by enqueuing until one arrives.
	for i := 0; ; i++ {
		drain(ch)
		if _, err := a.Enqueue(ctx, "jobs", []byte("again"), 0, 0); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
			return
		case <-time.After(200 * time.Millisecond):
			if i > 150 {
				t.Fatal("no notification after the reconnect")
			}
		}
	}
}

func TestEnqueueNilBody(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.Enqueue(ctx, "empty", nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Receive(ctx, "empty", 1, time.Minute)
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Body, nil) {
		t.Fatalf("Receive = %+v, %v", msgs, err)
	}
	if !strings.Contains(msgs[0].ID, "-") {
		t.Fatalf("ID %q is not a UUID", msgs[0].ID)
	}
}
