package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// A write by another process (here another Store on the same folder) wakes
// this Store's watches within a poll or two, so a host sees a message that
// funcd queue put stored beside it at once rather than on its next poll.
func TestWatchSeesOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	host, cli := open(t, dir, clock.Real{}), open(t, dir, clock.Real{})
	ctx := context.Background()
	queue, stopQ := host.WatchQueue("orders")
	defer stopQ()
	blobs, stopB := host.WatchBlobs("samples")
	defer stopB()
	// Let the watcher take its first reading before the writes.
	time.Sleep(3 * othersPoll)

	within := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * othersPoll):
			t.Fatalf("no signal after %s through another store", what)
		}
	}
	start := time.Now()
	if _, err := cli.Enqueue(ctx, "orders", []byte("42"), 0, 0); err != nil {
		t.Fatal(err)
	}
	within("an enqueue", queue)
	t.Logf("enqueue seen after %v", time.Since(start))
	if _, err := cli.PutBlob(ctx, "samples", "a.txt", strings.NewReader("x"), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	within("a blob put", blobs)

	// The host's own writes do not count as another process's.
	drain := func(ch <-chan struct{}) {
		select {
		case <-ch:
		default:
		}
	}
	time.Sleep(3 * othersPoll) // a put may commit more than once
	drain(queue)
	drain(blobs)
	if _, err := host.PutBlob(ctx, "other", "b.txt", strings.NewReader("y"), storage.PutBlobOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-queue:
		t.Error("a write through the watching store woke a watch of another queue")
	case <-time.After(3 * othersPoll):
	}
}
