package main

import (
	"io"
	"sync"
)

// logWriter batches log output: Write appends to a buffer and a background
// goroutine writes the buffer out. Under load many records go out in one
// write system call instead of one each, which takes the log off the
// request path; when idle, a record is written as soon as the goroutine
// runs. Close writes what is left.
type logWriter struct {
	out  io.Writer
	wake chan struct{} // capacity 1: a pending wake-up
	done chan struct{} // closed when run has returned

	mu     sync.Mutex // guards buf and closed; taken before writeMu
	buf    []byte
	closed bool

	writeMu sync.Mutex // serializes writes to out, so records keep their order
}

// maxLogBuffer bounds the bytes waiting to be written; a writer that gets
// ahead of it writes itself, so a slow stderr slows logging rather than
// growing memory.
const maxLogBuffer = 1 << 20

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed || len(w.buf)+len(p) > maxLogBuffer {
		defer w.mu.Unlock()
		w.flushLocked()
		w.writeMu.Lock()
		defer w.writeMu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is already pending
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *logWriter) run() {
	defer close(w.done)
	var spare []byte
	for range w.wake {
		w.mu.Lock()
		out := w.buf
		w.buf = spare[:0]
		w.writeMu.Lock() // before mu is released: no later record overtakes these
		w.mu.Unlock()
		if len(out) > 0 {
			_, _ = w.out.Write(out)
		}
		w.writeMu.Unlock()
		spare = out
	}
}

// flushLocked writes the buffer synchronously; w.mu is held.
func (w *logWriter) flushLocked() {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if len(w.buf) > 0 {
		_, _ = w.out.Write(w.buf)
		w.buf = w.buf[:0]
	}
}

// Close writes everything buffered and stops the goroutine. Writes after
// Close go straight to the underlying writer.
func (w *logWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.wake) // under mu: Write sends only while it holds mu and closed is false
	w.mu.Unlock()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
	return nil
}
