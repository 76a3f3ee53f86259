// Command mcpgo is the app of the MCP benchmark (bench/cmd/mcpbench),
// written with funcd's Go SDK: the MCP tool noop, which answers "ok", and,
// as the benchmark's yardstick, the anonymous HTTP function GET /api/hello,
// which answers "ok" too. The benchmark builds it as "app" in its copy of
// this folder and serves it with `funcd start` (FUNCTIONS_WORKER_RUNTIME
// golang); the MCP extension's settings are the defaults.
package main

import (
	"context"
	"io"
	"net/http"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/worker"
)

// answer is what the tool and the HTTP function return.
const answer = "ok"

func main() {
	app := sdk.FunctionApp()
	app.MCPTool("noop", noop).Description("Does nothing; answers ok.")
	app.HTTP("hello", hello, sdk.WithMethods("GET"), sdk.WithAuth("anonymous"))
	worker.Start(app)
}

func noop(context.Context, *sdk.MCPToolRequest) (any, error) { return answer, nil }

func hello(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, answer)
}
