package sqlite

import (
	"testing"

	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
	"github.com/funcd/funcd/storage/storagetest"
)

func open(t *testing.T, dir string, clk clock.Clock) *Store {
	t.Helper()
	s, err := Open(dir, Options{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, clk clock.Clock) storage.Store {
		return open(t, t.TempDir(), clk)
	})
}

func TestConformanceTwoStoresOnOneFolder(t *testing.T) {
	storagetest.RunTwoInstances(t, func(t *testing.T, clk clock.Clock) (storage.Store, storage.Store) {
		dir := t.TempDir()
		return open(t, dir, clk), open(t, dir, clk)
	})
}
