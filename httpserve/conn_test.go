package httpserve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// connPair returns a conn serving the server side of a loopback TCP
// connection, and the client side.
func connPair(t *testing.T) (*conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		_ = server.Close()
	})
	return newConn(&Server{Logger: slog.New(slog.DiscardHandler)}, server), client
}

// waitUntil polls cond, under c.mu, for up to 5 seconds.
func waitUntil(t *testing.T, c *conn, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		c.mu.Lock()
		ok := cond()
		c.mu.Unlock()
		if ok {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// TestWatchRunsOncePerRequest: a timer armed for an earlier request can
// fire late, during the next one, and start its watch before that
// request's own timer fires. The second watch must not read again: the
// byte the first one read would be overwritten and the next request
// garbled.
func TestWatchRunsOncePerRequest(t *testing.T) {
	t.Parallel()
	c, client := connPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.startRequest(cancel)
	c.armWatch()
	go c.watch() // the late timer of an earlier request
	waitUntil(t, c, "the watch reads", func() bool { return c.watching })

	// The first byte of a pipelined request ends the watch...
	if _, err := io.WriteString(client, "G"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, c, "the watch has the byte", func() bool { return c.cr.hasByte && !c.watching })
	// ...and the rest of it is there when this request's own timer fires.
	if _, err := io.WriteString(client, "ET /next HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(watchDelay + 50*time.Millisecond)
	c.endRequest()

	if ctx.Err() != nil {
		t.Errorf("the request context ended: %v", ctx.Err())
	}
	req, err := http.ReadRequest(c.br)
	if err != nil {
		t.Fatalf("reading the next request: %v", err)
	}
	if req.Method != http.MethodGet || req.URL.Path != "/next" {
		t.Errorf("the next request reads as %s %s, want GET /next", req.Method, req.URL.Path)
	}
}

// TestEndRequestEndsWatch: ending a request stops a watch blocked in its
// read, without taking it for a disconnect, and leaves the connection
// readable.
func TestEndRequestEndsWatch(t *testing.T) {
	t.Parallel()
	c, client := connPair(t)
	for i := range 3 {
		ctx, cancel := context.WithCancel(context.Background())
		c.startRequest(cancel)
		c.armWatch()
		waitUntil(t, c, "the watch reads", func() bool { return c.watching })
		done := make(chan struct{})
		go func() {
			c.endRequest()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d: endRequest did not end the watch", i)
		}
		if ctx.Err() != nil || c.gone {
			t.Errorf("request %d: ending the watch counted as a disconnect (%v)", i, ctx.Err())
		}
		cancel()
	}
	if _, err := io.WriteString(client, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = c.rwc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := http.ReadRequest(c.br); err != nil {
		t.Fatalf("reading after the watches: %v", err)
	}
}
