// Package appconfig reads a function app the way the Azure Functions host
// (v4) and Core Tools read it: host.json with its AzureFunctionsJobHost__*
// overrides, one function.json per function folder, and local.settings.json.
//
// The package is pure: it reads from an fs.FS and an environment map, never
// from the operating system, and writes nothing (the real host writes a
// default host.json when there is none; funcd only uses the defaults).
//
// Every problem is a *funcd.ConfigError naming the file (relative, with
// forward slashes), the 1-based line and column of the offending value, the
// JSON path of the field, the real host's message where it has one, and a
// hint for funcd doctor. A broken function carries its errors and the rest
// of the app still loads; only problems that stop the real host from
// starting (a broken host.json, a host setting that does not convert) make
// Load return an error, and so does an app written for a language worker
// funcd does not run yet (FUNCTIONS_WORKER_RUNTIME=node, a package.json that
// depends on @azure/functions, ...), which would otherwise start with
// functions that cannot run.
//
// Files are parsed as leniently as Json.NET parses them: comments, trailing
// commas, single-quoted strings and unquoted property names are accepted.
// Property names follow the host's lookups, which differ: host.json keys are
// case-insensitive (they go through .NET configuration) except "version";
// function.json's top-level "bindings", "scriptFile" and "entryPoint" are
// case-sensitive while binding properties are not; local.settings.json's
// top-level names are case-sensitive.
package appconfig
