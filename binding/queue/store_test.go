package queue

import (
	"testing"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/sqlite"
	"github.com/funcd/funcd/storage"
)

// newTestQueues returns the queues the tests run against: the embedded
// SQLite store in a fresh directory.
func newTestQueues(t *testing.T, clk clock.Clock) storage.Queues {
	t.Helper()
	st, err := sqlite.Open(t.TempDir(), sqlite.Options{Clock: clk})
	if err != nil {
		t.Fatalf("open the SQLite store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}
