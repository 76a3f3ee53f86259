package appconfig

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/route"
)

// This file holds the checks that need every function: the allow list,
// HTTP routes, app-setting references and disabling.

// parseRoute validates a route template with ASP.NET Core's rules.
func parseRoute(template string) error {
	_, err := route.Parse(template)
	return err
}

// applyAllowList marks the functions the allow list does not name as
// NotAllowed. They keep the errors found so far, but take no part in the
// checks that need the whole app (routes, settings): the host never creates
// them.
func (l *loader) applyAllowList() {
	allow := l.app.Host.Functions
	if len(allow) == 0 {
		return
	}
	for _, fn := range l.app.Functions {
		if !slices.ContainsFunc(allow, func(name string) bool { return strings.EqualFold(name, fn.Name) }) {
			fn.NotAllowed = true
		}
	}
	source := "host.json \"functions\""
	if len(l.opts.AllowList) > 0 {
		source = "--functions"
	}
	for _, name := range allow {
		if l.app.Function(name) == nil {
			l.warn(&funcd.ConfigError{
				Field: "functions",
				Msg:   "'" + name + "' in the function allow list (" + source + ") matches no function.",
				Hint:  "Function names are folder names under the app root that contain a function.json.",
			})
		}
	}
}

// loaded reports whether a function is still in the running: not excluded,
// allowed and without errors.
func loaded(fn *funcd.Function) bool {
	return !fn.Excluded && !fn.NotAllowed && len(fn.Errors) == 0
}

// checkRoutes applies ScriptHost.ValidateFunction to HTTP functions in name
// order: no route in the host's own space, no two functions on the same
// route with overlapping methods. The route template itself is then parsed.
func (l *loader) checkRoutes() {
	var accepted []*httpTrigger
	for _, t := range l.httpTriggers {
		if !loaded(t.fn) {
			continue
		}
		route := t.fn.Bindings[t.binding].Route
		errorAt := func(msg, hint string) {
			t.fn.Errors = append(t.fn.Errors, &funcd.ConfigError{
				File: t.fn.ConfigFile, Line: t.routeAt.line, Column: t.routeAt.col, Field: t.routeField, Msg: msg, Hint: hint,
			})
		}
		trimmed := strings.ToLower(strings.Trim(route, "/"))
		if strings.HasPrefix(trimmed, "admin") || strings.HasPrefix(trimmed, "runtime") {
			errorAt("The specified route conflicts with one or more built in routes.",
				`Routes starting with "admin" or "runtime" belong to the host; choose another route.`)
			continue
		}
		if other := conflictingRoute(t, route, accepted); other != nil {
			errorAt("The route specified conflicts with the route defined by function '"+other.fn.Name+"'.",
				"Give one of the two functions another route, or methods that do not overlap.")
			continue
		}
		accepted = append(accepted, t)
		if err := parseRoute(route); err != nil {
			errorAt(err.Error(), "Fix the route template (ASP.NET Core syntax: literals, {param}, {param:constraint}, {param?}, {*catchall}).")
		}
	}
}

// conflictingRoute returns an accepted function whose route has the same
// text (ignoring case and surrounding '/') and an overlapping method.
func conflictingRoute(t *httpTrigger, route string, accepted []*httpTrigger) *httpTrigger {
	for _, other := range accepted {
		otherRoute := other.fn.Bindings[other.binding].Route
		if !strings.EqualFold(strings.Trim(route, "/"), strings.Trim(otherRoute, "/")) {
			continue
		}
		// No methods means every method; the host compares method names
		// case-sensitively, as written.
		if len(t.methods) == 0 || len(other.methods) == 0 ||
			slices.ContainsFunc(t.methods, func(m string) bool { return slices.Contains(other.methods, m) }) {
			return other
		}
	}
	return nil
}

// expandExempt are binding properties that are read as written, never
// searched for %app setting% references.
var expandExempt = []string{"name", "type", "direction", "datatype", "cardinality", "authlevel", "methods", "route"}

// resolveSettings expands %Setting% references in binding properties, as
// the host's name resolver does when it indexes functions.
func (l *loader) resolveSettings() {
	for _, fn := range l.app.Functions {
		if !loaded(fn) {
			continue
		}
		nodes := l.bindingNodes[fn]
		for i := range fn.Bindings {
			l.resolveBinding(fn, i, nodes[i])
		}
	}
}

func (l *loader) resolveBinding(fn *funcd.Function, i int, n *node) {
	b := &fn.Bindings[i]
	for _, f := range n.fields {
		if f.value.kind != kindString || slices.Contains(expandExempt, strings.ToLower(f.key)) {
			continue
		}
		v, err := resolveAppSettings(f.value.text, l.settings.get)
		if err != nil {
			hint := "Define the app setting '" + err.name + "' (local.settings.json Values or the environment), or remove the %...% reference."
			if err.unclosed {
				hint = "Close the reference with a second '%', or remove the '%'."
			}
			fn.Errors = append(fn.Errors, &funcd.ConfigError{
				File: fn.ConfigFile, Line: f.value.pos.line, Column: f.value.pos.col,
				Field: "bindings[" + strconv.Itoa(i) + "]." + f.key, Msg: err.msg, Hint: hint,
			})
			continue
		}
		b.Properties[f.key] = v
	}
}

// settingRefError is a %name% reference that does not resolve.
type settingRefError struct {
	msg      string // the host's message
	name     string
	unclosed bool // a '%' without its closing '%'
}

// resolveAppSettings replaces every %name% in s with the app setting's
// value, as NameResolverExtensions.ResolveWholeString does.
func resolveAppSettings(s string, lookup func(string) (string, bool)) (string, *settingRefError) {
	var b strings.Builder
	rest, offset := s, 0
	for {
		start := strings.IndexByte(rest, '%')
		if start < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		end := strings.IndexByte(rest[start+1:], '%')
		if end < 0 {
			// .NET counts UTF-16 code units.
			at := len(utf16.Encode([]rune(s[:offset+start])))
			return "", &settingRefError{msg: "The '%' at position " + strconv.Itoa(at) + " does not have a closing '%'", unclosed: true}
		}
		name := rest[start+1 : start+1+end]
		v, ok := lookup(name)
		if !ok || name == "" {
			return "", &settingRefError{msg: "'%" + name + "%' does not resolve to a value.", name: name}
		}
		b.WriteString(rest[:start])
		b.WriteString(v)
		consumed := start + end + 2
		rest, offset = rest[consumed:], offset+consumed
	}
}

// applyDisabled sets Disabled from the AzureWebJobs.<name>.Disabled (or
// AzureWebJobs_<name>_Disabled) app setting.
func (l *loader) applyDisabled() {
	for _, fn := range l.app.Functions {
		if l.settings.enabled(disabledSetting(fn.Name)) || l.settings.enabled(disabledSettingLinux(fn.Name)) {
			fn.Disabled = true
		}
	}
}

func disabledSetting(name string) string      { return "AzureWebJobs." + name + ".Disabled" }
func disabledSettingLinux(name string) string { return "AzureWebJobs_" + name + "_Disabled" }
