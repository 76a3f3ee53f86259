package host

import (
	"errors"
	"log/slog"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
)

// Registry holds the binding Kinds the host runs, by function.json type
// (case-insensitive). HTTP (httpTrigger, http) is built in and needs no
// Kind.
type Registry struct {
	kinds map[string]binding.Kind
}

// NewRegistry returns a registry of kinds; a later Kind of the same type
// replaces an earlier one.
func NewRegistry(kinds []binding.Kind) *Registry {
	r := &Registry{kinds: make(map[string]binding.Kind, len(kinds))}
	for _, k := range kinds {
		r.kinds[strings.ToLower(k.Type)] = k
	}
	return r
}

// Lookup returns the Kind of a function.json type.
func (r *Registry) Lookup(typ string) (binding.Kind, bool) {
	k, ok := r.kinds[strings.ToLower(typ)]
	return k, ok
}

// Known reports whether the host runs bindings of the type: HTTP, or a
// registered Kind.
func (r *Registry) Known(typ string) bool {
	if isHTTPType(typ) {
		return true
	}
	_, ok := r.Lookup(typ)
	return ok
}

func isHTTPType(typ string) bool {
	return strings.EqualFold(typ, "httpTrigger") || strings.EqualFold(typ, "http")
}

// Validate checks every binding of every loadable function with its Kind,
// as the host does when it loads the app, and records the problems as the
// functions' errors: each a *funcd.ConfigError in "<fn>/function.json",
// with the binding's field, its line and column, and the Kind's hint. A
// function already in error, excluded, or left out by an allow list is not
// checked. funcd doctor calls it with a dry Env (see binding.Kind.Validate).
func (r *Registry) Validate(app *funcd.App, env *binding.Env) {
	for _, fn := range app.Functions {
		if !fn.OK() || fn.Excluded || fn.NotAllowed {
			continue
		}
		for i := range fn.Bindings {
			b := &fn.Bindings[i]
			k, ok := r.Lookup(b.Type)
			if !ok || k.Validate == nil {
				continue
			}
			if err := k.Validate(fn, b, env); err != nil {
				fn.Errors = append(fn.Errors, bindingError(fn, i, err))
			}
		}
	}
}

// bindingError places a Kind's error in function.json: the binding's
// field ("bindings[2].queueName"), located in the file.
func bindingError(fn *funcd.Function, i int, err error) *funcd.ConfigError {
	prefix := "bindings[" + itoa(i) + "]"
	ce := &funcd.ConfigError{Msg: err.Error()}
	if e, ok := errors.AsType[*funcd.ConfigError](err); ok {
		c := *e
		ce = &c
	}
	if ce.File == "" {
		// A Kind's field is the binding property; a setting it names
		// (a connection) stays as it is, with the file that holds it.
		switch {
		case ce.Field == "":
			ce.Field = prefix
		case !strings.HasPrefix(ce.Field, "bindings["):
			ce.Field = prefix + "." + ce.Field
		}
		ce.File = fn.ConfigFile
		ce.Line, ce.Column = appconfig.Locate(fn.Config, ce.Field)
	}
	return ce
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// CheckBindings validates an app's bindings as the host does when it
// loads the app (Registry.Validate with DefaultKinds), without opening
// anything: connection settings are resolved and checked, no store or
// account is touched. funcd doctor reports what it records, so its
// messages are the host's.
func CheckBindings(app *funcd.App, local *funcd.LocalSettings) {
	c := &connector{settings: app.Settings, local: local, dry: true, cache: &connCache{}}
	env := &binding.Env{
		HostID:             hostID(app.Settings, app.Root),
		Settings:           app.Settings,
		Connect:            c.Connect,
		Extensions:         app.Host.Extensions,
		ListenerLockPeriod: app.Host.Singleton.ListenerLockPeriod,
		Development:        isDevelopment(app.Settings),
		Clock:              clock.Real{},
		Logger:             slog.New(slog.DiscardHandler),
	}
	NewRegistry(DefaultKinds()).Validate(app, env)
}
