package sqlite

import "sync"

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
