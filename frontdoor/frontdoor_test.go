package frontdoor

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve runs a Server for cfg on a loopback port until the test ends and
// returns its base URL.
func serve(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return s, s.Scheme() + "://" + ln.Addr().String()
}

// testTLS returns a server configuration with a new certificate for
// 127.0.0.1 and a client configuration that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	cert, err := SelfSigned([]string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: roots}
}

// clientFor returns a client for the server that speaks only the given
// protocol: "HTTP/1.1" or "HTTP/2.0".
func clientFor(tlsConfig *tls.Config, proto string) *http.Client {
	var p http.Protocols
	switch proto {
	case "HTTP/2.0":
		if tlsConfig == nil {
			p.SetUnencryptedHTTP2(true)
		} else {
			p.SetHTTP2(true)
		}
	default:
		p.SetHTTP1(true)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, Protocols: &p}, Timeout: time.Minute}
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello over %s", r.Proto)
})

func TestDefaultsAreKestrels(t *testing.T) {
	s := New(Config{Handler: hello})
	hs := s.HTTP()
	if hs.ReadHeaderTimeout != 30*time.Second || hs.IdleTimeout != 130*time.Second || hs.MaxHeaderBytes != 32<<10 {
		t.Errorf("ReadHeaderTimeout %v, IdleTimeout %v, MaxHeaderBytes %d; want Kestrel's 30s, 130s, 32768",
			hs.ReadHeaderTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
	if got := s.Limits().MinResponseRate; got != (DataRate{BytesPerSecond: 240, Grace: 5 * time.Second}) {
		t.Errorf("MinResponseRate = %+v, want Kestrel's 240 bytes/s after 5s", got)
	}
	if hs.ReadTimeout != 0 || hs.WriteTimeout != 0 {
		t.Errorf("ReadTimeout %v, WriteTimeout %v: a whole-request limit would cut long invocations", hs.ReadTimeout, hs.WriteTimeout)
	}
	if s.Scheme() != "http" || hs.TLSConfig != nil {
		t.Errorf("plain server: scheme %s, TLS %v", s.Scheme(), hs.TLSConfig)
	}
}

func TestProtocols(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	cases := []struct {
		name   string
		cfg    Config
		client *tls.Config
		proto  string
	}{
		{"http/1.1", Config{Handler: hello}, nil, "HTTP/1.1"},
		{"h2c", Config{Handler: hello, H2C: true}, nil, "HTTP/2.0"},
		{"tls http/1.1", Config{Handler: hello, TLS: serverTLS}, clientTLS, "HTTP/1.1"},
		{"tls h2", Config{Handler: hello, TLS: serverTLS}, clientTLS, "HTTP/2.0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, url := serve(t, c.cfg)
			res, err := clientFor(c.client, c.proto).Get(url + "/")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.Proto != c.proto || string(body) != "hello over "+c.proto {
				t.Errorf("proto %s, body %q; want %s", res.Proto, body, c.proto)
			}
			if (res.TLS != nil) != (c.client != nil) {
				t.Errorf("TLS state %v, want TLS %t", res.TLS, c.client != nil)
			}
		})
	}
	t.Run("no h2c unless asked", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello})
		if res, err := clientFor(nil, "HTTP/2.0").Get(url + "/"); err == nil {
			res.Body.Close()
			t.Errorf("h2c request answered with %s", res.Proto)
		}
	})
}

// waitClosed reads from c until the server closes it; it fails the test if
// that takes a minute (the server never closed it).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		t.Fatal("the server did not close the connection")
	}
}

// A connection that sends nothing is closed after ReadHeaderTimeout,
// counted from accept (and for TLS, also before and after the handshake),
// even though the idle timeout is far longer.
func TestSilentConnectionIsClosed(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	lim := Limits{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: time.Hour}
	dial := func(t *testing.T, url string) net.Conn {
		c, err := net.Dial("tcp", url[strings.Index(url, "//")+2:])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	t.Run("plain", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello, Limits: lim})
		waitClosed(t, dial(t, url))
	})
	t.Run("h2c", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello, Limits: lim, H2C: true})
		waitClosed(t, dial(t, url))
	})
	t.Run("no tls handshake", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello, Limits: lim, TLS: serverTLS})
		waitClosed(t, dial(t, url))
	})
	t.Run("after the tls handshake", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello, Limits: lim, TLS: serverTLS})
		cfg := clientTLS.Clone()
		cfg.NextProtos = []string{"http/1.1"}
		cfg.ServerName = "127.0.0.1"
		c := tls.Client(dial(t, url), cfg)
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c)
	})
	t.Run("a prompt request is served", func(t *testing.T) {
		_, url := serve(t, Config{Handler: hello, Limits: lim})
		c := dial(t, url)
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("response %v, %v", res, err)
		}
	})
}

