package main

import (
	"io"
	"sync"
	"time"
)

// logFlushInterval is how long a log record may wait in the buffer.
const logFlushInterval = 5 * time.Millisecond

// logWriter batches log output: Write appends to a buffer, and a timer
// writes the buffer out logFlushInterval after the first record it holds.
// Under load many records go out in one write system call instead of one
// each, and no thread is woken per record (on a small machine a wake-up
// costs more than the write), which takes the log off the request path.
// Close writes what is left.
type logWriter struct {
	out   io.Writer
	timer *time.Timer

	mu      sync.Mutex // guards buf, pending and closed; taken before writeMu
	buf     []byte
	spare   []byte // a written-out buffer for the next flush to swap in
	pending bool   // the timer is armed
	closed  bool

	writeMu sync.Mutex // serializes writes to out, so records keep their order
}

// maxLogBuffer bounds the bytes waiting to be written; a writer that gets
// ahead of it writes itself, so a slow stderr slows logging rather than
// growing memory.
const maxLogBuffer = 1 << 20

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out}
	w.timer = time.AfterFunc(time.Hour, w.flush)
	w.timer.Stop()
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
	if !w.pending {
		w.pending = true
		w.timer.Reset(logFlushInterval)
	}
	w.mu.Unlock()
	return len(p), nil
}

// flush runs on the timer: it writes out what the buffer holds.
func (w *logWriter) flush() {
	w.mu.Lock()
	w.pending = false
	out := w.buf
	w.buf, w.spare = w.spare[:0], nil
	w.writeMu.Lock() // before mu is released: no later record overtakes these
	w.mu.Unlock()
	if len(out) > 0 {
		_, _ = w.out.Write(out)
	}
	w.writeMu.Unlock()
	w.mu.Lock()
	if w.spare == nil && cap(out) <= maxLogBuffer {
		w.spare = out[:0] // written out: the next flush can reuse it
	}
	w.mu.Unlock()
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

// Close writes everything buffered. Writes after Close go straight to the
// underlying writer.
func (w *logWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.timer.Stop()
	w.pending = false
	w.flushLocked()
	return nil
}
