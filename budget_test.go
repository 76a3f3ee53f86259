package funcd

import (
	"sync"
	"testing"
)

func TestBufferBudget(t *testing.T) {
	b := NewBufferBudget(100)
	if !b.Reserve(60) || !b.Reserve(40) {
		t.Fatal("reservations within the limit refused")
	}
	if b.Reserve(1) {
		t.Error("a reservation over the limit was granted")
	}
	b.Release(40)
	if b.InUse() != 60 || !b.Reserve(40) {
		t.Errorf("after a release: in use %d", b.InUse())
	}
	b.Release(100)
	var nilBudget *BufferBudget
	if !nilBudget.Reserve(1 << 40) {
		t.Error("a nil budget refused")
	}
	nilBudget.Release(1 << 40)

	// Concurrent reservations never exceed the limit.
	b = NewBufferBudget(1000)
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range 50 {
		wg.Go(func() {
			if b.Reserve(100) {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 10 || b.InUse() != 1000 {
		t.Errorf("%d of 50 reservations of 100 granted (in use %d), want 10", granted, b.InUse())
	}
}
