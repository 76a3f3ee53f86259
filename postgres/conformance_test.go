package postgres

import (
	"testing"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
	"github.com/funcd/funcd/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clk clock.Clock) storage.Store {
		return openIn(t, newSchema(t), clk)
	})
}

func TestConformanceTwoInstances(t *testing.T) {
	storagetest.RunTwoInstances(t, func(t *testing.T, clk clock.Clock) (storage.Store, storage.Store) {
		schema := newSchema(t)
		return openIn(t, schema, clk), openIn(t, schema, clk)
	})
}
