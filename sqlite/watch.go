package sqlite

import (
	"sync"
	"time"
)

// watchers hand out watch channels by key (a queue or container name) and
// signal them after writes. The zero value is ready to use.
type watchers struct {
	mu sync.Mutex
	m  map[string]map[chan struct{}]struct{} // guarded by mu
}

// watch returns a channel signalled after notify(key), and the function
// that ends the watch.
func (w *watchers) watch(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[string]map[chan struct{}]struct{}{}
	}
	if w.m[key] == nil {
		w.m[key] = map[chan struct{}]struct{}{}
	}
	w.m[key][ch] = struct{}{}
	w.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			w.mu.Lock()
			defer w.mu.Unlock()
			delete(w.m[key], ch)
			if len(w.m[key]) == 0 {
				delete(w.m, key)
			}
		})
	}
}

// notify signals every watch of key without blocking: a watch already
// signalled keeps its one pending value.
func (w *watchers) notify(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.m[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// notifyAll signals every watch, of whatever key.
func (w *watchers) notifyAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, chans := range w.m {
		for ch := range chans {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// watched reports whether any watch is open.
func (w *watchers) watched() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.m) > 0
}

// othersPoll is how often a Store that is being watched looks for writes
// made by other processes (funcd queue put beside a running host, say).
const othersPoll = 200 * time.Millisecond

// watchOthers signals every watch when another process has committed to
// the database since the last look, until stop is closed. It reads PRAGMA
// data_version on the writing connection: the value changes only when a
// connection other than that one commits, and every write of this Store
// goes through it, so a change is another process's write. Which queue or
// container changed is not known; a watcher that wakes for nothing polls
// once.
func (s *Store) watchOthers(stop <-chan struct{}) {
	t := time.NewTicker(othersPoll)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if !s.queueW.watched() && !s.blobW.watched() && !s.durableW.watched() {
			last = -1
			continue
		}
		var v int64
		if err := s.w.QueryRow("PRAGMA data_version").Scan(&v); err != nil {
			continue // closing, or busy: the next tick tries again
		}
		if last >= 0 && v != last {
			s.queueW.notifyAll()
			s.blobW.notifyAll()
			s.durableW.notifyAll()
		}
		last = v
	}
}
