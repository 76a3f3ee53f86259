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
// # MCP tools and resources
//
// MCPTool and MCPResource register functions that the host's MCP server
// (/runtime/webhooks/mcp, the Azure Functions MCP extension) serves as
// tools and resources, with the binding properties and result envelope
// of the Node.js library:
//
//	app.MCPTool("get_weather", func(ctx context.Context, req *sdk.MCPToolRequest) (any, error) {
//		var args struct{ Location string }
//		if err := req.Bind(&args); err != nil {
//			return nil, err
//		}
//		return sdk.Structured(lookUp(args.Location)), nil
//	}).Description("Current weather of a city").
//		Property("location", "string", "City name", sdk.Required()).
//		ArrayProperty("days", "integer", "Days ahead").
//		Metadata(map[string]any{"ui": map[string]any{"resourceUri": "ui://weather/index.html"}})
//
//	app.MCPResource("weather_widget", "ui://weather/index.html", func(context.Context, *sdk.MCPResourceRequest) (any, error) {
//		return widgetHTML, nil
//	}).ResourceName("Weather Widget").MIMEType("text/html;profile=mcp-app")
//
// A tool's mcpToolTrigger carries toolName (the function's name, or
// ToolName), description, toolProperties (the properties as a JSON
// string: Property, ArrayProperty, with Required and Enum), metadata (the
// tool's _meta, a JSON string) and useResultSchema=true. The handler gets
// the call's name, arguments (Bind, Arg, ArgString), session id, client
// info and transport (name, session id, HTTP headers), read from the
// trigger value or else from the trigger metadata mcptoolcontext,
// mcptoolargs and mcpsessionid. What it returns is sent as the host's
// tool result envelope, a JSON string {"type", "content",
// "structuredContent"}: a string or any other value is one text block
// (non-strings as their JSON); an MCPContent (TextContent, ImageContent,
// AudioContent, ResourceLink, EmbeddedResource) that block; a
// []MCPContent of two or more blocks "multi_content_result"; a
// CallToolResult "call_tool_result" (content, structuredContent, isError,
// _meta); Structured(v) a text block with v's JSON and v as
// structuredContent. A returned error fails the invocation, which the
// host answers with isError.
//
// A resource's mcpResourceTrigger carries uri (with {parameters} for a
// template), resourceName, title, description, mimeType, size and
// metadata. The handler gets the URI read, the template's parameters, the
// session, client and transport, and returns a string (text), a []byte
// (blob) or ResourceContents, sent as {"content": "<contents JSON>"} so
// that their _meta reaches resources/read.
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
