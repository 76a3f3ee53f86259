// Package gcfloor keeps a server process's garbage collector from running
// hundreds of times a second while its live heap is small.
//
// A host's or a worker's live heap is small (a few MiB: routes, settings,
// connections) while each request allocates and drops buffers, so with Go's
// default (collect when the heap doubles, 4 MiB at least) a busy process
// collects hundreds of times a second and marks the same few MiB each time:
// an MCP tools/call, whose SDK decodes each JSON value with a fresh 32 KiB
// buffer, triggered a collection of funcd every three calls. Holding the
// goal at a floor while the live heap is under half of it makes collections
// that rare without letting a large live heap grow beyond twice its size. A
// soft memory limit (debug.SetMemoryLimit), where the process sets one,
// still bounds the whole process.
package gcfloor

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Default is the heap size below which funcd start and a Go SDK worker do
// not collect garbage, unless GOGC is set.
const Default = 32 << 20

// maxGCPercent bounds the percentage the floor sets, for a live heap near
// zero.
const maxGCPercent = 10000

// gcFloor keeps the garbage collector's heap goal at floor or more: after
// each collection it sets GOGC to what makes the next goal floor when the
// live heap is under half of it, and back to 100 above that.
type gcFloor struct {
	floor  uint64
	sample []metrics.Sample

	mu      sync.Mutex
	percent int
	stopped bool
}

// Raise keeps the heap goal at floor or more for the rest of the process,
// unless GOGC is set: an explicit GOGC (GOGC=100 for Go's default) is the
// user's choice and is left alone. The returned function stops it and puts
// GOGC back to 100.
func Raise(floor uint64) (stop func()) {
	if floor == 0 || os.Getenv("GOGC") != "" {
		return func() {}
	}
	f := &gcFloor{floor: floor, percent: 100,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	f.adjust()
	f.arm()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.stopped {
			f.stopped = true
			debug.SetGCPercent(100)
		}
	}
}

// gcMark is an object allocated only to be collected: its cleanup runs once
// per collection cycle that found it dead. It is larger than the tiny
// allocator's blocks, which would keep it alive with their neighbours.
type gcMark struct{ _ [32]byte }

func (f *gcFloor) arm() {
	runtime.AddCleanup(new(gcMark), func(f *gcFloor) {
		if f.adjust() {
			f.arm()
		}
	}, f)
}

// adjust sets GOGC from the live heap the last collection measured; it
// reports false once the floor is stopped.
func (f *gcFloor) adjust() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	metrics.Read(f.sample)
	var live uint64
	if f.sample[0].Value.Kind() == metrics.KindUint64 {
		live = f.sample[0].Value.Uint64()
	}
	percent := floorPercent(live, f.floor)
	// Small changes are not worth a call into the runtime.
	if d := percent - f.percent; d > f.percent/10 || -d > f.percent/10 {
		debug.SetGCPercent(percent)
		f.percent = percent
	}
	return true
}

// floorPercent is the GOGC that makes the heap goal after a collection that
// found live bytes floor, or 100 when that is less.
func floorPercent(live, floor uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	if live >= floor/2 {
		return 100
	}
	return int(min(floor*100/live-100, maxGCPercent))
}
