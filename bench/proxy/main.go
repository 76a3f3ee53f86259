// Command proxy stands between the HTTP benchmark's client and a handler,
// as funcd does, but does nothing of funcd's own: it is the benchmark's
// yardstick for what one more hop costs on the machine. -mode picks how
// much it does per request:
//
//   - httputil (the default): an httputil.ReverseProxy with keep-alive
//     connections to the handler, the smallest proxy the standard library
//     offers. What it costs over the handler alone is what any
//     net/http-based proxy pays for the hop.
//   - minimal: one goroutine per client connection, paired with a
//     connection of its own to the handler, that reads a request with
//     http.ReadRequest, writes it on, reads the response with
//     http.ReadResponse and writes it back: the least an HTTP-aware proxy
//     can do in Go.
//   - relay: the same pairs of connections, with the bytes copied both
//     ways and nothing parsed. No proxy can do less; its throughput and
//     latency are the ceiling for any process in front of the handler.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	target := flag.String("target", "http://127.0.0.1:8080", "base URL of the server to proxy to")
	mode := flag.String("mode", "httputil", "httputil, minimal or relay")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(2)
	}
	switch *mode {
	case "httputil":
		err = serveHTTPUtil(*addr, u)
	case "minimal":
		err = servePairs(*addr, u.Host, minimal)
	case "relay":
		err = servePairs(*addr, u.Host, relay)
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	fmt.Fprintln(os.Stderr, "proxy:", err)
	os.Exit(1)
}

func serveHTTPUtil(addr string, target *url.URL) error {
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		// As funcd's worker transport: many idle connections to one host.
		Transport: &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", rp)
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {}) // readiness
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}

// servePairs accepts client connections and runs serve on each with a
// connection of its own to target.
func servePairs(addr, target string, serve func(client, upstream net.Conn)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				fmt.Fprintln(os.Stderr, "proxy:", err)
				return
			}
			defer u.Close()
			serve(c, u)
		}()
	}
}

// relay copies bytes both ways until either side closes.
func relay(client, upstream net.Conn) {
	go func() {
		_, _ = io.Copy(upstream, client)
		_ = upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
}

// minimal passes requests and responses on one at a time.
func minimal(client, upstream net.Conn) {
	cr, cw := bufio.NewReader(client), bufio.NewWriter(client)
	ur, uw := bufio.NewReader(upstream), bufio.NewWriter(upstream)
	for {
		req, err := http.ReadRequest(cr)
		if err != nil {
			return
		}
		if req.Write(uw) != nil || uw.Flush() != nil {
			return
		}
		resp, err := http.ReadResponse(ur, req)
		if err != nil {
			return
		}
		err = resp.Write(cw)
		_ = resp.Body.Close()
		if err != nil || cw.Flush() != nil {
			return
		}
	}
}
