package storagetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/storage"
)

// RunQueues runs the cases of storage.Queues.
func RunQueues(t *testing.T, open Opener[storage.Queues], opts ...Option) {
	runCases(t, open, opts, queueCases)
}

var queueCases = []testCase[storage.Queues]{
	{"CreateListDelete", queueCreateListDelete},
	{"InvalidNames", queueInvalidNames},
	{"EnqueueReceiveDelete", queueEnqueueReceiveDelete},
	{"ReceiveMissingQueue", queueReceiveMissing},
	{"Peek", queuePeek},
	{"OldestFirst", queueOldestFirst},
	{"VisibilityTimeout", queueVisibilityTimeout},
	{"VisibilityDelay", queueVisibilityDelay},
	{"PopReceiptMismatchAndNotFound", queuePopReceipts},
	{"UpdateVisibility", queueUpdateVisibility},
	{"Move", queueMove},
	{"Clear", queueClear},
	{"TimeToLive", queueTTL},
	{"NeverExpires", queueNeverExpires},
	{"DefaultTimeToLive", queueDefaultTTL},
	{"MaxMessageSize", queueMaxSize},
	{"ConcurrentReceivers", func(e *env, s storage.Queues) { concurrentReceivers(e, []storage.Queues{s}) }},
	{"Watch", queueWatch},
}

func queueCreateListDelete(e *env, s storage.Queues) {
	t := e.t
	must(t, s.CreateQueue(e.ctx, "orders"), "CreateQueue")
	must(t, s.CreateQueue(e.ctx, "orders"), "CreateQueue again")
	must(t, s.CreateQueue(e.ctx, "orders-poison"), "CreateQueue")
	must(t, s.CreateQueue(e.ctx, "mail"), "CreateQueue")
	for range 3 {
		_, err := s.Enqueue(e.ctx, "orders", []byte("x"), 0, 0)
		must(t, err, "Enqueue")
	}
	// A message enqueued on a queue that does not exist creates it.
	_, err := s.Enqueue(e.ctx, "auto-created", []byte("x"), 0, 0)
	must(t, err, "Enqueue to a new queue")
	// Invisible messages count too.
	_, err = s.Receive(e.ctx, "orders", 1, time.Minute)
	must(t, err, "Receive")

	all, err := s.ListQueues(e.ctx, "")
	must(t, err, "ListQueues")
	want := queues("auto-created", 1, "mail", 0, "orders", 3, "orders-poison", 0)
	if !slices.Equal(all, want) {
		t.Errorf("ListQueues(\"\") = %v, want %v", all, want)
	}
	some, err := s.ListQueues(e.ctx, "orders")
	must(t, err, "ListQueues")
	if want := want[2:]; !slices.Equal(some, want) {
		t.Errorf("ListQueues(orders) = %v, want %v", some, want)
	}

	must(t, s.DeleteQueue(e.ctx, "orders"), "DeleteQueue")
	wantErr(t, s.DeleteQueue(e.ctx, "orders"), storage.ErrNotFound, "DeleteQueue of a deleted queue")
	_, err = s.Receive(e.ctx, "orders", 1, time.Minute)
	wantErr(t, err, storage.ErrNotFound, "Receive from a deleted queue")
	// A queue made again under the same name starts empty.
	must(t, s.CreateQueue(e.ctx, "orders"), "CreateQueue after delete")
	msgs, err := s.Receive(e.ctx, "orders", 32, time.Minute)
	must(t, err, "Receive")
	if len(msgs) != 0 {
		t.Errorf("a queue made again holds %d messages of the deleted one", len(msgs))
	}
}

var badNames = []string{
	"", "ab", "-abc", "abc-", "ab--cd", "Orders", "my_queue", "my.queue", "my queue", "../etc",
	"a/b", "caf\u00e9", "abc\x00", "0123456789012345678901234567890123456789012345678901234567890123",
}

var goodNames = []string{"abc", "a-b-c", "0queue", "queue-9", "012345678901234567890123456789012345678901234567890123456789012"}

