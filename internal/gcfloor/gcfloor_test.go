package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestFloorPercent(t *testing.T) {
	const floor = 32 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, maxGCPercent},
		{1, maxGCPercent},
		{2 << 20, 1500},  // 2 MiB live: the next goal is 32 MiB
		{8 << 20, 300},   // 8 MiB: 32
		{15 << 20, 113},  // just under half the floor
		{16 << 20, 100},  // half the floor: Go's default already reaches it
		{200 << 20, 100}, // far above: Go's default
	} {
		if got := floorPercent(c.live, floor); got != c.want {
			t.Errorf("floorPercent(%d, %d) = %d, want %d", c.live, floor, got, c.want)
		}
	}
}

// gcPercent reads GOGC as the runtime has it.
func gcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// waitPercent collects garbage until the heap floor has set GOGC as ok
// wants, or fails after a few seconds.
func waitPercent(t *testing.T, what string, ok func(int64) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok(gcPercent()) {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d, want %s", gcPercent(), what)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// TestRaise: the floor raises GOGC while the live heap is small,
// goes back to 100 when the live heap passes half of it, raises it again
// when that memory is dead, and leaves an explicit GOGC alone.
func TestRaise(t *testing.T) {
	old := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(old) })

	t.Setenv("GOGC", "")
	const floor = 256 << 20
	stop := Raise(floor)
	waitPercent(t, "raised well above 100 for a small live heap", func(p int64) bool { return p > 300 })

	live := make([]byte, floor)
	for i := range live {
		live[i] = 1
	}
	waitPercent(t, "100 with a live heap above half the floor", func(p int64) bool { return p == 100 })
	runtime.KeepAlive(live)

	live = nil
	waitPercent(t, "raised again once that memory is dead", func(p int64) bool { return p > 300 })

	stop()
	if p := gcPercent(); p != 100 {
		t.Errorf("GOGC = %d after stop, want 100", p)
	}
	runtime.GC()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if p := gcPercent(); p != 100 {
		t.Errorf("GOGC = %d two collections after stop, want 100", p)
	}

	t.Setenv("GOGC", "100")
	debug.SetGCPercent(150)
	Raise(floor)()
	runtime.GC()
	if p := gcPercent(); p != 150 {
		t.Errorf("GOGC = %d with GOGC set in the environment, want it left at 150", p)
	}
}
