package funcd

import (
	"encoding/json"
	"io"
	"time"
)

// Invocation is one call of a function: what triggered it and the values of
// its input bindings. Workers turn it into their own protocol.
type Invocation struct {
	// ID is a new GUID (lower-case, hyphenated) for every invocation.
	ID       string
	Function *Function

	// Trigger is the trigger binding's value for non-HTTP triggers; each
	// worker protocol encodes it its own way.
	Trigger Value
	// Inputs holds the other input bindings' values by binding name.
	Inputs map[string]Value
	// Metadata is the trigger's binding data (Azure's "trigger metadata")
	// as natural JSON: strings as JSON strings, numbers as numbers, dates
	// as ISO 8601 strings, objects as objects (binding.Data). Workers shape
	// the values as their protocol does.
	Metadata map[string]json.RawMessage
	// Retry is set when the function has a retry policy: which attempt this
	// is and why the one before failed.
	Retry *RetryContext

	// HTTP is set when an httpTrigger fired.
	HTTP *HTTPRequest

	// Reason is why the function runs, for the "Executing" log line; empty
	// means it was called through the host's APIs (HTTP, admin).
	Reason string

	// Started is when the host began the invocation.
	Started time.Time
}

// HTTPRequest is an HTTP trigger's request as the host received it.
type HTTPRequest struct {
	Method string
	// URL is the absolute URL the client used: scheme://Host + path + raw
	// query.
	URL string
	// Path is the escaped request path, prefix included ("/api/hello").
	Path string
	// RawQuery is the query string without "?".
	RawQuery string
	// Header has canonical keys, as net/http's Header.
	Header map[string][]string
	// Params are route values by parameter name; an optional parameter the
	// URL did not supply is present with a nil value.
	Params map[string]*string
	// Body is the whole request body (bounded by the host's limit), for a
	// worker that needs it whole.
	Body []byte
	// BodyReader, when set, is the request body not read yet, for a worker
	// that streams it to its process (Body is then empty). Its reads
	// enforce the host's size limit and minimum data rate. It belongs to
	// the host: the worker reads it but does not close it.
	BodyReader io.Reader
	// ContentLength is BodyReader's announced length: -1 when unknown
	// (chunked), 0 for none.
	ContentLength int64
	// Identities are the claims identities the caller authenticated as.
	Identities []Identity
}

// Identity is a claims identity, the shape workers see in "Identities".
type Identity struct {
	AuthenticationType string
	Claims             []Claim
}

// Claim is one claim of an Identity.
type Claim struct {
	Type  string
	Value string
}

// Claim types of the key-based identity.
const (
	ClaimAuthLevel = "http://schemas.microsoft.com/2017/07/functions/claims/authlevel"
	ClaimKeyID     = "http://schemas.microsoft.com/2017/07/functions/claims/keyid"
	ClaimInvoke    = "http://schemas.microsoft.com/2017/07/functions/claims/invoke"
	// KeyAuthenticationType is the AuthenticationType of a key identity.
	KeyAuthenticationType = "WebJobsAuthLevel"
)

// HTTPResponse is what an HTTP-triggered invocation answers.
type HTTPResponse struct {
	Status int
	Header map[string][]string
	Body   []byte
	// BodyReader, when set, is the body streamed from the worker instead of
	// Body. The receiver copies it to the client and must Close it, also
	// when it reads none of it (a HEAD request, a client that went away):
	// Close releases the worker's connection and ends the invocation's
	// function timeout.
	BodyReader io.ReadCloser
	// ContentLength is BodyReader's length, -1 when unknown.
	ContentLength int64
	// Release, when set, returns the memory Body holds to the host's buffer
	// budget. The receiver calls it once it has written Body to the client
	// or dropped it; calling it again does nothing.
	Release func()
}

// RetryContext is the state of a retry policy for one attempt, as the
// real host exposes it to workers.
type RetryContext struct {
	// RetryCount is 0 for the first attempt, then 1, 2, ...
	RetryCount int
	// MaxRetryCount is the policy's maxRetryCount (-1: retry forever).
	MaxRetryCount int
	// Err is the failure of the attempt before; nil on the first.
	Err error
}

// Result is what a worker returned for an invocation.
type Result struct {
	// Outputs are output binding values by binding name, converted as the
	// worker protocol converts them (a custom handler's base64-looking
	// string becomes bytes). A declared $return output binding's value is
	// under "$return".
	Outputs map[string]Value
	// ReturnValue is the function's return value as the worker sent it
	// (ValueJSON for a custom handler), bound to $return if the function
	// declares it.
	ReturnValue Value
	// Logs are log lines the worker returned with the result.
	Logs []string
	// HTTP is the HTTP response, for HTTP-triggered invocations; nil means
	// the function produced none (the host answers 200 with no body).
	HTTP *HTTPResponse
	// Deferred, when set, says that Outputs and ReturnValue are not known
	// yet: the worker began the HTTP response (HTTP.BodyReader streams it)
	// before it finished the invocation. Deferred waits until it has, and
	// returns the result holding them, or the invocation's failure. Call it
	// once HTTP.BodyReader is closed: the worker may need its response read
	// before it can finish.
	Deferred func() (*Result, error)
}
