package workerconfig

import (
	"path/filepath"
	"time"
)

// GolangLanguage is FUNCTIONS_WORKER_RUNTIME for apps built on the Go
// worker.
const GolangLanguage = "golang"

// Golang is funcd's built-in description of the Go worker, which ships no
// worker.config.json of its own outside Azure: the worker is the app's own
// binary in the app's folder, started directly, and it indexes its functions
// itself. binary is the binary's name: "" for "app" ("app.exe" when goos is
// "windows"); FUNCTIONS_APP_BINARY_NAME sets it in Resolve. An absolute name
// is used as it is.
//
// Resolve uses it when no worker.config.json serves "golang"; an app's own
// worker.config.json (the Go worker's documented layout) comes first.
func Golang(goos, binary string) *Config {
	if binary == "" {
		binary = "app"
		if goos == "windows" {
			binary = "app.exe"
		}
	}
	exe := ScriptRootPlaceholder + "/" + binary
	if filepath.IsAbs(binary) {
		exe = binary
	}
	po := DefaultProcessOptions()
	po.InitializationTimeout = 2 * time.Minute
	po.EnvironmentReloadTimeout = 2 * time.Minute
	return &Config{
		Description: Description{
			Language:                  GolangLanguage,
			Extensions:                []string{},
			DefaultExecutablePath:     exe,
			WorkerIndexing:            "true",
			SupportedOperatingSystems: []string{"LINUX", "OSX", "WINDOWS"},
			SupportedArchitectures:    []string{"X64", "X86", "Arm64"},
		},
		ProcessOptions: po,
	}
}
