// Package workerconfig finds and reads the worker.config.json files that
// describe language workers (Node.js, Python, Java, PowerShell, .NET
// isolated, Go), as the Azure Functions host does, and turns the one that
// FUNCTIONS_WORKER_RUNTIME selects into the command line that starts it.
//
// It is pure configuration: it reads files and settings and starts nothing.
// The command line it builds is the executable, then the description's
// arguments (and languageWorkers:<language>:arguments), then the worker
// path; the launcher appends the gRPC flags (--host, --port, --workerId,
// --requestId, --grpcMaxMessageLength and their --functions-* twins).
//
// A worker is found, first match wins, in: the folder named by the setting
// languageWorkers:<language>:workerDirectory, the app's own
// worker.config.json, the folders named by FUNCD_WORKERS_DIR and
// languageWorkers:workersDirectory, the folders given by the caller (funcd's
// own), and the built-in golang description. See docs/COMPATIBILITY.md,
// "Language workers: discovery".
package workerconfig
