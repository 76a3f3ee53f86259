package funcd

import (
	"encoding/json"
	"strings"
	"time"
)

// Function is one function of an app: a folder under the script root with a
// function.json.
type Function struct {
	// Name is the folder name, exact case.
	Name string
	// ConfigFile is the function.json path relative to the app root, with
	// forward slashes ("hello/function.json").
	ConfigFile string
	// Config is function.json as read, for the admin API ({} when it did not
	// parse).
	Config json.RawMessage

	ScriptFile string
	EntryPoint string
	Bindings   []Binding

	// Retry is function.json "retry", nil when absent; the host falls back
	// to host.json "retry".
	Retry *RetryPolicy

	// Disabled is set by the AzureWebJobs.<Name>.Disabled setting (or the
	// legacy function.json "disabled"). A disabled function is indexed but
	// only callable with the master key.
	Disabled bool

	// Excluded is the legacy function.json "excluded": the function is not
	// loaded at all.
	Excluded bool

	// NotAllowed is set when an allow list (host.json "functions" or
	// --functions) leaves the function out: it is not indexed, but the
	// admin API lists it, as the real host does. Its errors are kept.
	NotAllowed bool

	// Unreadable is set when function.json could not be read into function
	// metadata (the file, its JSON, the folder name, the bindings array,
	// configurationSource or scriptFile is wrong). The real host leaves
	// such a function out of the admin API's function list; its errors
	// still show in its status.
	Unreadable bool

	// Errors are the reasons the function cannot run. A function with errors
	// is listed (admin API, doctor) but never invoked.
	Errors []*ConfigError
}

// Trigger returns the function's trigger binding, or nil.
func (f *Function) Trigger() *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].IsTrigger() {
			return &f.Bindings[i]
		}
	}
	return nil
}

// HTTPTrigger returns the function's httpTrigger binding, or nil.
func (f *Function) HTTPTrigger() *Binding {
	if t := f.Trigger(); t != nil && strings.EqualFold(t.Type, "httpTrigger") {
		return t
	}
	return nil
}

// Binding returns the binding with the given name, or nil.
func (f *Function) Binding(name string) *Binding {
	for i := range f.Bindings {
		if f.Bindings[i].Name == name {
			return &f.Bindings[i]
		}
	}
	return nil
}

// IsHTTPInAndOut reports whether the function's bindings are exactly one
// httpTrigger and one http output, the shape that custom handlers receive as
// forwarded requests.
func (f *Function) IsHTTPInAndOut() bool {
	if len(f.Bindings) != 2 {
		return false
	}
	var in, out bool
	for _, b := range f.Bindings {
		switch {
		case strings.EqualFold(b.Type, "httpTrigger") && b.Direction == In:
			in = true
		case strings.EqualFold(b.Type, "http") && b.Direction == Out:
			out = true
		}
	}
	return in && out
}

// OK reports whether the function loaded without errors.
func (f *Function) OK() bool { return len(f.Errors) == 0 }

// Direction is a binding's direction.
type Direction string

// Binding directions, as written in function.json.
const (
	In    Direction = "in"
	Out   Direction = "out"
	InOut Direction = "inout"
)

// Binding is one entry of function.json "bindings".
type Binding struct {
	Name      string
	Type      string
	Direction Direction
	// DataType is "", "string", "binary" or "stream".
	DataType string

	// HTTP trigger properties (zero for other types).
	AuthLevel AuthLevel
	// Methods are upper-case; empty means every method.
	Methods []string
	// Route is the route template without the prefix; empty means the
	// function name.
	Route string

	// Properties holds every property as written, after %SETTING%
	// expansion, keyed by the name as written.
	Properties map[string]any
}

// IsTrigger reports whether the binding is a trigger (its type ends in
// "Trigger", case-insensitively).
func (b *Binding) IsTrigger() bool {
	return len(b.Type) >= 7 && strings.EqualFold(b.Type[len(b.Type)-7:], "trigger")
}

// AuthLevel is the authorization level an HTTP trigger requires, and the
// level a presented key grants.
type AuthLevel int

// Authorization levels, from weakest to strongest.
const (
	AuthAnonymous AuthLevel = iota
	AuthUser
	AuthFunction
	AuthSystem
	AuthAdmin
)

var authLevelNames = [...]string{"anonymous", "user", "function", "system", "admin"}

// String returns the level's function.json spelling.
func (l AuthLevel) String() string {
	if int(l) < len(authLevelNames) {
		return authLevelNames[l]
	}
	return "unknown"
}

// ParseAuthLevel parses a function.json authLevel value, case-insensitively.
func ParseAuthLevel(s string) (AuthLevel, bool) {
	for i, n := range authLevelNames {
		if strings.EqualFold(s, n) {
			return AuthLevel(i), true
		}
	}
	return AuthAnonymous, false
}

// Retry strategies, as function.json and host.json spell them.
const (
	FixedDelay         = "fixedDelay"
	ExponentialBackoff = "exponentialBackoff"
)

// RetryPolicy is a "retry" section: how often and how long to wait before
// running a failed invocation again.
type RetryPolicy struct {
	// Strategy is FixedDelay or ExponentialBackoff.
	Strategy string
	// MaxRetryCount is the number of retries after the first attempt; -1
	// retries forever.
	MaxRetryCount int
	// DelayInterval is fixedDelay's wait.
	DelayInterval time.Duration
	// MinimumInterval and MaximumInterval bound exponentialBackoff's wait.
	MinimumInterval, MaximumInterval time.Duration
}
