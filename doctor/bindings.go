package doctor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/host"
)

// knownBindings reports the binding types funcd runs.
var knownBindings = host.KnownBindings

// supportedNote names the binding types funcd runs.
func supportedNote() string {
	supported := slices.DeleteFunc(slices.Clone(appconfig.BindingTypes), func(t string) bool { return !knownBindings(t) })
	return fmt.Sprintf("funcd runs only these binding types for now: %s; check the spelling, or run this function on the Azure Functions host",
		strings.Join(supported, ", "))
}

// isUnknownTypeError reports appconfig's error for binding types that are
// not registered.
func isUnknownTypeError(e *funcd.ConfigError) bool {
	return strings.HasPrefix(e.Msg, "The binding type(s) '")
}

// suggests reports whether an error already offers a type in place of a
// misspelt one.
func suggests(e *funcd.ConfigError, typ string) bool {
	return strings.Contains(e.Msg, "'"+typ+"'") && strings.Contains(e.Msg, "Did you mean ")
}

// checkBindingTypes reports the bindings whose type funcd does not run,
// unless an error of the function already names them (appconfig stops at
// the first stage of checks that fails, so it may not have got that far).
// A type that looks like a misspelt binding type is reported as such. It
// returns whether there were any.
func (c *checker) checkBindingTypes(fn *funcd.Function) bool {
	found := false
	for i, b := range fn.Bindings {
		if b.Type == "" || knownBindings(b.Type) {
			continue
		}
		found = true
		fix := appconfig.SuggestBindingType(b.Type)
		if slices.ContainsFunc(fn.Errors, func(e *funcd.ConfigError) bool {
			if fix != "" {
				return suggests(e, fix)
			}
			return isUnknownTypeError(e) && strings.Contains(strings.ToLower(e.Msg), strings.ToLower(b.Type))
		}) {
			continue
		}
		line, col := position(c.functionRaw(fn), "bindings")
		f := Finding{Severity: Error, Function: fn.Name, File: fn.ConfigFile, Line: line, Column: col,
			Field:   fmt.Sprintf("bindings[%d].type", i),
			Problem: fmt.Sprintf("funcd does not run %q bindings yet", b.Type),
			Fix:     supportedNote()}
		if fix != "" {
			f.Problem = fmt.Sprintf("%q is not a binding type; did you mean %q?", b.Type, fix)
			f.Fix = fmt.Sprintf(`change "type" to %q (types are case-insensitive)`, fix)
		}
		c.add(f)
	}
	return found
}
