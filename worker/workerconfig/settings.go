package workerconfig

import (
	"regexp"
	"strings"
)

// Setting names.
const (
	// RuntimeSetting selects the worker by its language, ignoring case.
	RuntimeSetting = "FUNCTIONS_WORKER_RUNTIME"
	// RuntimeVersionSetting replaces the description's
	// defaultRuntimeVersion (through sanitizeRuntimeVersionRegex) and fills
	// %FUNCTIONS_WORKER_RUNTIME_VERSION% in defaultWorkerPath.
	RuntimeVersionSetting = "FUNCTIONS_WORKER_RUNTIME_VERSION"
	// ProcessCountSetting overrides processOptions.processCount (values
	// below 1 count as 1).
	ProcessCountSetting = "FUNCTIONS_WORKER_PROCESS_COUNT"
	// WorkersDirSetting names one more folder of worker folders, searched
	// before funcd's own. It is funcd's; the host's
	// languageWorkers:workersDirectory is honoured the same way.
	WorkersDirSetting = "FUNCD_WORKERS_DIR"
	// AppBinarySetting names the Go app's binary in the app's folder
	// ("app", or "app.exe" on Windows, by default), as the Go worker's
	// proxy reads it.
	AppBinarySetting = "FUNCTIONS_APP_BINARY_NAME"

	// LanguageWorkersSection is the host's configuration section of
	// language worker settings: languageWorkers:workersDirectory,
	// languageWorkers:<language>:workerDirectory, :defaultExecutablePath,
	// :defaultRuntimeVersion and :arguments. An environment variable or app
	// setting spells ':' as "__" (languageWorkers__node__arguments); names
	// ignore case, as .NET configuration keys do.
	LanguageWorkersSection = "languageWorkers"

	// WorkerDirectoryEnv, ApplicationDirectoryEnv are set in the worker's
	// environment: its own folder and the app's.
	WorkerDirectoryEnv      = "FUNCTIONS_WORKER_DIRECTORY"
	ApplicationDirectoryEnv = "FUNCTIONS_APPLICATION_DIRECTORY"
)

// Placeholders in a description.
const (
	// OSPlaceholder in defaultWorkerPath becomes LINUX, OSX or WINDOWS.
	OSPlaceholder = "{os}"
	// ArchitecturePlaceholder in defaultWorkerPath becomes X64, X86, Arm64,
	// Arm (.NET's Architecture names).
	ArchitecturePlaceholder = "{architecture}"
	// RuntimeVersionPlaceholder in defaultWorkerPath becomes the runtime
	// version.
	RuntimeVersionPlaceholder = "%" + RuntimeVersionSetting + "%"
	// WorkerDirectoryPlaceholder in arguments and executableWorkingDirectory
	// becomes the worker's folder.
	WorkerDirectoryPlaceholder = "{workerDirectoryPath}"
	// ScriptRootPlaceholder becomes the app's folder, in
	// defaultExecutablePath, defaultWorkerPath, arguments and
	// executableWorkingDirectory (the Go worker's worker.config.json uses
	// it).
	ScriptRootPlaceholder = "{AzureWebJobsScriptRoot}"
)

// Settings is the configuration discovery reads: the app's settings and the
// environment, looked up as .NET configuration does (ignoring case, "__"
// for ':').
type Settings map[string]string

// Get returns the value of the setting key ("languageWorkers:node:arguments"
// finds languageWorkers__node__arguments too), and whether it is set. An
// exact name wins over a differently spelled one.
func (s Settings) Get(key string) (string, bool) {
	if v, ok := s[key]; ok {
		return v, true
	}
	want := normalizeKey(key)
	var best string
	found := false
	for k := range s {
		if normalizeKey(k) == want && (!found || k < best) {
			best, found = k, true
		}
	}
	if !found {
		return "", false
	}
	return s[best], true
}

// Value returns the setting's value, "" when it is not set.
func (s Settings) Value(key string) string {
	v, _ := s.Get(key)
	return v
}

func normalizeKey(k string) string {
	return strings.ToUpper(strings.ReplaceAll(k, "__", ":"))
}

// languageSetting returns languageWorkers:<language>:<name>.
func (s Settings) languageSetting(language, name string) (string, bool) {
	return s.Get(LanguageWorkersSection + ":" + language + ":" + name)
}

// splitArguments splits a languageWorkers:<language>:arguments value as the
// host does, on runs of white space (Regex.Split with \s+; an empty piece at
// either end disappears when the command line is joined and split again).
var whiteSpace = regexp.MustCompile(`\s+`)

func splitSettingArguments(v string) []string { return whiteSpace.Split(v, -1) }
