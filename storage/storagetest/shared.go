package storagetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/storage"
)

// RunTwoInstances runs the cases that two stores on one database, as two
// processes sharing a backend, must pass: one sees the other's messages,
// blobs, leases, schedules, receipts and checkpoints, and concurrent
// receivers on both are never handed the same message.
func RunTwoInstances(t *testing.T, open PairOpener, opts ...Option) {
	for _, c := range sharedCases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, opts)
			a, b := open(t, e.clock())
			c.run(e, a, b)
		})
	}
}

var sharedCases = []struct {
	name string
	run  func(e *env, a, b storage.Store)
}{
	{"ConcurrentReceivers", func(e *env, a, b storage.Store) { concurrentReceivers(e, []storage.Queues{a, b}) }},
	{"Queues", sharedQueues},
	{"Blobs", sharedBlobs},
	{"Leases", sharedLeases},
	{"Receipts", sharedReceipts},
	{"Checkpoints", sharedCheckpoints},
}

func sharedQueues(e *env, a, b storage.Store) {
	t := e.t
	sent, err := a.Enqueue(e.ctx, "shared", []byte("x"), 0, 0)
	must(t, err, "Enqueue on a")
	infos, err := b.ListQueues(e.ctx, "")
	must(t, err, "ListQueues on b")
	if want := queues("shared", 1); !slices.Equal(infos, want) {
		t.Errorf("b lists %v, want %v", infos, want)
	}
	m := receiveOne(e, b, "shared", 3*time.Second)
	if m.ID != sent.ID {
		t.Errorf("b received %s, want %s", m.ID, sent.ID)
	}
	receiveNone(e, a, "shared", "on a while b holds the message")
	e.advance(3 * time.Second)
	again := receiveOne(e, a, "shared", time.Minute)
	if again.DequeueCount != 2 {
		t.Errorf("DequeueCount = %d, want 2", again.DequeueCount)
	}
	wantErr(t, b.Delete(e.ctx, "shared", m.ID, m.PopReceipt), storage.ErrPopReceiptMismatch, "b's Delete after a received again")
	must(t, b.Delete(e.ctx, "shared", again.ID, again.PopReceipt), "b's Delete with a's receipt")
	must(t, a.DeleteQueue(e.ctx, "shared"), "DeleteQueue on a")
	_, err = b.Receive(e.ctx, "shared", 1, time.Minute)
	wantErr(t, err, storage.ErrNotFound, "Receive on b after a deleted the queue")
}

func sharedBlobs(e *env, a, b storage.Store) {
	t := e.t
	p := put(e, a, "shared", "doc", "from a", storage.PutBlobOptions{Metadata: map[string]string{"by": "a"}})
	got, bp := read(e, b, "shared", "doc")
	if got != "from a" || bp.ETag != p.ETag || bp.Metadata["by"] != "a" {
		t.Errorf("b read %q %+v, want a's blob", got, bp)
	}
	p2 := put(e, b, "shared", "doc", "from b", storage.PutBlobOptions{IfMatch: p.ETag})
	_, err := a.PutBlob(e.ctx, "shared", "doc", strings.NewReader("late"), storage.PutBlobOptions{IfMatch: p.ETag})
	wantErr(t, err, storage.ErrConditionNotMet, "a's PutBlob with the ETag b replaced")
	changes, err := a.BlobChanges(e.ctx, "shared", 0, 10)
	must(t, err, "BlobChanges on a")
	if len(changes) != 1 || changes[0].ETag != p2.ETag || changes[0].Seq != p2.Seq {
		t.Errorf("a's feed = %+v, want b's write", changes)
	}
	q := put(e, a, "shared", "next", "x", storage.PutBlobOptions{})
	if q.Seq <= p2.Seq {
		t.Errorf("a's Seq %d after b's %d: Seqs are shared and grow", q.Seq, p2.Seq)
	}
	must(t, a.DeleteBlob(e.ctx, "shared", "doc", p2.ETag), "DeleteBlob on a")
	_, err = b.StatBlob(e.ctx, "shared", "doc")
	wantErr(t, err, storage.ErrNotFound, "StatBlob on b after a's delete")
}

func sharedLeases(e *env, a, b storage.Store) {
	t := e.t
	l, err := a.AcquireLease(e.ctx, "singleton", "host-a", 3*time.Second)
	must(t, err, "AcquireLease on a")
	_, err = b.AcquireLease(e.ctx, "singleton", "host-b", time.Minute)
	wantErr(t, err, storage.ErrLeaseHeld, "AcquireLease on b while a holds it")
	must(t, a.SetScheduleStatus(e.ctx, "timer", storage.ScheduleStatus{Last: Epoch}, l), "fenced SetScheduleStatus on a")
	e.advance(3 * time.Second)
	taken, err := b.AcquireLease(e.ctx, "singleton", "host-b", time.Minute)
	must(t, err, "AcquireLease on b after expiry")
	if taken.Token <= l.Token {
		t.Errorf("b's token %d, want above a's %d", taken.Token, l.Token)
	}
	_, err = a.RenewLease(e.ctx, l, time.Minute)
	wantErr(t, err, storage.ErrLeaseLost, "RenewLease on a after b took over")
	wantErr(t, a.SetScheduleStatus(e.ctx, "timer", storage.ScheduleStatus{Last: Epoch.Add(time.Hour)}, l),
		storage.ErrLeaseLost, "a's SetScheduleStatus with its stale fence")
	st := storage.ScheduleStatus{Last: Epoch.Add(time.Minute), Next: Epoch.Add(2 * time.Minute)}
	must(t, b.SetScheduleStatus(e.ctx, "timer", st, taken), "fenced SetScheduleStatus on b")
	checkStatus(e, a, "timer", st)
}

func sharedReceipts(e *env, a, b storage.Store) {
	t := e.t
	k := storage.ReceiptKey{Function: "fn", Container: "c", Name: "n", ETag: `"1"`}
	if c, _ := claim(e, a, k, "host-a", time.Minute); !c {
		t.Fatal("a's claim refused")
	}
	if c, _ := claim(e, b, k, "host-b", time.Minute); c {
		t.Error("b claimed a receipt a holds")
	}
	must(t, a.CompleteReceipt(e.ctx, k, "host-a"), "CompleteReceipt on a")
	if c, done := claim(e, b, k, "host-b", time.Minute); c || !done {
		t.Errorf("b's claim after a completed = %v, %v; want completed", c, done)
	}
}

func sharedCheckpoints(e *env, a, b storage.Store) {
	must(e.t, a.SetCheckpoint(e.ctx, "pos", "17"), "SetCheckpoint on a")
	v, err := b.Checkpoint(e.ctx, "pos")
	must(e.t, err, "Checkpoint on b")
	if v != "17" {
		e.t.Errorf("b reads checkpoint %q, want 17", v)
	}
}