func queueInvalidNames(e *env, s storage.Queues) {
	t := e.t
	for _, n := range badNames {
		wantErr(t, s.CreateQueue(e.ctx, n), storage.ErrInvalidName, fmt.Sprintf("CreateQueue(%q)", n))
		_, err := s.Enqueue(e.ctx, n, []byte("x"), 0, 0)
		wantErr(t, err, storage.ErrInvalidName, fmt.Sprintf("Enqueue(%q)", n))
	}
	for _, n := range goodNames {
		must(t, s.CreateQueue(e.ctx, n), fmt.Sprintf("CreateQueue(%q)", n))
	}
	// Move checks its target too.
	_, err := s.Enqueue(e.ctx, "abc", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	m := receiveOne(e, s, "abc", time.Minute)
	_, err = s.Move(e.ctx, "abc", m.ID, m.PopReceipt, "Bad_Name")
	wantErr(t, err, storage.ErrInvalidName, "Move to a bad name")
	// The failed move left the message where it was.
	must(t, s.Delete(e.ctx, "abc", m.ID, m.PopReceipt), "Delete after a failed Move")
}

// receiveOne receives exactly one message.
func receiveOne(e *env, s storage.Queues, queue string, visibility time.Duration) storage.Message {
	e.t.Helper()
	msgs, err := s.Receive(e.ctx, queue, 1, visibility)
	must(e.t, err, "Receive")
	if len(msgs) != 1 {
		e.t.Fatalf("Receive(%s) returned %d messages, want 1", queue, len(msgs))
	}
	return msgs[0]
}

// receiveNone checks that no message is visible.
func receiveNone(e *env, s storage.Queues, queue, why string) {
	e.t.Helper()
	msgs, err := s.Receive(e.ctx, queue, 32, time.Minute)
	must(e.t, err, "Receive")
	if len(msgs) != 0 {
		e.t.Fatalf("Receive(%s) %s returned %d messages, want none (first %q)", queue, why, len(msgs), msgs[0].Body)
	}
}

func queueEnqueueReceiveDelete(e *env, s storage.Queues) {
	t := e.t
	body := []byte("hello \x00\xff world")
	sent, err := s.Enqueue(e.ctx, "work", body, 0, time.Hour)
	must(t, err, "Enqueue")
	if sent.ID == "" {
		t.Error("Enqueue returned no ID")
	}
	if !bytes.Equal(sent.Body, body) {
		t.Errorf("Enqueue returned body %q, want %q", sent.Body, body)
	}
	if sent.DequeueCount != 0 {
		t.Errorf("Enqueue returned DequeueCount %d, want 0", sent.DequeueCount)
	}
	e.sameTime("InsertionTime", sent.InsertionTime, e.now())
	e.sameTime("ExpirationTime", sent.ExpirationTime, sent.InsertionTime.Add(time.Hour))
	e.sameTime("NextVisibleTime", sent.NextVisibleTime, sent.InsertionTime)

	m := receiveOne(e, s, "work", 3*time.Second)
	if m.ID != sent.ID || !bytes.Equal(m.Body, body) {
		t.Errorf("Receive = %s %q, want %s %q", m.ID, m.Body, sent.ID, body)
	}
	if m.PopReceipt == "" {
		t.Error("Receive gave no PopReceipt")
	}
	if m.DequeueCount != 1 {
		t.Errorf("DequeueCount = %d, want 1", m.DequeueCount)
	}
	e.sameTime("received InsertionTime", m.InsertionTime, sent.InsertionTime)
	e.sameTime("received ExpirationTime", m.ExpirationTime, sent.ExpirationTime)
	e.sameTime("received NextVisibleTime", m.NextVisibleTime, e.now().Add(3*time.Second))
	receiveNone(e, s, "work", "while the only message is invisible")

	must(t, s.Delete(e.ctx, "work", m.ID, m.PopReceipt), "Delete")
	wantErr(t, s.Delete(e.ctx, "work", m.ID, m.PopReceipt), storage.ErrNotFound, "second Delete")
	e.advance(3 * time.Second)
	receiveNone(e, s, "work", "after the message was deleted")

	// Receive takes up to max.
	for i := range 5 {
		_, err := s.Enqueue(e.ctx, "work", []byte(name("m", i)), 0, 0)
		must(t, err, "Enqueue")
	}
	msgs, err := s.Receive(e.ctx, "work", 3, time.Minute)
	must(t, err, "Receive")
	if len(msgs) != 3 {
		t.Fatalf("Receive(max 3) returned %d", len(msgs))
	}
	msgs, err = s.Receive(e.ctx, "work", 32, time.Minute)
	must(t, err, "Receive")
	if len(msgs) != 2 {
		t.Fatalf("Receive(max 32) of the last two returned %d", len(msgs))
	}
}

func queueReceiveMissing(e *env, s storage.Queues) {
	_, err := s.Receive(e.ctx, "nothing-here", 1, time.Minute)
	wantErr(e.t, err, storage.ErrNotFound, "Receive from a queue never made")
	_, err = s.Peek(e.ctx, "nothing-here", 1)
	wantErr(e.t, err, storage.ErrNotFound, "Peek of a queue never made")
	must(e.t, s.CreateQueue(e.ctx, "empty"), "CreateQueue")
	receiveNone(e, s, "empty", "from an empty queue")
	wantErr(e.t, s.Delete(e.ctx, "nothing-here", "id", "pop"), storage.ErrNotFound, "Delete in a queue never made")
}

func queuePeek(e *env, s storage.Queues) {
	t := e.t
	for i := range 3 {
		_, err := s.Enqueue(e.ctx, "peeked", []byte(name("m", i)), 0, 0)
		must(t, err, "Enqueue")
	}
	for range 2 {
		msgs, err := s.Peek(e.ctx, "peeked", 32)
		must(t, err, "Peek")
		if got := bodies(msgs); !slices.Equal(got, []string{"m000", "m001", "m002"}) {
			t.Fatalf("Peek = %v", got)
		}
		for _, m := range msgs {
			if m.PopReceipt != "" || m.DequeueCount != 0 {
				t.Errorf("Peek gave PopReceipt %q and DequeueCount %d, want none and 0", m.PopReceipt, m.DequeueCount)
			}
		}
	}
	m := receiveOne(e, s, "peeked", time.Minute)
	msgs, err := s.Peek(e.ctx, "peeked", 1)
	must(t, err, "Peek")
	if got := bodies(msgs); !slices.Equal(got, []string{"m001"}) {
		t.Errorf("Peek(max 1) after receiving %s = %v, want [m001]", m.Body, got)
	}
	if m.DequeueCount != 1 {
		t.Errorf("DequeueCount after peeks = %d, want 1", m.DequeueCount)
	}
}

func bodies(msgs []storage.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Body)
	}
	return out
}

