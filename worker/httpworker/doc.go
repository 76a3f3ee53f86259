// Package httpworker runs an app's custom handler and speaks the Azure
// Functions custom handler protocol to it, as the Functions host does.
//
// # Process
//
// A Worker launches host.json customHandler.description (or the legacy
// httpWorker section): defaultExecutablePath with arguments, then
// defaultWorkerPath and workerArguments, in workingDirectory. Its
// environment is the app's settings plus FUNCTIONS_CUSTOMHANDLER_PORT and
// FUNCTIONS_HTTPWORKER_PORT (a free port on 127.0.0.1),
// FUNCTIONS_CUSTOMHANDLER_WORKER_ID and FUNCTIONS_HTTPWORKER_ID (a new GUID
// per process), FUNCTIONS_APP_ROOT_PATH (the app root), and
// AzureWebJobsScriptRoot unless the settings have it; "%NAME%" in the
// arguments is replaced by these values, and any other "%NAME%" left in
// them is removed, as the host does. Each process gets a new port (the host
// keeps one port for its lifetime; a new one cannot collide with a dying
// predecessor).
//
// The handler is ready once GET http://127.0.0.1:{port}/ gets any HTTP
// response; the Worker asks every 25 ms while the connection is refused, for
// up to customHandler.initializationTimeout (30 s), then fails with
// "Initializing HttpWorker timed out." A failed start, a readiness timeout
// and an exit are failures: the handler is restarted after a backoff (1 s,
// doubling up to a minute, back to 1 s once a handler has served for a
// minute), forever. While it waits to be restarted, invocations fail at once
// with code EUNAVAILABLE; invocations that arrive while the handler starts
// wait for it, as long as their context allows. With Config.ExitOnFailure
// the Worker applies the host's limit instead: once three failures came
// each within 30 minutes of the previous one, it gives up ("Exceeded http
// worker restart retry count. Shutting down Functions Host") and calls
// Config.OnFatal.
//
// # Logs
//
// Every line the handler writes is logged with "worker" set to the worker
// id: stdout at Info, stderr at Error, or Warn when the line contains
// "warn". While exactly one invocation is in flight, the line is also
// logged with that invocation's "invocation_id" and "function": with one
// call running, the line can only be about it; with several, attributing it
// to any one would be a guess. Reply Logs are logged at Info with
// "invocation_id" and "function", and returned in Result.Logs.
//
// # Default protocol
//
// An invocation is POST http://127.0.0.1:{port}/{function name} with a JSON
// body {"Data":{...},"Metadata":{...}} and the headers
// X-Azure-Functions-HostVersion, X-Azure-Functions-InvocationId and
// User-Agent: Azure-Functions-Host/{version}. Data holds the trigger's value
// under its binding name (for an HTTP trigger, the request object: Url,
// Method, Query, Headers, Params, Identities, and Body as text, or base64
// for application/octet-stream and multipart content), then the other
// inputs. Metadata holds the trigger's binding data and "sys" (MethodName,
// UtcNow, RandGuid); for an HTTP trigger that is the top-level properties of
// a JSON body, the query parameters but "code", the route parameters,
// "Query" and "Headers". Like the host, the Worker sends single string
// values of HTTP binding data JSON-encoded twice ("\"value\"") and leaves
// out null values and keys ending in "trigger". Non-HTTP trigger values,
// inputs and metadata are taken as the caller shaped them.
//
// The reply must have a 2xx status and a JSON object body, read
// case-insensitively as {"Outputs":{...},"Logs":[...],"ReturnValue":...};
// anything else fails the invocation with a funcd.Error of code EINTERNAL
// ("Response status code does not indicate success: ..." or "Invalid
// HttpResponseMessage: ..."). For an HTTP trigger, the http output binding
// makes the response: Outputs[name] (an object, or a string holding one)
// gives statusCode (default 200), headers and body (a string as is, an
// object or array as indented JSON); Outputs without that name gives 200
// "{}"; no Outputs gives no response (Result.HTTP nil). A $return http
// binding maps ReturnValue as the host does: a string that is valid base64
// becomes those bytes (the host's quirk), a string holding JSON is read as
// JSON, an object with a "body" property is a response object, and any
// other value is the body of a 200 response. A text body gets the
// Content-Type given (text/plain by default) with charset=utf-8, as ASP.NET
// Core's string formatter writes it.
//
// # Forwarding
//
// With enableForwardingHttpRequest (or enableProxyingHttpRequest), a
// function whose bindings are exactly an httpTrigger and an http output gets
// the request itself: the original method to
// http://127.0.0.1:{port}{original path}, the query rebuilt from its parsed
// values (a repeated key's values joined with ","), the request's headers
// (hop-by-hop headers and those its Connection header names aside), the
// body with Content-Type only when there is one, and the three headers
// above (appended to any the client sent). Its response comes back as it
// is, whatever the status, without hop-by-hop headers; redirects are not
// followed. Both bodies stream: the request's is read from the client as
// it is sent (funcd.HTTPRequest.BodyReader), the response's is handed over
// unread (funcd.HTTPResponse.BodyReader), holding the handler's
// connection until it is closed. Proxy mode sends the raw query, lets Host name the handler and
// sets x-ms-invocation-id. The legacy httpWorker section always forwards
// such functions, to /{function name}.
//
// # Timeouts
//
// The caller puts the function timeout on the context. When the deadline
// passes, Invoke fails with a funcd.Error of code ETIMEOUT ("Timeout value
// of 00:05:00 exceeded by function 'Functions.Name' (Id: '...'). Initiating
// cancellation.") and the handler process is restarted, as the host does; a
// restart is not counted as a failure.
//
// # Divergences
//
// Deliberate differences from the host: the payload is sent with a
// Content-Length rather than chunked; a reply is read as JSON whatever its
// Content-Type (the host only reads application/json and text/json); an
// empty or null reply fails instead of hanging the invocation; a chunked
// request's body is sent (the host drops it); date-like strings are not
// reformatted as Json.NET would; a worker that exits with code 0 is
// restarted; bodies are always written as UTF-8.
package httpworker
