// Command go-sdk is a sample function app written with funcd's Go SDK:
// build it with `go build -o app .` in this folder and run it with
// `funcd start` (FUNCTIONS_WORKER_RUNTIME=golang).
//
// Its functions: hello (GET/POST /api/hello/{name}: a greeting, and the
// name queued to "greetings"), stream (GET /api/stream: three lines, each
// flushed as it is written), tick (a timer every five minutes, whose
// return value is queued to "ticks"), store (each "greetings" message
// copied to a blob under copies/).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/funcd/funcd/sdk"
	"github.com/funcd/funcd/sdk/bindings"
	"github.com/funcd/funcd/sdk/worker"
)

func main() {
	app := sdk.FunctionApp()
	app.HTTP("hello", hello).Route("hello/{name}").QueueOutput("greeted", "greetings", "")
	app.HTTP("stream", stream, sdk.WithMethods("GET"))
	app.Timer("tick", tick, sdk.WithSchedule("0 */5 * * * *")).QueueOutput("$return", "ticks", "")
	app.Queue("store", store).QueueName("greetings").BlobOutput("copy", "copies/{id}", "").
		Retry(sdk.FixedDelay(2, time.Second))
	worker.Start(app)
}

func hello(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "Hello"
	}
	slog.InfoContext(r.Context(), "greeting", "name", name)
	if err := sdk.SetOutput(r.Context(), "greeted", name); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintf(w, "%s, %s!\n", greeting, name)
}

func stream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	for i := 1; i <= 3; i++ {
		fmt.Fprintf(w, "line %d\n", i)
		http.NewResponseController(w).Flush()
	}
}

func tick(ctx context.Context, t bindings.TimerInfo) error {
	return sdk.SetReturnValue(ctx, map[string]any{"late": t.IsPastDue, "at": time.Now().UTC().Format(time.RFC3339)})
}

func store(ctx context.Context, m bindings.QueueMessage) error {
	return sdk.SetOutput(ctx, "copy", strings.ToUpper(string(m.Body)))
}
