// Command handler is the hello-world Azure Functions custom handler the HTTP
// benchmark runs, both behind funcd and on its own as the net/http baseline.
//
// It answers:
//
//   - GET /api/hello with "Hello, World": the request funcd forwards as is
//     when host.json has enableForwardingHttpRequest: true, and the request
//     the benchmark sends when it runs the handler directly;
//   - POST /hello with the custom-handler reply
//     {"Outputs":{"res":{"statusCode":200,"body":"Hello, World"}}}: the
//     invocation funcd sends in its default JSON mode;
//   - GET / with an empty 200, for readiness probes.
//
// The handler does as little as it can (it drains the invocation payload
// without decoding it), so that the benchmark measures funcd's cost rather
// than the handler's.
//
// It listens on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT, as funcd starts it,
// or on the -addr flag when run directly.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// greeting is the body of the plain reply.
const greeting = "Hello, World"

// invokeReply is the custom-handler protocol reply: the http output binding
// named "res" with status 200 and the greeting as body.
const invokeReply = `{"Outputs":{"res":{"statusCode":200,"body":"Hello, World"}}}`

func main() {
	addr := flag.String("addr", "", "address to listen on (default: 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT)")
	flag.Parse()
	if *addr == "" {
		port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
		if port == "" {
			fmt.Fprintln(os.Stderr, "handler: set FUNCTIONS_CUSTOMHANDLER_PORT or -addr")
			os.Exit(2)
		}
		*addr = "127.0.0.1:" + port
	}
	srv := &http.Server{Addr: *addr, Handler: newMux(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

// newMux returns the handler's routes.
func newMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/hello", hello)
	mux.HandleFunc("POST /hello", invoke)
	mux.HandleFunc("GET /{$}", func(http.ResponseWriter, *http.Request) {})
	return mux
}

// hello answers a plain (forwarded or direct) GET with the greeting.
func hello(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(greeting)))
	_, _ = io.WriteString(w, greeting)
}

// invoke answers a JSON-mode invocation with the greeting as the http output.
func invoke(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(invokeReply)))
	_, _ = io.WriteString(w, invokeReply)
}