func queueOldestFirst(e *env, s storage.Queues) {
	t := e.t
	for i := range 10 {
		_, err := s.Enqueue(e.ctx, "fifo", []byte(name("m", i)), 0, storage.NeverExpires)
		must(t, err, "Enqueue")
	}
	var got []string
	for len(got) < 10 {
		msgs, err := s.Receive(e.ctx, "fifo", 3, 3*time.Second)
		must(t, err, "Receive")
		if len(msgs) == 0 {
			t.Fatalf("Receive returned nothing after %v", got)
		}
		got = append(got, bodies(msgs)...)
	}
	want := make([]string, 10)
	for i := range want {
		want[i] = name("m", i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("received %v, want %v", got, want)
	}
	// Messages visible again come back oldest insertion first, before a
	// message inserted later.
	_, err := s.Enqueue(e.ctx, "fifo", []byte("late"), 0, storage.NeverExpires)
	must(t, err, "Enqueue")
	e.advance(3 * time.Second)
	msgs, err := s.Receive(e.ctx, "fifo", 32, time.Minute)
	must(t, err, "Receive")
	if got, want := bodies(msgs), append(want, "late"); !slices.Equal(got, want) {
		t.Errorf("after the timeouts received %v, want %v", got, want)
	}
}

func queueVisibilityTimeout(e *env, s storage.Queues) {
	t := e.t
	sent, err := s.Enqueue(e.ctx, "vis", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	first := receiveOne(e, s, "vis", 3*time.Second)
	receiveNone(e, s, "vis", "before the visibility timeout")
	e.advance(3 * time.Second)
	second := receiveOne(e, s, "vis", 3*time.Second)
	if second.ID != sent.ID || second.DequeueCount != 2 {
		t.Errorf("after the timeout got %s with DequeueCount %d, want %s with 2", second.ID, second.DequeueCount, sent.ID)
	}
	if second.PopReceipt == first.PopReceipt {
		t.Error("a second receive kept the first pop receipt")
	}
	wantErr(t, s.Delete(e.ctx, "vis", first.ID, first.PopReceipt), storage.ErrPopReceiptMismatch, "Delete with the first receive's receipt")
	e.advance(3 * time.Second)
	third := receiveOne(e, s, "vis", time.Minute)
	if third.DequeueCount != 3 {
		t.Errorf("DequeueCount = %d, want 3", third.DequeueCount)
	}
	must(t, s.Delete(e.ctx, "vis", third.ID, third.PopReceipt), "Delete")
}

func queueVisibilityDelay(e *env, s storage.Queues) {
	t := e.t
	sent, err := s.Enqueue(e.ctx, "delayed", []byte("later"), 3*time.Second, 0)
	must(t, err, "Enqueue")
	e.sameTime("NextVisibleTime", sent.NextVisibleTime, sent.InsertionTime.Add(3*time.Second))
	receiveNone(e, s, "delayed", "before the delay")
	msgs, err := s.Peek(e.ctx, "delayed", 32)
	must(t, err, "Peek")
	if len(msgs) != 0 {
		t.Errorf("Peek before the delay returned %d messages", len(msgs))
	}
	infos, err := s.ListQueues(e.ctx, "delayed")
	must(t, err, "ListQueues")
	if len(infos) != 1 || infos[0].Messages != 1 {
		t.Errorf("ListQueues = %v, want the delayed message counted", infos)
	}
	e.advance(3 * time.Second)
	m := receiveOne(e, s, "delayed", time.Minute)
	if string(m.Body) != "later" || m.DequeueCount != 1 {
		t.Errorf("got %q with DequeueCount %d", m.Body, m.DequeueCount)
	}
}

func queuePopReceipts(e *env, s storage.Queues) {
	t := e.t
	_, err := s.Enqueue(e.ctx, "pops", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	m := receiveOne(e, s, "pops", time.Minute)
	wantErr(t, s.Delete(e.ctx, "pops", m.ID, m.PopReceipt+"x"), storage.ErrPopReceiptMismatch, "Delete with a wrong receipt")
	wantErr(t, s.Delete(e.ctx, "pops", m.ID, ""), storage.ErrPopReceiptMismatch, "Delete with no receipt")
	wantErr(t, s.Delete(e.ctx, "pops", "no-such-id", m.PopReceipt), storage.ErrNotFound, "Delete of an unknown id")
	wantErr(t, s.Delete(e.ctx, "pops", "00000000-0000-0000-0000-000000000000", m.PopReceipt), storage.ErrNotFound, "Delete of an unknown id")
	_, err = s.UpdateVisibility(e.ctx, "pops", m.ID, "wrong", 0)
	wantErr(t, err, storage.ErrPopReceiptMismatch, "UpdateVisibility with a wrong receipt")
	_, err = s.UpdateVisibility(e.ctx, "pops", "no-such-id", m.PopReceipt, 0)
	wantErr(t, err, storage.ErrNotFound, "UpdateVisibility of an unknown id")
	_, err = s.Move(e.ctx, "pops", m.ID, "wrong", "elsewhere")
	wantErr(t, err, storage.ErrPopReceiptMismatch, "Move with a wrong receipt")
	_, err = s.Move(e.ctx, "pops", "no-such-id", m.PopReceipt, "elsewhere")
	wantErr(t, err, storage.ErrNotFound, "Move of an unknown id")
	// A message in another queue is not found under this one.
	must(t, s.CreateQueue(e.ctx, "other"), "CreateQueue")
	wantErr(t, s.Delete(e.ctx, "other", m.ID, m.PopReceipt), storage.ErrNotFound, "Delete from the wrong queue")
	// The message is still there, and its receipt still works.
	must(t, s.Delete(e.ctx, "pops", m.ID, m.PopReceipt), "Delete")
	wantErr(t, s.Delete(e.ctx, "pops", m.ID, m.PopReceipt), storage.ErrNotFound, "Delete after Delete")
	_, err = s.UpdateVisibility(e.ctx, "pops", m.ID, m.PopReceipt, 0)
	wantErr(t, err, storage.ErrNotFound, "UpdateVisibility after Delete")

	// The last receipt stays valid after the timeout until another receive.
	_, err = s.Enqueue(e.ctx, "pops", []byte("y"), 0, 0)
	must(t, err, "Enqueue")
	m = receiveOne(e, s, "pops", 2*time.Second)
	e.advance(2 * time.Second)
	must(t, s.Delete(e.ctx, "pops", m.ID, m.PopReceipt), "Delete with the last receipt after its timeout")
}

func queueUpdateVisibility(e *env, s storage.Queues) {
	t := e.t
	_, err := s.Enqueue(e.ctx, "upd", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	m := receiveOne(e, s, "upd", time.Minute)

	// Extend: still invisible, new receipt, old one refused.
	ext, err := s.UpdateVisibility(e.ctx, "upd", m.ID, m.PopReceipt, 5*time.Minute)
	must(t, err, "UpdateVisibility")
	if ext.PopReceipt == "" || ext.PopReceipt == m.PopReceipt {
		t.Errorf("UpdateVisibility gave pop receipt %q after %q, want a new one", ext.PopReceipt, m.PopReceipt)
	}
	if ext.ID != m.ID || string(ext.Body) != "x" || ext.DequeueCount != 1 {
		t.Errorf("UpdateVisibility returned %s %q DequeueCount %d", ext.ID, ext.Body, ext.DequeueCount)
	}
	e.sameTime("NextVisibleTime", ext.NextVisibleTime, e.now().Add(5*time.Minute))
	wantErr(t, s.Delete(e.ctx, "upd", m.ID, m.PopReceipt), storage.ErrPopReceiptMismatch, "Delete with the receipt before the update")
	if e.fake != nil {
		e.advance(time.Minute)
		receiveNone(e, s, "upd", "after the first timeout, which the update extended")
	}

	// Zero: visible at once, keeps its dequeue count.
	back, err := s.UpdateVisibility(e.ctx, "upd", ext.ID, ext.PopReceipt, 0)
	must(t, err, "UpdateVisibility(0)")
	e.sameTime("NextVisibleTime", back.NextVisibleTime, e.now())
	again := receiveOne(e, s, "upd", time.Minute)
	if again.ID != m.ID || again.DequeueCount != 2 {
		t.Errorf("received %s DequeueCount %d after UpdateVisibility(0), want %s 2", again.ID, again.DequeueCount, m.ID)
	}
	wantErr(t, s.Delete(e.ctx, "upd", back.ID, back.PopReceipt), storage.ErrPopReceiptMismatch, "Delete with the receipt before the receive")
	must(t, s.Delete(e.ctx, "upd", again.ID, again.PopReceipt), "Delete")
}

func queueMove(e *env, s storage.Queues) {
	t := e.t
	_, err := s.Enqueue(e.ctx, "source", []byte("poison"), 0, 0)
	must(t, err, "Enqueue")
	var m storage.Message
	for range 3 {
		m = receiveOne(e, s, "source", 2*time.Second)
		e.advance(2 * time.Second)
	}
	m = receiveOne(e, s, "source", 2*time.Second)
	if m.DequeueCount != 4 {
		t.Fatalf("DequeueCount = %d, want 4", m.DequeueCount)
	}
	moved, err := s.Move(e.ctx, "source", m.ID, m.PopReceipt, "source-poison")
	must(t, err, "Move")
	if string(moved.Body) != "poison" || moved.DequeueCount != 0 {
		t.Errorf("Move returned %q DequeueCount %d, want the body and 0", moved.Body, moved.DequeueCount)
	}
	wantErr(t, s.Delete(e.ctx, "source", m.ID, m.PopReceipt), storage.ErrNotFound, "Delete of a moved message")
	_, err = s.Move(e.ctx, "source", m.ID, m.PopReceipt, "source-poison")
	wantErr(t, err, storage.ErrNotFound, "Move of a moved message")
	e.advance(2 * time.Second)
	receiveNone(e, s, "source", "after the move")

	got := receiveOne(e, s, "source-poison", time.Minute)
	if got.ID != moved.ID || string(got.Body) != "poison" || got.DequeueCount != 1 {
		t.Errorf("poison queue gave %s %q DequeueCount %d, want %s \"poison\" 1", got.ID, got.Body, got.DequeueCount, moved.ID)
	}
	infos, err := s.ListQueues(e.ctx, "source")
	must(t, err, "ListQueues")
	if want := queues("source", 0, "source-poison", 1); !slices.Equal(infos, want) {
		t.Errorf("ListQueues = %v, want %v", infos, want)
	}
}

func queueClear(e *env, s storage.Queues) {
	t := e.t
	for i := range 5 {
		_, err := s.Enqueue(e.ctx, "clr", []byte(name("m", i)), 0, 0)
		must(t, err, "Enqueue")
	}
	_, err := s.Enqueue(e.ctx, "kept", []byte("k"), 0, 0)
	must(t, err, "Enqueue")
	m := receiveOne(e, s, "clr", 2*time.Second)
	must(t, s.Clear(e.ctx, "clr"), "Clear")
	e.advance(2 * time.Second)
	receiveNone(e, s, "clr", "after Clear")
	wantErr(t, s.Delete(e.ctx, "clr", m.ID, m.PopReceipt), storage.ErrNotFound, "Delete after Clear")
	infos, err := s.ListQueues(e.ctx, "")
	must(t, err, "ListQueues")
	if want := queues("clr", 0, "kept", 1); !slices.Equal(infos, want) {
		t.Errorf("ListQueues = %v, want %v: Clear keeps the queue and other queues' messages", infos, want)
	}
}

func queueTTL(e *env, s storage.Queues) {
	t := e.t
	short, err := s.Enqueue(e.ctx, "ttl", []byte("short"), 0, 2*time.Second)
	must(t, err, "Enqueue")
	e.sameTime("ExpirationTime", short.ExpirationTime, short.InsertionTime.Add(2*time.Second))
	_, err = s.Enqueue(e.ctx, "ttl", []byte("long"), 0, time.Hour)
	must(t, err, "Enqueue")
	// A received message expires too, even while invisible.
	_, err = s.Enqueue(e.ctx, "ttl-held", []byte("held"), 0, 2*time.Second)
	must(t, err, "Enqueue")
	held := receiveOne(e, s, "ttl-held", time.Hour)

	e.advance(2 * time.Second)
	msgs, err := s.Peek(e.ctx, "ttl", 32)
	must(t, err, "Peek")
	if got := bodies(msgs); !slices.Equal(got, []string{"long"}) {
		t.Errorf("Peek after the short TTL = %v, want [long]", got)
	}
	infos, err := s.ListQueues(e.ctx, "ttl")
	must(t, err, "ListQueues")
	if want := queues("ttl", 1, "ttl-held", 0); !slices.Equal(infos, want) {
		t.Errorf("ListQueues = %v, want %v (expired messages not counted)", infos, want)
	}
	m := receiveOne(e, s, "ttl", time.Minute)
	if string(m.Body) != "long" {
		t.Errorf("received %q, want long", m.Body)
	}
	receiveNone(e, s, "ttl", "after the long message was taken")
	// Deleting the expired message may succeed or find it gone; either way
	// it stays gone.
	_ = s.Delete(e.ctx, "ttl-held", held.ID, held.PopReceipt)
	receiveNone(e, s, "ttl-held", "after its message expired")
}

func queueNeverExpires(e *env, s storage.Queues) {
	t := e.t
	m, err := s.Enqueue(e.ctx, "forever", []byte("x"), 0, storage.NeverExpires)
	must(t, err, "Enqueue")
	if !m.ExpirationTime.IsZero() {
		t.Errorf("ExpirationTime = %v, want the zero time", m.ExpirationTime)
	}
	e.needFakeClock("waiting past the default time to live")
	e.advance(30 * 24 * time.Hour)
	got := receiveOne(e, s, "forever", time.Minute)
	if !got.ExpirationTime.IsZero() {
		t.Errorf("received ExpirationTime = %v, want the zero time", got.ExpirationTime)
	}
}

func queueDefaultTTL(e *env, s storage.Queues) {
	t := e.t
	m, err := s.Enqueue(e.ctx, "default-ttl", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	e.sameTime("ExpirationTime", m.ExpirationTime, m.InsertionTime.Add(storage.DefaultMessageTTL))
	e.needFakeClock("waiting out the default time to live")
	e.advance(storage.DefaultMessageTTL - time.Second)
	msgs, err := s.Peek(e.ctx, "default-ttl", 1)
	must(t, err, "Peek")
	if len(msgs) != 1 {
		t.Fatalf("message gone a second before its default TTL")
	}
	e.advance(time.Second)
	receiveNone(e, s, "default-ttl", "after the default TTL")
}

func queueMaxSize(e *env, s storage.Queues) {
	t := e.t
	big := bytes.Repeat([]byte("a"), storage.MaxMessageSize)
	m, err := s.Enqueue(e.ctx, "sizes", big, 0, 0)
	must(t, err, "Enqueue of MaxMessageSize bytes")
	_, err = s.Enqueue(e.ctx, "sizes", append(big, 'b'), 0, 0)
	wantErr(t, err, storage.ErrTooLarge, "Enqueue of MaxMessageSize+1 bytes")
	got := receiveOne(e, s, "sizes", time.Minute)
	if got.ID != m.ID || !bytes.Equal(got.Body, big) {
		t.Errorf("the largest message did not round-trip (%d bytes back)", len(got.Body))
	}
	// An empty body is a message.
	_, err = s.Enqueue(e.ctx, "sizes", nil, 0, 0)
	must(t, err, "Enqueue of an empty body")
	got = receiveOne(e, s, "sizes", time.Minute)
	if len(got.Body) != 0 {
		t.Errorf("empty body came back as %q", got.Body)
	}
}

// concurrentReceivers has goroutines receive 500 messages from the stores,
// round robin, and checks that each message was handed out once.
func concurrentReceivers(e *env, stores []storage.Queues) {
	t := e.t
	const total, workers = 500, 8
	want := map[string]bool{}
	for i := range total {
		m, err := stores[i%len(stores)].Enqueue(e.ctx, "busy", []byte(name("m", i)), 0, 0)
		must(t, err, "Enqueue")
		want[m.ID] = true
	}
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		wg   sync.WaitGroup
	)
	errs := make(chan error, workers)
	for w := range workers {
		s := stores[w%len(stores)]
		wg.Go(func() {
			for {
				msgs, err := s.Receive(e.ctx, "busy", 1+w%4*10, time.Hour)
				if err != nil {
					errs <- err
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.ID]++
				}
				mu.Unlock()
				for _, m := range msgs {
					if err := s.Delete(e.ctx, "busy", m.ID, m.PopReceipt); err != nil {
						errs <- fmt.Errorf("delete %s: %w", m.ID, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s handed out %d times", id, n)
		}
		if !want[id] {
			t.Errorf("message %s was never enqueued", id)
		}
	}
	if len(seen) != total {
		t.Errorf("%d of %d messages received", len(seen), total)
	}
}

func queueWatch(e *env, s storage.Queues) {
	t := e.t
	must(t, s.CreateQueue(e.ctx, "watched"), "CreateQueue")
	ch, stop := s.WatchQueue("watched")
	defer stop()
	if ch == nil {
		t.Skip("skipped: the backend cannot notify (WatchQueue returned a nil channel)")
	}
	other, stopOther := s.WatchQueue("watched")
	_, err := s.Enqueue(e.ctx, "watched", []byte("x"), 0, 0)
	must(t, err, "Enqueue")
	wantSignal(t, ch, "Enqueue")
	wantSignal(t, other, "Enqueue, on a second watch of the queue")
	stopOther()
	stopOther() // stop is idempotent

	m := receiveOne(e, s, "watched", time.Minute)
	drain(ch)
	_, err = s.UpdateVisibility(e.ctx, "watched", m.ID, m.PopReceipt, 0)
	must(t, err, "UpdateVisibility(0)")
	wantSignal(t, ch, "UpdateVisibility(0)")

	_, err = s.Enqueue(e.ctx, "watched-src", []byte("y"), 0, 0)
	must(t, err, "Enqueue")
	m = receiveOne(e, s, "watched-src", time.Minute)
	drain(ch)
	_, err = s.Move(e.ctx, "watched-src", m.ID, m.PopReceipt, "watched")
	must(t, err, "Move")
	wantSignal(t, ch, "Move")

	// Many writes with no reader never block the writer.
	for range 10 {
		_, err := s.Enqueue(e.ctx, "watched", []byte("z"), 0, 0)
		must(t, err, "Enqueue")
	}
	stop()
	_, err = s.Enqueue(e.ctx, "watched", []byte("after stop"), 0, 0)
	must(t, err, "Enqueue after stop")
}