func TestHeaderLimitHTTP1(t *testing.T) {
	_, url := serve(t, Config{Handler: hello})
	for _, c := range []struct {
		size int
		want int
	}{{30 << 10, 200}, {40 << 10, 431}} {
		req, _ := http.NewRequest("GET", url+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("b", c.size))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("%d bytes of headers: %d, want %d", c.size, res.StatusCode, c.want)
		}
	}
}

// HTTP/2 has the same header limit (counted as HPACK does: 32 bytes more
// per field): 431 when the headers add up to more than it. A header block
// that overshoots by more than net/http is willing to parse (a field longer
// than the whole limit, CONTINUATION frames past it) ends the connection
// instead. Go's client refuses to send headers over the limit the server
// announces, so the request is written frame by frame.
func TestHeaderLimitHTTP2(t *testing.T) {
	_, url := serve(t, Config{Handler: hello, H2C: true})
	for _, c := range []struct {
		fields, size int
		want         string
	}{{1, 30 << 10, "hello over HTTP/2.0"}, {1000, 1, "431"}, {1, 40 << 10, "goaway"}, {4, 10 << 10, "goaway"}} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(time.Minute))
		block := hpackLiteral(nil, ":method", "GET")
		block = hpackLiteral(block, ":scheme", "http")
		block = hpackLiteral(block, ":path", "/")
		block = hpackLiteral(block, ":authority", "x")
		for i := range c.fields {
			block = hpackLiteral(block, fmt.Sprintf("x-big-%d", i), strings.Repeat("b", c.size))
		}
		out := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
		out = h2Frame(out, 4, 0, 0, nil) // SETTINGS
		const maxFrame = 16 << 10
		for first := true; len(block) > 0; first = false {
			n := min(len(block), maxFrame)
			typ, flags := byte(9), byte(0) // CONTINUATION
			if first {
				typ, flags = 1, 0x1 // HEADERS, END_STREAM
			}
			if n == len(block) {
				flags |= 0x4 // END_HEADERS
			}
			out = h2Frame(out, typ, flags, 1, block[:n])
			block = block[n:]
		}
		if _, err := conn.Write(out); err != nil {
			t.Fatal(err)
		}
		if got := readH2Body(t, conn); !strings.Contains(got, c.want) {
			t.Errorf("%d header fields of %d bytes: got %q, want it to contain %q", c.fields, c.size, got, c.want)
		}
	}
}

// h2Frame appends an HTTP/2 frame to b.
func h2Frame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream)
	return append(b, payload...)
}

// hpackLiteral appends a header field, literal without indexing and without
// Huffman coding, to an HPACK block.
func hpackLiteral(b []byte, name, value string) []byte {
	b = append(b, 0)
	for _, s := range []string{name, value} {
		b = hpackInt(b, len(s))
		b = append(b, s...)
	}
	return b
}

// hpackInt appends an HPACK integer with a 7-bit prefix.
func hpackInt(b []byte, v int) []byte {
	if v < 127 {
		return append(b, byte(v))
	}
	b = append(b, 127)
	for v -= 127; v >= 128; v /= 128 {
		b = append(b, byte(v%128+128))
	}
	return append(b, byte(v))
}

// readH2Body reads frames until stream 1 ends and returns its DATA, or
// "goaway" if the server ends the connection first.
func readH2Body(t *testing.T, c net.Conn) string {
	t.Helper()
	br := bufio.NewReader(c)
	var body []byte
	for {
		var h [9]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			t.Fatalf("reading frames: %v (body so far %q)", err, body)
		}
		n := int(h[0])<<16 | int(h[1])<<8 | int(h[2])
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		typ, flags, stream := h[3], h[4], binary.BigEndian.Uint32(h[5:])&0x7fffffff
		switch {
		case typ == 0 && stream == 1: // DATA
			body = append(body, payload...)
			if flags&0x1 != 0 {
				return string(body)
			}
		case typ == 1 && stream == 1 && flags&0x1 != 0: // HEADERS, END_STREAM
			return string(body)
		case typ == 7: // GOAWAY
			return "goaway"
		case typ == 3: // RST_STREAM
			t.Fatalf("the server reset the stream: %q", payload)
		}
	}
}

