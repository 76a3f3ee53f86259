// Command gosdk is the hello-world function app of the worker benchmark
// (bench/cmd/workerbench) written with funcd's Go SDK: GET /api/hello
// answers "Hello, World". The benchmark builds it as "app" in its copy of
// this folder and serves it with `funcd start` (FUNCTIONS_WORKER_RUNTIME
// golang).
package main

import (
	"io"
	"net/http"
	"strconv"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
)

// greeting is the response body.
const greeting = "Hello, World"

func main() {
	app := sdk.FunctionApp()
	app.HTTP("hello", hello, sdk.WithMethods("GET"))
	worker.Start(app)
}

// hello answers with the greeting, as bench/handler does.
func hello(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(greeting)))
	_, _ = io.WriteString(w, greeting)
}
