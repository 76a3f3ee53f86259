package host

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd/clock/clocktest"
	"github.com/funcd/funcd/sqlite"
)

// lockedLog collects a logger's text records.
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// TestPrimaryHostLock: of two processes sharing a store, the first takes
// the primary host lease and keeps it renewed; the second takes it only
// once the first has released it, each logging as the real host does.
func TestPrimaryHostLock(t *testing.T) {
	ctx := t.Context()
	clk := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	store, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	var logA, logB lockedLog
	const acquiredA = "Host lock lease acquired by instance ID 'A'."
	const acquiredB = "Host lock lease acquired by instance ID 'B'."

	a := startPrimaryLock(store, "app", "owner-a", "A", clk, logA.logger())
	if err := clk.BlockUntil(ctx, 1); err != nil { // a waits to renew
		t.Fatal(err)
	}
	if !strings.Contains(logA.String(), acquiredA) {
		t.Fatalf("the first process did not log the lease:\n%s", logA.String())
	}
	b := startPrimaryLock(store, "app", "owner-b", "B", clk, logB.logger())
	t.Cleanup(b.Stop)
	// Each step fires at most one of the two timers; both are armed again
	// before the next step.
	step := func(timers int) {
		t.Helper()
		clk.Advance(time.Second)
		if err := clk.BlockUntil(ctx, timers); err != nil {
			t.Fatal(err)
		}
	}
	if err := clk.BlockUntil(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for range 40 { // past two lease periods: a renews, b waits
		step(2)
	}
	if strings.Contains(logB.String(), "acquired") || strings.Contains(logA.String(), "Failed to renew") {
		t.Fatalf("the lease changed hands while its holder renewed it:\nA:\n%s\nB:\n%s", logA.String(), logB.String())
	}

	a.Stop()
	if !strings.Contains(logA.String(), "Host instance 'A' released lock lease.") {
		t.Errorf("the first process did not log the release:\n%s", logA.String())
	}
	for i := 0; !strings.Contains(logB.String(), acquiredB); i++ {
		if i == int(primaryRetryInterval/time.Second) {
			t.Fatalf("the second process did not take the released lease within %v:\n%s", primaryRetryInterval, logB.String())
		}
		step(1)
	}
	if l, err := store.AcquireLease(context.Background(), primaryLockName("app"), "owner-c", time.Minute); err == nil {
		t.Errorf("a third owner took the lease the second holds: %+v", l)
	}
}

func TestInstanceID(t *testing.T) {
	if got := instanceID(map[string]string{"WEBSITE_INSTANCE_ID": "abc"}); got != "abc" {
		t.Errorf("instanceID with WEBSITE_INSTANCE_ID = %q", got)
	}
	got := instanceID(nil)
	if len(got) != 32 || strings.Trim(got, "0123456789ABCDEF") != "" || got != instanceID(nil) {
		t.Errorf("instanceID = %q, want 32 stable upper-case hex digits", got)
	}
}
