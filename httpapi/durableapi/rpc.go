package durableapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// RPCPort is the port the real host's local RPC endpoint tries first.
const RPCPort = 17071

// RPCPath is the local endpoint's root path; the SDKs resolve their
// relative paths ("instances/abc") against rpcBaseUrl, so it ends in "/".
const RPCPath = "/durabletask/"

// RPCServer is the local endpoint the Durable SDKs' clients call
// (rpcBaseUrl): the management API on the loopback interface, without
// keys.
type RPCServer struct {
	srv *http.Server
	ln  net.Listener
	url string
}

// ListenRPC serves h on 127.0.0.1 at addr's port ("127.0.0.1:17071"), or
// on a free port when that one is taken (or addr's port is 0). The API is
// served under RPCPath and, for the URLs its answers carry, under
// WebhookPath as well.
func ListenRPC(h http.Handler, addr string) (*RPCServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("cannot listen for the Durable Functions RPC endpoint: %w", err)
		}
	}
	host, _, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		_ = ln.Close()
		return nil, fmt.Errorf("the Durable Functions RPC endpoint must listen on a loopback address, not %s", host)
	}
	mux := http.NewServeMux()
	mux.Handle(RPCPath, stripPrefix(strings.TrimSuffix(RPCPath, "/"), h))
	mux.Handle(WebhookPath+"/", stripPrefix(WebhookPath, h))
	s := &RPCServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second},
		ln:  ln,
		url: "http://" + ln.Addr().String() + RPCPath,
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return s, nil
}

// URL is the endpoint's base URL, "http://127.0.0.1:17071/durabletask/".
func (s *RPCServer) URL() string { return s.url }

// Close stops the endpoint, letting requests in flight end until ctx is
// done.
func (s *RPCServer) Close(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

// stripPrefix serves h with the path relative to prefix, escaped
// segments kept.
func stripPrefix(prefix string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		esc := r.URL.EscapedPath()
		if !strings.HasPrefix(esc, prefix) {
			http.NotFound(w, r)
			return
		}
		Serve(h, w, r, strings.TrimPrefix(esc, prefix))
	})
}

// Serve runs h for r with the path rest (escaped, relative to the API's
// root), as a mount point calls it.
func Serve(h http.Handler, w http.ResponseWriter, r *http.Request, rest string) {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	u.RawPath = rest
	if p, err := url.PathUnescape(rest); err == nil {
		u.Path = p
	} else {
		u.Path = rest
	}
	r2.URL = &u
	h.ServeHTTP(w, r2)
}
