package appconfig

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/funcd/funcd"
)

// This file decides which worker runs an app: a custom handler, or the
// language worker FUNCTIONS_WORKER_RUNTIME names (App.WorkerRuntime). An app
// written for a language worker funcd has no worker for (Python, .NET, Java,
// PowerShell, unless one is installed) fails to start with a message that
// says so, instead of starting with functions that cannot run.

const (
	// workerRuntimeSetting names the app's language worker.
	workerRuntimeSetting = "FUNCTIONS_WORKER_RUNTIME"
	localSettingsFile    = "local.settings.json"
)

// languageRuntimes are the FUNCTIONS_WORKER_RUNTIME values of the language
// workers, with the name a message gives each.
var languageRuntimes = []struct{ value, name string }{
	{"node", "Node.js"},
	{"golang", "Go"},
	{"python", "Python"},
	{"dotnet-isolated", ".NET isolated"},
	{"dotnet", ".NET in-process"},
	{"java", "Java"},
	{"powershell", "PowerShell"},
}

// runtimeName returns the display name of a language worker's
// FUNCTIONS_WORKER_RUNTIME value, or "".
func runtimeName(value string) string {
	for _, r := range languageRuntimes {
		if strings.EqualFold(strings.TrimSpace(value), r.value) {
			return r.name
		}
	}
	return ""
}

// scriptRuntimes maps the extension of a function's script file to the
// FUNCTIONS_WORKER_RUNTIME of the worker that runs it.
var scriptRuntimes = map[string]string{
	".js": "node", ".mjs": "node", ".cjs": "node", ".ts": "node",
	".py":  "python",
	".ps1": "powershell", ".psm1": "powershell",
	".csx": "dotnet", ".dll": "dotnet",
	".jar": "java",
}

// runs reports whether funcd has a worker for a runtime.
func (l *loader) runs(runtime string) bool {
	runtime = strings.ToLower(strings.TrimSpace(runtime))
	if l.opts.WorkerRuntimes != nil {
		return l.opts.WorkerRuntimes(runtime)
	}
	return runtime == "node" || runtime == "golang"
}

// checkRuntime decides the app's worker. An app with a customHandler (or
// httpWorker) section is a custom handler app whatever else its folder
// holds: a Node.js handler has a package.json, a Python one a
// requirements.txt. Otherwise FUNCTIONS_WORKER_RUNTIME decides ("custom" is
// a custom handler app), and without it the files only a language worker's
// app has: package.json depending on @azure/functions, function_app.py or
// requirements.txt, a .csproj, pom.xml or build.gradle, profile.ps1 or
// requirements.psd1 (and, once functions are read, checkScripts: function
// scripts such as index.js).
func (l *loader) checkRuntime() {
	if l.cfg.exists("customHandler") || l.cfg.exists("httpWorker") {
		return
	}
	if value, ok := l.settings.get(workerRuntimeSetting); ok && strings.TrimSpace(value) != "" {
		name := runtimeName(value)
		switch {
		case name == "":
			// "custom", or a worker funcd knows nothing of.
		case l.runs(value):
			l.app.WorkerRuntime = strings.ToLower(strings.TrimSpace(value))
		default:
			e := l.settingLocation()
			e.Msg = workerRuntimeSetting + " is '" + value + "': " + notRun(name)
			e.Hint = runtimeHint
			l.hostError(e)
		}
		return
	}
	for _, detect := range []func() (*funcd.ConfigError, string){l.nodePackage, l.rootFiles} {
		if e, runtime := detect(); e != nil {
			l.detected(e, runtime)
			return
		}
	}
}

// checkScripts detects, when nothing else decided the app's worker, a
// function whose script a language worker runs.
func (l *loader) checkScripts() {
	if l.app.WorkerRuntime != "" || l.fatal != nil || l.cfg.exists("customHandler") || l.cfg.exists("httpWorker") {
		return
	}
	if v, ok := l.settings.get(workerRuntimeSetting); ok && strings.TrimSpace(v) != "" {
		return
	}
	if e, runtime := l.functionScripts(); e != nil {
		if runtime == "node" {
			// function.json apps of Node.js (the v3 programming model) are not
			// run by funcd's worker.
			e.Msg += "this is a Node.js app of the v3 programming model (function.json), which funcd's Node.js worker does not run. " + supportedRuntimes
			e.Hint = "Move the app to the v4 programming model (@azure/functions 4.x, app.http(...)), or run it with Core Tools."
			l.hostError(e)
			return
		}
		l.detected(e, runtime)
	}
}

// detected applies a runtime found from the app's files, the setting being
// unset: the app runs on that worker if funcd has it (with a warning that
// the setting should say so), else it fails to load with e.
func (l *loader) detected(e *funcd.ConfigError, runtime string) {
	if runtime != "node" && l.runs(runtime) || runtime == "node" && l.runs(runtime) && e.File == "package.json" {
		l.app.WorkerRuntime = runtime
		l.warn(&funcd.ConfigError{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field,
			Msg: workerRuntimeSetting + " is not set; " + e.File + " says this is a " + runtimeName(runtime) +
				" app, so the " + runtime + " worker runs it.",
			Hint: "Set " + workerRuntimeSetting + " to \"" + runtime + "\" in local.settings.json Values."})
		return
	}
	e.Msg += notRun(runtimeName(runtime))
	e.Hint = runtimeHint
	l.hostError(e)
}

