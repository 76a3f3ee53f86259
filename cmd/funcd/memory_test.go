package main

import (
	"runtime/debug"
	"testing"
)

// TestLimitMemory: funcd start sets the runtime's soft memory limit just
// above the buffer budget, unless GOMEMLIMIT sets one.
func TestLimitMemory(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })

	t.Setenv("GOMEMLIMIT", "")
	limitMemory(64 << 20)
	if got, want := debug.SetMemoryLimit(-1), int64(64<<20+memoryHeadroom); got != want {
		t.Errorf("memory limit = %d, want the budget plus the headroom, %d", got, want)
	}

	debug.SetMemoryLimit(old)
	t.Setenv("GOMEMLIMIT", "1GiB")
	limitMemory(64 << 20)
	if got := debug.SetMemoryLimit(-1); got != old {
		t.Errorf("memory limit = %d with GOMEMLIMIT set, want it left at %d", got, old)
	}
}
