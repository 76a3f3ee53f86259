package funcd

import (
	"encoding/json"
	"strings"
	"time"
)

// App is a function app as loaded from its script root: host.json, one folder
// per function, and the settings that applied when it was read.
type App struct {
	// Root is the absolute path of the script root.
	Root string

	// Host is the effective host configuration: host.json, then
	// AzureFunctionsJobHost__* overrides, then defaults.
	Host HostConfig

	// Functions holds every function folder found under Root, sorted by name
	// (case-insensitively), including functions that failed to load; those
	// have a non-empty Errors field and must not be indexed.
	Functions []*Function

	// Errors are host-level problems (for example a broken host.json). They do
	// not stop the app from loading if defaults could be used; Fatal says
	// whether they did.
	Errors []*ConfigError

	// Warnings are problems worth telling the user about that change nothing,
	// such as unknown host.json properties.
	Warnings []*ConfigError

	// Settings is the environment the app runs with: the process environment
	// plus local.settings.json Values that were not already set.
	Settings map[string]string

	// WorkerRuntime is the FUNCTIONS_WORKER_RUNTIME of the language worker
	// that runs the app ("node", "golang", "python", ...), lower-case; ""
	// for a custom handler app.
	WorkerRuntime string

	// WorkerIndexed is set when the app's functions are the ones its
	// language worker indexed (worker indexing), not function.json folders.
	WorkerIndexed bool
}

// Function returns the function with the given name (case-insensitive), or
// nil.
func (a *App) Function(name string) *Function {
	for _, f := range a.Functions {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// HostConfig is the effective host.json configuration (schema version 2.0).
type HostConfig struct {
	// Version is the host.json "version" property; always "2.0" once loaded.
	Version string

	// FunctionTimeout bounds one invocation. Zero means no limit (host.json
	// "-1").
	FunctionTimeout time.Duration

	// Functions is the allow list from host.json "functions" (or the
	// --functions flag). Empty means every function.
	Functions []string

	HTTP          HTTPOptions
	CustomHandler *CustomHandler
	Logging       Logging

	// Retry is host.json "retry", the default policy of functions whose
	// function.json has none; nil when absent.
	Retry *RetryPolicy

	// Singleton is host.json "singleton": the leases singleton listeners
	// (the timer trigger's) hold.
	Singleton SingletonOptions

	// ExtensionBundle is echoed in host status; funcd needs no bundle.
	ExtensionBundle *ExtensionBundle

	// Extensions are host.json's "extensions" sections by lower-case name,
	// with AzureFunctionsJobHost__extensions__* variables laid over them
	// (as strings): what the bindings read their options from.
	Extensions map[string]json.RawMessage

	// Raw is host.json as read (before overrides), for --verbose and the
	// admin API.
	Raw json.RawMessage
}

// SingletonOptions is the part of host.json "singleton" funcd uses.
type SingletonOptions struct {
	// ListenerLockPeriod is how long a singleton listener's lease lasts
	// unless renewed (singleton.listenerLockPeriod): from
	// MinListenerLockPeriod to MaxListenerLockPeriod, default
	// DefaultListenerLockPeriod.
	ListenerLockPeriod time.Duration
}

// The bounds and default of singleton.listenerLockPeriod: the real host's,
// which are Azure Storage's limits on a blob lease.
const (
	DefaultListenerLockPeriod = time.Minute
	MinListenerLockPeriod     = 15 * time.Second
	MaxListenerLockPeriod     = time.Minute
)

// HTTPOptions is host.json extensions.http plus the request body limit.
type HTTPOptions struct {
	// RoutePrefix is prepended to every HTTP trigger route; default "api", ""
	// removes it.
	RoutePrefix string

	// MaxConcurrentRequests bounds HTTP functions running at once; -1 (the
	// default) means unbounded.
	MaxConcurrentRequests int

	// MaxOutstandingRequests bounds requests running or waiting; beyond it
	// the host answers 429. -1 (the default) means unbounded.
	MaxOutstandingRequests int

	// DynamicThrottlesEnabled is read and reported; funcd has no dynamic
	// throttles yet.
	DynamicThrottlesEnabled bool

	// CustomHeaders are added to every HTTP response.
	CustomHeaders map[string]string

	// MaxRequestBodySize bounds a request body in bytes: 104857600 by
	// default, FUNCTIONS_REQUEST_BODY_SIZE_LIMIT overrides it.
	MaxRequestBodySize int64
}

// CustomHandler is host.json "customHandler" (or the legacy "httpWorker").
type CustomHandler struct {
	// DefaultExecutablePath is the handler program: absolute after loading if
	// it exists under the app root, otherwise as written (looked up in PATH).
	DefaultExecutablePath string
	// WorkingDirectory is absolute after loading; default the app root.
	WorkingDirectory string
	// Arguments have had %SETTING% expanded.
	Arguments         []string
	DefaultWorkerPath string
	WorkerArguments   []string

	// EnableForwardingHttpRequest sends HTTP-in/HTTP-out functions' requests
	// to the handler as they came, instead of the JSON payload.
	EnableForwardingHttpRequest bool //nolint:revive // host.json name

	// EnableProxyingHttpRequest is the newer streaming proxy mode; funcd
	// treats it like forwarding.
	EnableProxyingHttpRequest bool //nolint:revive // host.json name

	// InitializationTimeout bounds the wait for the handler's first HTTP
	// answer; default 30s.
	InitializationTimeout time.Duration

	// Legacy is true when the section was "httpWorker": every function's
	// request is forwarded to /{FunctionName}.
	Legacy bool
}

// Logging is host.json "logging".
type Logging struct {
	FileLoggingMode string
	// LogLevel maps a category ("default", "Function", "Function.Name",
	// "Host.Results", ...) to a level name.
	LogLevel map[string]string
}

// ExtensionBundle is host.json "extensionBundle".
type ExtensionBundle struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// LocalSettings is local.settings.json.
type LocalSettings struct {
	IsEncrypted bool
	// Values are app settings; exported to the environment unless already
	// set there.
	Values map[string]string
	Host   LocalHost
	// ConnectionStrings are exposed as ConnectionStrings:<name>.
	ConnectionStrings map[string]string
}

// LocalHost is the "Host" section of local.settings.json.
type LocalHost struct {
	LocalHTTPPort    int
	LocalHTTPAddress string
	CORS             string
	CORSCredentials  bool
}
