// Package loadgen is the HTTP load generator of funcd's benchmarks: a
// closed loop of keep-alive HTTP/1.1 connections, each sending the same GET
// and timing its response, with latencies recorded in an HDR-style
// histogram.
//
// It uses its own minimal HTTP/1.1 client (one fixed request, a small
// response parser, no allocation per request) rather than net/http's, so that
// the load generator takes as little as possible of the CPU it shares with
// the servers it measures.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Config describes one closed-loop run: Conns keep-alive connections each
// send GET Path, wait for the whole response, and send the next, until
// Duration has passed or Requests requests were sent.
type Config struct {
	Addr     string        // host:port of the server
	Path     string        // request path, such as /api/hello
	Conns    int           // concurrent connections, one request in flight on each
	Duration time.Duration // how long to send requests; 0: no limit
	Requests uint64        // how many requests to send in all; 0: no limit
	WantBody string        // every response must be 200 with this body; "" accepts any 200
	// TLS, when set, makes every connection an HTTP/1.1 connection over
	// TLS with this configuration (NextProtos is set to http/1.1).
	TLS *tls.Config
}

// Result is what a run measured.
type Result struct {
	Requests  uint64        // successful requests
	Errors    uint64        // failed requests: I/O errors, other statuses, wrong bodies
	FirstErr  error         // the first failure, for reports
	Elapsed   time.Duration // from the first request to the end of the last
	Latency   Histogram     // latencies of the successful requests
	ClientCPU time.Duration // CPU time (user and system) this process used during the run
}

// RPS returns the throughput in successful requests per second.
func (r *Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Run drives a server as cfg says. It returns an error only when the run
// could not start (a connection failed) or ctx was cancelled; failed
// requests are counted in the result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Conns < 1 {
		return nil, fmt.Errorf("loadgen: %d connections", cfg.Conns)
	}
	if cfg.Duration <= 0 && cfg.Requests == 0 {
		return nil, fmt.Errorf("loadgen: neither a duration nor a number of requests")
	}
	request := []byte("GET " + cfg.Path + " HTTP/1.1\r\nHost: " + cfg.Addr + "\r\nUser-Agent: funcd-loadgen\r\n\r\n")
	clients := make([]*client, cfg.Conns)
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.close()
			}
		}
	}()
	for i := range clients {
		c := &client{addr: cfg.Addr, request: request, wantBody: []byte(cfg.WantBody), tls: tlsConfig(cfg.TLS)}
		if err := c.dial(ctx); err != nil {
			return nil, err
		}
		clients[i] = c
	}

	// Unblock reads and writes when ctx is cancelled (Ctrl-C).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			for _, c := range clients {
				c.interrupt()
			}
		case <-stop:
		}
	}()

	var budget *atomic.Int64
	if cfg.Requests > 0 {
		budget = new(atomic.Int64)
		budget.Store(int64(cfg.Requests))
	}
	cpu0 := processCPU()
	start := time.Now()
	deadline := time.Time{}
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(ctx, deadline, budget) })
	}
	wg.Wait()
	res := &Result{Elapsed: time.Since(start), ClientCPU: processCPU() - cpu0}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, c := range clients {
		res.Requests += c.ok
		res.Errors += c.failed
		if res.FirstErr == nil {
			res.FirstErr = c.firstErr
		}
		res.Latency.Merge(&c.hist)
	}
	return res, nil
}

// client is one keep-alive connection.
type client struct {
	addr     string
	request  []byte
	wantBody []byte
	tls      *tls.Config // nil: plain TCP

	mu   sync.Mutex // guards conn against interrupt
	conn net.Conn
	br   *bufio.Reader
	body []byte // response body buffer, reused

	ok, failed uint64
	firstErr   error
	hist       Histogram
}

// ioTimeout bounds each read and write: a server that stops answering must
// not hang a benchmark.
const ioTimeout = 30 * time.Second

// dial (re)connects.
func (c *client) dial(ctx context.Context) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return err
	}
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return err
		}
		conn = tc
	}
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	if c.br == nil {
		c.br = bufio.NewReaderSize(conn, 16<<10)
	} else {
		c.br.Reset(conn)
	}
	return nil
}

