package host

import (
	"context"
	"sync"
)

// drainGroup counts work in flight and lets its owner stop new work and wait
// for the rest. Unlike sync.WaitGroup, acquiring after close is a normal
// outcome (it fails) rather than misuse.
type drainGroup struct {
	mu     sync.Mutex
	n      int
	closed bool
	idle   chan struct{} // closed when closed && n == 0
}

func newDrainGroup() *drainGroup { return &drainGroup{idle: make(chan struct{})} }

// acquire registers one unit of work. It returns false once close was called.
func (g *drainGroup) acquire() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.n++
	return true
}

// release ends one unit of work registered by acquire.
func (g *drainGroup) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.closed && g.n == 0 {
		close(g.idle)
	}
}

// inFlight returns the number of units of work running.
func (g *drainGroup) inFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// close stops new work and waits until the work in flight has ended or ctx
// is done. It may be called more than once.
func (g *drainGroup) close(ctx context.Context) error {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		if g.n == 0 {
			close(g.idle)
		}
	}
	g.mu.Unlock()
	select {
	case <-g.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
