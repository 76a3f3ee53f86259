package postgres

import (
	"testing"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
	"github.com/funcd/funcd/durable/durabletest"
)

func TestDurableConformance(t *testing.T) {
	durabletest.Run(t, func(t *testing.T, clk clock.Clock) durable.Backend {
		return openIn(t, newSchema(t), clk)
	})
}