// tlsConfig returns a copy of cfg that offers HTTP/1.1 only, or nil.
func tlsConfig(cfg *tls.Config) *tls.Config {
	if cfg == nil {
		return nil
	}
	c := cfg.Clone()
	c.NextProtos = []string{"http/1.1"}
	return c
}

// close closes the connection.
func (c *client) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.Close()
	}
}

// interrupt makes a blocked read or write return at once.
func (c *client) interrupt() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		_ = c.conn.SetDeadline(time.Unix(1, 0))
	}
}

// run sends requests one after the other until the deadline (if not zero)
// or until the budget (if not nil) is spent. A failed request is counted;
// a connection the server closes or breaks is replaced.
func (c *client) run(ctx context.Context, deadline time.Time, budget *atomic.Int64) {
	ioDeadline := time.Now().Add(ioTimeout)
	_ = c.conn.SetDeadline(ioDeadline)
	for {
		t0 := time.Now()
		if (!deadline.IsZero() && !t0.Before(deadline)) || ctx.Err() != nil {
			return
		}
		if budget != nil && budget.Add(-1) < 0 {
			return
		}
		if t0.Add(ioTimeout / 2).After(ioDeadline) { // refresh rarely: SetDeadline is not free
			ioDeadline = t0.Add(ioTimeout)
			_ = c.conn.SetDeadline(ioDeadline)
		}
		keepAlive, err := c.roundTrip()
		switch {
		case err == nil:
			c.hist.Record(time.Since(t0))
			c.ok++
		case ctx.Err() != nil:
			return
		default:
			c.failed++
			if c.firstErr == nil {
				c.firstErr = err
			}
		}
		if keepAlive {
			continue
		}
		c.close()
		if err := c.dial(ctx); err != nil {
			if ctx.Err() == nil {
				c.failed++
				if c.firstErr == nil {
					c.firstErr = err
				}
			}
			return
		}
		ioDeadline = time.Now().Add(ioTimeout)
		_ = c.conn.SetDeadline(ioDeadline)
	}
}

// roundTrip sends the request and reads the whole response. It reports
// whether the connection can be reused, and fails unless the status is 200
// and the body is the one wanted.
func (c *client) roundTrip() (keepAlive bool, err error) {
	if _, err := c.conn.Write(c.request); err != nil {
		return false, err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return false, err
	}
	status, err := parseStatusLine(line)
	if err != nil {
		return false, err
	}
	contentLength, chunked := -1, false
	keepAlive = true
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false, fmt.Errorf("malformed header line %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 {
				return false, fmt.Errorf("bad Content-Length %q", value)
			}
			contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case status == 204 || status == 304:
	case chunked:
		if c.body, err = readChunked(c.br, c.body); err != nil {
			return false, err
		}
	case contentLength >= 0:
		if cap(c.body) < contentLength {
			c.body = make([]byte, contentLength)
		}
		c.body = c.body[:contentLength]
		if _, err := io.ReadFull(c.br, c.body); err != nil {
			return false, err
		}
	default: // the body ends with the connection
		b, err := io.ReadAll(c.br)
		if err != nil {
			return false, err
		}
		c.body, keepAlive = b, false
	}
	if status != 200 {
		return keepAlive, fmt.Errorf("status %d, body %q", status, truncate(c.body, 200))
	}
	if len(c.wantBody) > 0 && !bytes.Equal(c.body, c.wantBody) {
		return keepAlive, fmt.Errorf("unexpected body %q", truncate(c.body, 200))
	}
	return keepAlive, nil
}

// parseStatusLine returns the status code of "HTTP/1.1 200 OK\r\n".
func parseStatusLine(line []byte) (int, error) {
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("malformed status line %q", line)
	}
	return code, nil
}

// readChunked appends a chunked body (trailers ignored) to buf.
func readChunked(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return buf, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 32)
		if err != nil || n < 0 {
			return buf, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				line, err := br.ReadSlice('\n')
				if err != nil {
					return buf, err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return buf, nil
				}
			}
		}
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		if _, err := io.ReadFull(br, buf[start:]); err != nil {
			return buf, err
		}
		if _, err := br.Discard(2); err != nil { // CRLF after the chunk
			return buf, err
		}
	}
}

// truncate shortens b for an error message.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// processCPU returns the CPU time (user and system) the current process has
// used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
