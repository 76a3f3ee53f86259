package queue

import (
	"testing"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// newTestQueues returns the queues the tests run against.
func newTestQueues(t *testing.T, clk clock.Clock) storage.Queues {
	return newMemQueues(clk)
}