// notRun says that an app is written for a language worker funcd does not
// run, and what funcd runs.
func notRun(name string) string {
	return "this is a " + name + " function app, and funcd has no " + name + " worker. " + supportedRuntimes
}

// supportedRuntimes says what funcd runs.
const supportedRuntimes = "funcd runs custom handlers (host.json \"customHandler\", " + workerRuntimeSetting +
	"=custom), Node.js apps of the v4 programming model (node), Go apps built with funcd's Go SDK (golang), and " +
	"the apps of any language worker installed in a workers folder that FUNCD_WORKERS_DIR names."

const runtimeHint = "Install the language worker (a folder holding its worker.config.json) and set FUNCD_WORKERS_DIR to the folder " +
	"above it, run this app with Core Tools (func start), or serve its functions from a custom handler " +
	"(funcd init --worker-runtime custom writes one to start from)."

// settingLocation locates FUNCTIONS_WORKER_RUNTIME: in local.settings.json
// when that file sets the value in effect, else in the environment.
func (l *loader) settingLocation() *funcd.ConfigError {
	value, _ := l.settings.get(workerRuntimeSetting)
	data, err := fs.ReadFile(l.fsys, localSettingsFile)
	if err != nil {
		return &funcd.ConfigError{Field: workerRuntimeSetting}
	}
	root, serr := parseJSON(data)
	if serr != nil {
		return &funcd.ConfigError{Field: workerRuntimeSetting}
	}
	values := root.get("Values")
	if values == nil {
		return &funcd.ConfigError{Field: workerRuntimeSetting}
	}
	for _, f := range values.value.fields {
		if strings.EqualFold(f.key, workerRuntimeSetting) && f.value.scalar() && f.value.dotnetString() == value {
			return &funcd.ConfigError{File: localSettingsFile, Line: f.value.pos.line, Column: f.value.pos.col,
				Field: "Values." + f.key}
		}
	}
	return &funcd.ConfigError{Field: workerRuntimeSetting}
}

// nodePackage finds a package.json that depends on @azure/functions, the
// library of the Node.js worker's programming models.
func (l *loader) nodePackage() (*funcd.ConfigError, string) {
	data, err := fs.ReadFile(l.fsys, "package.json")
	if err != nil {
		return nil, ""
	}
	root, serr := parseJSON(data)
	if serr != nil {
		return nil, ""
	}
	for _, section := range []string{"dependencies", "devDependencies"} {
		deps := root.get(section)
		if deps == nil {
			continue
		}
		if f := deps.value.get("@azure/functions"); f != nil {
			return &funcd.ConfigError{File: "package.json", Line: f.keyPos.line, Column: f.keyPos.col,
				Field: section + ".@azure/functions",
				Msg:   "package.json depends on @azure/functions: "}, "node"
		}
	}
	return nil, ""
}

// rootFiles finds the files at the root of an app that only language
// workers' apps have.
func (l *loader) rootFiles() (*funcd.ConfigError, string) {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		return nil, ""
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	found := func(value, file string) (*funcd.ConfigError, string) {
		return &funcd.ConfigError{File: file, Msg: "a " + file + " at the app root: "}, value
	}
	has := func(name string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
	}
	switch {
	case has("function_app.py"):
		return found("python", "function_app.py")
	case has("requirements.txt"):
		return found("python", "requirements.txt")
	case has("pom.xml"):
		return found("java", "pom.xml")
	case has("build.gradle"):
		return found("java", "build.gradle")
	case has("profile.ps1"):
		return found("powershell", "profile.ps1")
	case has("requirements.psd1"):
		return found("powershell", "requirements.psd1")
	}
	for _, n := range names {
		if ext := strings.ToLower(path.Ext(n)); ext == ".csproj" || ext == ".fsproj" || ext == ".vbproj" {
			value := "dotnet"
			if data, err := fs.ReadFile(l.fsys, n); err == nil && strings.Contains(string(data), "Microsoft.Azure.Functions.Worker") {
				value = "dotnet-isolated"
			}
			return found(value, n)
		}
	}
	return nil, ""
}

// functionScripts finds a function whose script a language worker runs,
// such as index.js or __init__.py.
func (l *loader) functionScripts() (*funcd.ConfigError, string) {
	for _, fn := range l.app.Functions {
		if fn.ScriptFile == "" {
			continue
		}
		value, ok := scriptRuntimes[strings.ToLower(filepath.Ext(fn.ScriptFile))]
		if !ok {
			continue
		}
		file := fn.ScriptFile
		if rel, inRoot := l.relToRoot(fn.ScriptFile); inRoot {
			file = rel
		}
		return &funcd.ConfigError{File: file, Msg: "the script of function " + fn.Name + ": "}, value
	}
	return nil, ""
}

// UnsupportedRuntime returns the error Load recorded for an app written for
// a language worker funcd has no worker for, or nil.
func UnsupportedRuntime(app *funcd.App) *funcd.ConfigError {
	for _, e := range app.Errors {
		if strings.HasSuffix(e.Msg, supportedRuntimes) {
			return e
		}
	}
	return nil
}
