package doctor

import (
	"fmt"
	"maps"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/host"
)

// checkFunctions reports, for every function, whether it runs and if not,
// why.
func (c *checker) checkFunctions() {
	app := c.functionView()
	if len(app.Functions) == 0 && c.app.WorkerRuntime != "" {
		return // the worker indexes them: checkLanguageWorker said so
	}
	if len(app.Functions) == 0 {
		c.add(Finding{Severity: Warning,
			Problem: "the app has no functions: no folder holds a function.json",
			Fix:     `add one with funcd new --template "HTTP trigger" --name hello`})
		return
	}
	for _, fn := range app.Functions {
		c.checkFunction(app, fn)
	}
}

// checkFunction reports one function: why it is not loaded, its errors,
// bindings funcd does not run, whether it is disabled, or that it runs.
func (c *checker) checkFunction(app *funcd.App, fn *funcd.Function) {
	if fn.Excluded || fn.NotAllowed {
		c.add(c.excluded(app, fn))
		return
	}
	for _, e := range fn.Errors {
		f := c.configFinding(Error, fn.Name, e)
		if isUnknownTypeError(e) && !strings.Contains(e.Msg, "Did you mean ") {
			f.Fix = supportedNote()
		}
		c.add(f)
	}
	unknown := c.checkBindingTypes(fn)
	if fn.Disabled {
		c.add(c.disabled(fn))
		return
	}
	switch {
	case !fn.OK() || unknown:
	case c.blocked:
		c.add(Finding{Severity: Waiting, Function: fn.Name, File: fn.ConfigFile,
			Problem: describe(app, fn) + "; runs once the app-level errors above are fixed"})
	case c.durableBlocked && host.IsDurableFunction(fn):
		c.add(Finding{Severity: Waiting, Function: fn.Name, File: fn.ConfigFile,
			Problem: describe(app, fn) + "; runs once the Durable Functions setting above is fixed"})
	default:
		c.add(Finding{Severity: OK, Function: fn.Name, File: fn.ConfigFile, Problem: describe(app, fn)})
	}
}

// functionView returns the app to check the functions of: the loaded one,
// or, when that has no custom handler (none configured, or host.json could
// not be read), the app loaded again as if host.json named one. Without a
// custom handler the host stops at asking every function for a script file;
// with one, each function is checked as it will be once the app-level error
// is fixed.
func (c *checker) functionView() *funcd.App {
	if c.app.Host.CustomHandler != nil {
		return c.app
	}
	env := maps.Clone(c.env)
	env["AzureFunctionsJobHost__customHandler__description__defaultExecutablePath"] = "handler"
	app, _ := appconfig.Load(c.fsys, appconfig.Options{Root: c.root, Env: env, KnownBindings: knownBindings})
	host.CheckBindings(app, c.local)
	return app
}

// excluded explains why a function is not loaded at all: the host.json
// allow list leaves it out, or its function.json says "excluded".
func (c *checker) excluded(app *funcd.App, fn *funcd.Function) Finding {
	allow := app.Host.Functions
	if !fn.NotAllowed {
		line, col := position(c.functionRaw(fn), "excluded")
		return Finding{Severity: Warning, Function: fn.Name, File: fn.ConfigFile, Line: line, Column: col, Field: "excluded",
			Problem: `not loaded: function.json says "excluded": true`, Fix: `remove "excluded" from function.json`}
	}
	f := Finding{Severity: Warning, Function: fn.Name,
		Problem: fmt.Sprintf("not loaded: the host.json allow list (\"functions\": [%s]) leaves it out", quoteList(allow)),
		Fix:     fmt.Sprintf(`add "%s" to "functions" in host.json, or remove "functions" to load every function`, fn.Name)}
	if line, col := position(c.hostRaw, "functions"); line > 0 {
		f.File, f.Line, f.Column, f.Field = hostFile, line, col, "functions"
	} else {
		f.Problem = fmt.Sprintf("not loaded: the allow list set by AzureFunctionsJobHost__functions__* settings ([%s]) leaves it out", quoteList(allow))
		f.Fix = fmt.Sprintf("add %s to those settings, or remove them", fn.Name)
	}
	return f
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// functionRaw returns a function's function.json, or nil.
func (c *checker) functionRaw(fn *funcd.Function) []byte {
	return readFile(c.fsys, fn.ConfigFile)
}

// describe says how a healthy function is triggered.
func describe(app *funcd.App, fn *funcd.Function) string {
	t := fn.HTTPTrigger()
	if t == nil {
		if tr := fn.Trigger(); tr != nil {
			return tr.Type
		}
		return "loaded"
	}
	methods := "all methods"
	if len(t.Methods) > 0 {
		methods = strings.Join(t.Methods, ",")
	}
	route := strings.Trim(t.Route, "/")
	if route == "" {
		route = fn.Name
	}
	if prefix := strings.Trim(app.Host.HTTP.RoutePrefix, "/"); prefix != "" {
		route = prefix + "/" + route
	}
	return fmt.Sprintf("HTTP %s /%s (authLevel %s)", methods, route, t.AuthLevel)
}
