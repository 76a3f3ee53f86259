package frontdoor

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// DataRate is a minimum data rate with a grace period, as Kestrel's
// MinDataRate.
//
// For responses it follows Kestrel's rule (TimeoutControl's
// BytesWrittenToBuffer): a write of n bytes must be done by the later of
// now + max(Grace, n/BytesPerSecond) and the previous write's deadline +
// n/BytesPerSecond, and the deadline matters only while a write waits for
// the client. Time a client does not use carries over to later writes.
//
// funcd applies the rule to each piece of at most 32 KiB that reaches the
// connection (the TLS records, the HTTP/2 frames, the body of an HTTP/1.1
// response), and, for HTTP/2, to each piece a handler writes to its stream,
// which the client's flow control can stall while the connection is idle.
// Unlike Kestrel, it lets a client bank no more than 64 KiB worth of time
// ahead (a deadline at most Grace + 64 KiB/BytesPerSecond away): Kestrel
// counts what the application hands to its buffers, so a body written in
// one call earns its whole size at once (over a day for 24 MiB at 240
// bytes/s), and so would what the kernel takes into its socket buffers.
// With the cap, a client that stops reading is dropped about Grace + 64
// KiB/BytesPerSecond after its buffers fill (under 5 minutes at Kestrel's
// rate), while one that keeps reading at the minimum rate is not.
type DataRate struct {
	BytesPerSecond float64
	Grace          time.Duration
}

func (r DataRate) enabled() bool { return r.BytesPerSecond > 0 }

// timeFor is how long n bytes take at the rate.
func (r DataRate) timeFor(n int) time.Duration {
	return time.Duration(float64(n) / r.BytesPerSecond * float64(time.Second))
}

const (
	// pieceSize is the most that is written under one deadline: two TLS
	// records or HTTP/2 frames of the default size.
	pieceSize = 32 << 10
	// maxBanked bounds the time a fast client banks for later writes.
	maxBanked = 64 << 10
)

// pacer computes write deadlines by DataRate's rule.
type pacer struct {
	rate     DataRate
	deadline time.Time // of the latest write
}

// next returns the deadline of a write of n bytes that starts at now.
func (p *pacer) next(now time.Time, n int) time.Time {
	need := p.rate.timeFor(n)
	d := now.Add(max(p.rate.Grace, need))
	if carried := p.deadline.Add(need); carried.After(d) {
		d = carried
	}
	if limit := now.Add(p.rate.Grace + p.rate.timeFor(maxBanked)); d.After(limit) {
		d = limit
	}
	p.deadline = d
	return d
}

// rateListener holds every accepted connection to a minimum write rate.
type rateListener struct {
	net.Listener
	rate DataRate
}

func (l *rateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &rateConn{Conn: c, pace: pacer{rate: l.rate}}, nil
}

// rateConn sets the write deadline of its connection before each piece it
// writes. A deadline set from above (net/http's TLS handshake timeout, a
// handler's http.ResponseController) still holds when it is earlier.
type rateConn struct {
	net.Conn

	mu    sync.Mutex
	pace  pacer
	outer time.Time // the deadline set through SetWriteDeadline
}

func (c *rateConn) Write(b []byte) (int, error) {
	var n int
	for len(b) > 0 {
		k := min(len(b), pieceSize)
		if err := c.arm(k); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// arm sets the deadline for a write of n bytes starting now.
func (c *rateConn) arm(n int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Conn.SetWriteDeadline(earlier(c.outer, c.pace.next(time.Now(), n)))
}

func (c *rateConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.outer = t
	// Keep the deadline of a write that may be waiting; the next write
	// sets its own.
	return c.Conn.SetWriteDeadline(earlier(t, c.pace.deadline))
}

func (c *rateConn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// CloseWrite shuts down the writing side, as net/http does before it
// closes a connection after an error response.
func (c *rateConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// earlier returns the earlier of two deadlines, where zero means none.
func earlier(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// guardStreams holds each HTTP/2 response to the minimum rate: the client's
// flow control can stall a stream while its connection stays idle, which
// the connection's deadline does not see.
func guardStreams(h http.Handler, rate DataRate) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			h.ServeHTTP(w, r)
			return
		}
		sw := &streamWriter{ResponseWriter: w, rc: http.NewResponseController(w), pace: pacer{rate: rate}}
		h.ServeHTTP(sw, r)
		// What the stream still buffers goes out after the handler
		// returns: under a deadline too. net/http stops the timer when
		// the stream ends.
		sw.arm(streamBuffer)
	})
}

// streamWriter sets an HTTP/2 stream's write deadline while a handler's
// write or flush is under way (net/http resets a stream whose deadline
// passes), and clears it after, so that a handler may pause between writes
// as long as it likes.
type streamWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	pace pacer
}

// streamBuffer is what net/http's HTTP/2 response writer holds before it
// sends a frame.
const streamBuffer = 4 << 10

func (w *streamWriter) Write(b []byte) (int, error) {
	defer w.clear()
	var n int
	for len(b) > 0 {
		k := min(len(b), pieceSize)
		w.arm(k)
		m, err := w.ResponseWriter.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

// Flush keeps http.Flusher for handlers that assert it; it may wait for
// the client's flow control, so it is timed as a write.
func (w *streamWriter) Flush() {
	defer w.clear()
	w.arm(streamBuffer)
	_ = w.rc.Flush()
}

func (w *streamWriter) arm(n int) { _ = w.rc.SetWriteDeadline(w.pace.next(time.Now(), n)) }
func (w *streamWriter) clear()    { _ = w.rc.SetWriteDeadline(time.Time{}) }

// Unwrap lets http.ResponseController reach the stream's own writer.
func (w *streamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
