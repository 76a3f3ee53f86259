// Command proxy is the HTTP benchmark's reference point for funcd: the
// smallest proxy the standard library offers, an httputil.ReverseProxy from
// -addr to the handler at -target, with keep-alive connections to it. What
// it costs over the handler alone is what any net/http-based proxy pays for
// the extra hop, before doing anything of its own; funcd's cost above it is
// funcd's own.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	target := flag.String("target", "http://127.0.0.1:8080", "base URL of the server to proxy to")
	flag.Parse()
	u, err := url.Parse(*target)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(2)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u) },
		// As funcd's worker transport: many idle connections to one host.
		Transport: &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second},
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", rp)
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {}) // readiness
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "proxy:", err)
		os.Exit(1)
	}
}