// A client that goes away cancels its request's context, over HTTP/1.1 and
// HTTP/2.
func TestDisconnectCancelsRequest(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run(proto, func(t *testing.T) {
			started, cancelled := make(chan struct{}), make(chan struct{})
			_, url := serve(t, Config{TLS: serverTLS, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-r.Context().Done():
					close(cancelled)
				case <-time.After(time.Minute):
				}
			})})
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", url+"/", nil)
			errc := make(chan error, 1)
			go func() {
				res, err := clientFor(clientTLS, proto).Do(req)
				if err == nil {
					res.Body.Close()
				}
				errc <- err
			}()
			<-started
			cancel()
			select {
			case <-cancelled:
			case <-time.After(30 * time.Second):
				t.Fatal("the request's context was not cancelled")
			}
			<-errc
		})
	}
}

// testRate is the minimum response rate of the rate tests: a client that
// stops reading is dropped about 2.25 s after its buffers fill; one that
// reads at 1.5 MiB/s is six times faster than needed.
var testRate = DataRate{BytesPerSecond: 256 << 10, Grace: 2 * time.Second}

// bigWriter writes size bytes in one Write and reports the Write's error.
func bigWriter(size int, result chan<- error) http.Handler {
	body := make([]byte, size)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, err := w.Write(body)
		result <- err
	})
}

func waitWrite(t *testing.T, result <-chan error) error {
	t.Helper()
	select {
	case err := <-result:
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("the handler's write neither finished nor failed")
		return nil
	}
}

// A client that never reads a large response is dropped: the handler's
// write fails instead of holding the response for good.
func TestNeverReaderIsDropped(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	const size = 64 << 20
	t.Run("HTTP/1.1", func(t *testing.T) {
		result := make(chan error, 1)
		_, url := serve(t, Config{Handler: bigWriter(size, result), Limits: Limits{MinResponseRate: testRate}})
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.(*net.TCPConn).SetReadBuffer(4 << 10)
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if err := waitWrite(t, result); err == nil {
			t.Error("the write to a client that never reads succeeded")
		}
	})
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		t.Run("TLS "+proto, func(t *testing.T) {
			result := make(chan error, 1)
			_, url := serve(t, Config{Handler: bigWriter(size, result), TLS: serverTLS, Limits: Limits{MinResponseRate: testRate}})
			res, err := clientFor(clientTLS, proto).Get(url + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.Proto != proto {
				t.Fatalf("proto %s", res.Proto)
			}
			if err := waitWrite(t, result); err == nil {
				t.Error("the write to a client that never reads succeeded")
			}
		})
	}
}

// pacedReader reads at most rate bytes per second.
type pacedReader struct {
	r     io.Reader
	rate  float64
	start time.Time
	n     int
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if p.start.IsZero() {
		p.start = time.Now()
	}
	if ahead := time.Duration(float64(p.n)/p.rate*float64(time.Second)) - time.Since(p.start); ahead > 0 {
		time.Sleep(ahead) // pacing, not synchronization
	}
	n, err := p.r.Read(b[:min(len(b), 16<<10)])
	p.n += n
	return n, err
}

// A client that reads slowly but above the minimum rate gets the whole
// response.
func TestSteadyReaderIsServed(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	const size = 6 << 20
	const readRate = 6 * (256 << 10)
	for _, c := range []struct {
		name  string
		tls   bool
		proto string
	}{{"HTTP/1.1", false, "HTTP/1.1"}, {"TLS HTTP/1.1", true, "HTTP/1.1"}, {"TLS HTTP/2.0", true, "HTTP/2.0"}} {
		t.Run(c.name, func(t *testing.T) {
			result := make(chan error, 1)
			cfg := Config{Handler: bigWriter(size, result), Limits: Limits{MinResponseRate: testRate}}
			var client *tls.Config
			if c.tls {
				cfg.TLS, client = serverTLS, clientTLS
			}
			_, url := serve(t, cfg)
			res, err := clientFor(client, c.proto).Get(url + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			n, err := io.Copy(io.Discard, &pacedReader{r: res.Body, rate: readRate})
			if err != nil || n != size {
				t.Errorf("read %d of %d bytes: %v", n, size, err)
			}
			if err := waitWrite(t, result); err != nil {
				t.Errorf("the handler's write failed: %v", err)
			}
		})
	}
}
