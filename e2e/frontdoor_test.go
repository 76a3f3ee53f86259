package e2e

// The front door: HTTPS with HTTP/1.1 and HTTP/2 from every kind of
// certificate funcd start takes, h2c, and Kestrel's limits against
// hostile clients, through whole hosts.

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/funcd/funcd/frontdoor"
	"github.com/funcd/funcd/hosttest"
)

// writeCerts writes a certificate for 127.0.0.1 as a .pfx, as PEM
// certificate and key files, and as one PEM file holding both.
func writeCerts(t *testing.T) (pfx, certPEM, keyPEM, bothPEM string) {
	t.Helper()
	cert, err := frontdoor.SelfSigned([]string{"127.0.0.1"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	c := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw})
	k := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	p, err := pkcs12.Modern.Encode(cert.PrivateKey, cert.Leaf, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	pfx, certPEM, keyPEM, bothPEM = filepath.Join(dir, "c.pfx"), filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), filepath.Join(dir, "both.pem")
	for name, data := range map[string][]byte{pfx: p, certPEM: c, keyPEM: k, bothPEM: append(append([]byte{}, c...), k...)} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return pfx, certPEM, keyPEM, bothPEM
}

// getProto sends GET path over a client that speaks only proto and checks
// the answer came over it.
func getProto(t *testing.T, s *hosttest.Server, proto, path string) *http.Response {
	t.Helper()
	tr := s.Transport()
	var p http.Protocols
	switch {
	case proto == "HTTP/1.1":
		p.SetHTTP1(true)
	case s.TLS != nil:
		p.SetHTTP2(true)
	default:
		p.SetUnencryptedHTTP2(true)
	}
	tr.Protocols = &p
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Get(s.URL + path)
	if err != nil {
		t.Fatalf("%s %s: %v", proto, path, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Proto != proto {
		t.Errorf("answered over %s, want %s", res.Proto, proto)
	}
	return res
}

func TestHTTPS(t *testing.T) {
	pfx, certPEM, keyPEM, bothPEM := writeCerts(t)
	for _, c := range []struct {
		name  string
		files frontdoor.TLSFiles
	}{
		{"pfx", frontdoor.TLSFiles{Cert: pfx, Password: "pw"}},
		{"PEM files", frontdoor.TLSFiles{Cert: certPEM, Key: keyPEM}},
		{"one PEM file", frontdoor.TLSFiles{Cert: bothPEM}},
		{"development certificate", frontdoor.TLSFiles{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := startContract(t, hosttest.Options{TLS: &c.files})
			if !strings.HasPrefix(s.URL, "https://") {
				t.Errorf("URL %s", s.URL)
			}
			if s.TLS.DevCert != (c.files.Cert == "") {
				t.Errorf("development certificate: %t", s.TLS.DevCert)
			}
			for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
				res := getProto(t, s, proto, "/api/echo")
				if res.StatusCode != http.StatusOK || res.TLS == nil || !res.TLS.HandshakeComplete {
					t.Errorf("%s: status %d, TLS %v", proto, res.StatusCode, res.TLS)
				}
			}
			// A plain HTTP request to the HTTPS port is told so.
			r := do(t, "GET", "http://"+strings.TrimPrefix(s.URL, "https://")+"/api/echo", "")
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "HTTPS") {
				t.Errorf("plain HTTP to the HTTPS port: %d %q", r.status, r.body)
			}
		})
	}
}

// The development certificate is kept in its folder and reused by the
// next host.
func TestHTTPSDevCertificateIsReused(t *testing.T) {
	dir := t.TempDir()
	first := startContract(t, hosttest.Options{TLS: &frontdoor.TLSFiles{DevCertDir: dir}})
	if !first.TLS.Created || first.TLS.File != filepath.Join(dir, frontdoor.DevCertFile) {
		t.Errorf("first host: %+v", first.TLS)
	}
	first.Close()
	second := startContract(t, hosttest.Options{TLS: &frontdoor.TLSFiles{DevCertDir: dir}})
	if second.TLS.Created || !second.TLS.Leaf.Equal(first.TLS.Leaf) {
		t.Error("the second host made a new development certificate")
	}
	getProto(t, second, "HTTP/2.0", "/api/echo")
}

func TestH2C(t *testing.T) {
	s := startContract(t, hosttest.Options{H2C: true})
	for _, proto := range []string{"HTTP/1.1", "HTTP/2.0"} {
		if res := getProto(t, s, proto, "/api/echo"); res.StatusCode != http.StatusOK || res.TLS != nil {
			t.Errorf("%s: status %d, TLS %v", proto, res.StatusCode, res.TLS)
		}
	}
}

// Kestrel's limits hold through a whole host: a connection that sends
// nothing is closed, headers past 32 KiB get 431, a request without Host
// gets 400, and the slow-body 408 works over HTTP/2 too.
func TestHostileClients(t *testing.T) {
	s := startContract(t, hosttest.Options{Limits: frontdoor.Limits{ReadHeaderTimeout: 300 * time.Millisecond}})
	addr := strings.TrimPrefix(s.URL, "http://")

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.Copy(io.Discard, c); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Error("a connection that sent nothing was not closed")
		}
	}

	raw := func(head string) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Minute))
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	big := "X-Big: " + strings.Repeat("b", 40<<10) + "\r\n"
	for _, c := range []struct {
		name, head string
		want       int
	}{
		{"headers over 32 KiB", "GET /api/echo HTTP/1.1\r\nHost: x\r\n" + big + "\r\n", 431},
		{"no Host", "GET /api/echo HTTP/1.1\r\n\r\n", 400},
		{"malformed request line", "GET /api/echo\r\n\r\n", 400},
		{"request line over 8 KiB", "GET /api/echo?" + strings.Repeat("q", 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
		{"fine", "GET /api/echo HTTP/1.1\r\nHost: x\r\n\r\n", 200},
	} {
		if got := raw(c.head); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}

// Over HTTP/2 a body slower than Kestrel's minimum rate still gets 408,
// and a client that cancels still cancels its invocation.
func TestHTTP2SlowBodyAndDisconnect(t *testing.T) {
	s := startContract(t, hosttest.Options{TLS: &frontdoor.TLSFiles{}})
	client := s.Client()

	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte(strings.Repeat("x", 100))) }() // then nothing
	req, _ := http.NewRequest("POST", s.URL+"/api/echo", pr)
	req.ContentLength = 100000
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Proto != "HTTP/2.0" || res.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body over %s = %d, want 408", res.Proto, res.StatusCode)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/hang", nil)
		res, err := client.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	eventually(t, 20*time.Second, "the hang invocation to reach the handler", func() bool {
		started, _ := hangStatsWith(t, s, client)
		return started == 1
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("hang ended with %v", err)
	}
	eventually(t, 20*time.Second, "the handler's request to be cancelled", func() bool {
		_, cancelled := hangStatsWith(t, s, client)
		return cancelled == 1
	})
	eventually(t, 10*time.Second, "no invocation in flight", func() bool { return s.Host.Current().InFlight() == 0 })
}

// hangStatsWith is hangStats through client.
func hangStatsWith(t *testing.T, s *hosttest.Server, client *http.Client) (started, cancelled int) {
	t.Helper()
	res, err := client.Get(s.URL + "/api/hangstats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if _, err := fmt.Sscan(string(body), &started, &cancelled); err != nil {
		t.Fatalf("hangstats = %q", body)
	}
	return started, cancelled
}
