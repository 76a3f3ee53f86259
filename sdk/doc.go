// Package sdk is funcd's Go SDK for Azure Functions: a program registers
// its functions on an App and hands it to worker.Start (package
// github.com/funcd/funcd/sdk/worker), which serves them to the host as a
// language worker over FunctionRpc. The app has no function.json: the
// worker indexes it for the host (FUNCTIONS_WORKER_RUNTIME=golang).
//
// The API follows the preview Go worker for Azure Functions, so that
// moving an app between the two is mostly a change of import path:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log/slog"
//		"net/http"
//		"strings"
//		"time"
//
//		"github.com/funcd/funcd/sdk"
//		"github.com/funcd/funcd/sdk/bindings"
//		"github.com/funcd/funcd/sdk/worker"
//	)
//
//	func main() {
//		app := sdk.FunctionApp()
//
//		// GET/POST /api/hello/{name}, anonymous; it also enqueues a message.
//		app.HTTP("hello", func(w http.ResponseWriter, r *http.Request) {
//			name := r.PathValue("name")
//			slog.InfoContext(r.Context(), "greeting", "name", name)
//			if err := sdk.SetOutput(r.Context(), "greeted", name); err != nil {
//				http.Error(w, err.Error(), http.StatusInternalServerError)
//				return
//			}
//			fmt.Fprintf(w, "Hello, %s!\n", name)
//		}).Route("hello/{name}").QueueOutput("greeted", "greetings", "AzureWebJobsStorage")
//
//		// Every five minutes; its return value goes to the "ticks" queue.
//		app.Timer("tick", func(ctx context.Context, t bindings.TimerInfo) error {
//			return sdk.SetReturnValue(ctx, map[string]any{"late": t.IsPastDue})
//		}, sdk.WithSchedule("0 */5 * * * *")).QueueOutput("$return", "ticks", "")
//
//		// Each message of "greetings" becomes a blob.
//		app.Queue("store", func(ctx context.Context, m bindings.QueueMessage) error {
//			return sdk.SetOutput(ctx, "copy", strings.ToUpper(string(m.Body)))
//		}).QueueName("greetings").BlobOutput("copy", "copies/{id}", "").
//			Retry(sdk.FixedDelay(3, 5*time.Second))
//
//		worker.Start(app)
//	}
//
// # Registration
//
// App.HTTP, Timer, Queue and Blob register a function and return a
// *Function whose methods chain (Methods, Route, Auth, Schedule,
// RunOnStartup, QueueName, Path, Connection, QueueOutput, BlobOutput,
// Retry); the same settings exist as options (WithMethods, WithRoute, …)
// for the registration call. An HTTP function defaults to route = its
// name, methods GET and POST, authLevel anonymous. A function's id is
// hex(sha256(name + ":" + trigger type)). Registration mistakes (a
// duplicate, a nil handler, Schedule on an HTTP function) panic; a
// missing schedule, queue name or path is reported to the host as the
// function's indexing error.
//
// Durable Functions (package github.com/funcd/funcd/sdk/durable) register
// on the App too: Orchestration, Activity and Entity add functions with
// an orchestrationTrigger, activityTrigger or entityTrigger, and a
// function's DurableClient method adds a durableClient input, whose
// client the handler gets with durable.GetClient.
//
// # Handlers and outputs
//
// Handlers are typed (HTTPHandler, TimerHandler, QueueHandler,
// BlobHandler, BlobInfoHandler) and called without reflection. Outputs are
// declared on the registration and set by name from the handler with
// SetOutput(ctx, name, v): a string or []byte goes as it is, anything else
// as JSON. An output named "$return" is the function's return value
// (SetReturnValue), except for HTTP functions, whose response is what the
// handler writes. A returned error fails the invocation; a panic fails it
// with its stack and the worker keeps running. Goroutines a handler starts
// can defer Recover or RecoverTo.
//
// # Context, middleware, logging
//
// FromContext returns the InvocationContext (ids, trace and retry context,
// trigger metadata, route parameters) from a handler's ctx or an HTTP
// handler's r.Context(). App.Use adds Middleware around every handler.
// The package installs LogHandler as slog's default: records logged with
// an invocation's context reach the host as that invocation's User logs.
package sdk
