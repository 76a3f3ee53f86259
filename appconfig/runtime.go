package appconfig

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/funcd/funcd"
)

// This file tells apps written for a language worker funcd does not run yet
// (Node.js, Python, .NET, Java, PowerShell) from custom handler apps, so that
// such an app fails to start with a message that says so, instead of
// starting with functions that cannot run.

const (
	// workerRuntimeSetting names the app's language worker.
	workerRuntimeSetting = "FUNCTIONS_WORKER_RUNTIME"
	localSettingsFile    = "local.settings.json"
)

// languageRuntimes are the FUNCTIONS_WORKER_RUNTIME values of the language
// workers, with the name a message gives each.
var languageRuntimes = []struct{ value, name string }{
	{"node", "Node.js"},
	{"python", "Python"},
	{"dotnet-isolated", ".NET isolated"},
	{"dotnet", ".NET in-process"},
	{"java", "Java"},
	{"powershell", "PowerShell"},
}

// runtimeName returns the display name of a FUNCTIONS_WORKER_RUNTIME value
// funcd does not run, or "".
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

// checkRuntime records a host error when the app is written for a language
// worker funcd does not run yet. An app with a customHandler (or httpWorker)
// section is a custom handler app whatever else its folder holds: a Node.js
// handler has a package.json, a Python one a requirements.txt. Otherwise
// FUNCTIONS_WORKER_RUNTIME decides ("custom" is a custom handler app), and
// without it the files only a language worker's app has: package.json
// depending on @azure/functions, function_app.py or requirements.txt, a
// .csproj, pom.xml or build.gradle, profile.ps1 or requirements.psd1, or
// function scripts such as index.js.
func (l *loader) checkRuntime() {
	if l.cfg.exists("customHandler") || l.cfg.exists("httpWorker") {
		return
	}
	if e := l.runtimeError(); e != nil {
		l.hostError(e)
	}
}

// runtimeError returns the error for an app of a language worker, or nil.
func (l *loader) runtimeError() *funcd.ConfigError {
	if value, ok := l.settings.get(workerRuntimeSetting); ok && strings.TrimSpace(value) != "" {
		name := runtimeName(value)
		if name == "" {
			return nil // "custom", or a worker funcd knows nothing of
		}
		e := l.settingLocation()
		e.Msg = workerRuntimeSetting + " is '" + value + "': " + notRun(name)
		e.Hint = runtimeHint
		return e
	}
	for _, detect := range []func() *funcd.ConfigError{l.nodePackage, l.rootFiles, l.functionScripts} {
		if e := detect(); e != nil {
			e.Hint = runtimeHint
			return e
		}
	}
	return nil
}

// notRun says that an app is written for a language worker funcd does not
// run yet, and what funcd runs.
func notRun(name string) string {
	return "this is a " + name + " function app, and funcd does not run " + name + " apps yet. " + supportedRuntimes
}

// supportedRuntimes says what funcd runs.
const supportedRuntimes = "funcd runs custom handlers for now: host.json with a \"customHandler\" section and " +
	workerRuntimeSetting + "=custom."

const runtimeHint = "Run this app with Core Tools (func start) or on Azure for now, or serve its functions from a custom handler " +
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
func (l *loader) nodePackage() *funcd.ConfigError {
	data, err := fs.ReadFile(l.fsys, "package.json")
	if err != nil {
		return nil
	}
	root, serr := parseJSON(data)
	if serr != nil {
		return nil
	}
	for _, section := range []string{"dependencies", "devDependencies"} {
		deps := root.get(section)
		if deps == nil {
			continue
		}
		if f := deps.value.get("@azure/functions"); f != nil {
			return &funcd.ConfigError{File: "package.json", Line: f.keyPos.line, Column: f.keyPos.col,
				Field: section + ".@azure/functions",
				Msg:   "package.json depends on @azure/functions: " + notRun("Node.js")}
		}
	}
	return nil
}

// rootFiles finds the files at the root of an app that only language
// workers' apps have.
func (l *loader) rootFiles() *funcd.ConfigError {
	entries, err := fs.ReadDir(l.fsys, ".")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	found := func(value, file string) *funcd.ConfigError {
		return &funcd.ConfigError{File: file, Msg: "a " + file + " at the app root: " + notRun(runtimeName(value))}
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
	return nil
}

// functionScripts finds a function whose script a language worker runs,
// such as index.js or __init__.py.
func (l *loader) functionScripts() *funcd.ConfigError {
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
		return &funcd.ConfigError{File: file, Msg: "the script of function " + fn.Name + ": " + notRun(runtimeName(value))}
	}
	return nil
}

// UnsupportedRuntime returns the error Load recorded for an app written for
// a language worker funcd does not run yet, or nil.
func UnsupportedRuntime(app *funcd.App) *funcd.ConfigError {
	for _, e := range app.Errors {
		if strings.HasSuffix(e.Msg, supportedRuntimes) {
			return e
		}
	}
	return nil
}
