package scaffold

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Files and folders of an app that Init creates.
const (
	// HandlerDir is the folder of the Go custom handler's source.
	HandlerDir = "handler"
	// HandlerExecutable is the handler program, relative to the app folder,
	// as host.json's customHandler.description.defaultExecutablePath names it.
	HandlerExecutable = "bin/handler"
	// BuildCommand builds the handler; run it in the app folder.
	BuildCommand = "go build -C handler -o ../bin/handler ."
)

// Runtimes are the worker runtimes Init supports.
var Runtimes = []string{"custom", "go"}

// laterRuntimes are the other worker runtimes Core Tools' `func init`
// accepts (with their aliases), which funcd does not scaffold yet.
var laterRuntimes = []string{
	"node", "js", "javascript", "typescript", "ts",
	"dotnet", "dotnet-isolated", "c#", "csharp", "f#", "fsharp",
	"c#-isolated", "csharp-isolated", "f#-isolated", "fsharp-isolated",
	"python", "py", "java", "powershell", "pwsh",
}

// appFiles are the files Init writes for a custom handler app, in order:
// the path in the app and the embedded template.
var appFiles = []struct{ path, template string }{
	{".gitignore", "app/gitignore"},
	{".funcignore", "app/funcignore"},
	{"host.json", "app/host.json"},
	{"local.settings.json", "app/local.settings.json"},
	{HandlerDir + "/go.mod", "app/handler/go.mod.tmpl"},
	{HandlerDir + "/main.go", "app/handler/main.go.tmpl"},
}

// Init creates a function app in dir (created if missing) for the worker
// runtime, "custom" or "go" (alias "golang"; any case). A go app is
// InitGo's with the default GoOptions. A custom app gets host.json with the
// extensionBundle and customHandler sections that Core Tools writes,
// local.settings.json, .gitignore, .funcignore and a Go custom handler in
// handler/ that builds (see BuildCommand) into the executable host.json
// names.
//
// A file that already exists is left alone, as Core Tools does. Init returns
// one line per file in Core Tools' words, "Writing host.json" or "host.json
// already exists. Skipped!", with paths relative to dir.
func Init(dir, runtime string) ([]string, error) {
	if err := checkRuntime(runtime); err != nil {
		return nil, err
	}
	if r := strings.ToLower(runtime); r == "go" || r == "golang" {
		return InitGo(dir, GoOptions{})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the app folder: %w", err)
	}
	var lines []string
	for _, f := range appFiles {
		line, err := writeNew(dir, f.path, embedded(f.template))
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
	return lines, nil
}

// checkRuntime accepts the runtimes Init supports and explains the others.
func checkRuntime(runtime string) error {
	r := strings.ToLower(runtime)
	switch {
	case slices.Contains(Runtimes, r), r == "golang":
		return nil
	case r == "":
		return fmt.Errorf("no worker runtime: use --worker-runtime (options: %s)", strings.Join(Runtimes, ", "))
	case slices.Contains(laterRuntimes, r):
		return fmt.Errorf("worker runtime '%s' is not supported yet by funcd init; supported: %s", runtime, strings.Join(Runtimes, ", "))
	}
	return fmt.Errorf("worker runtime '%s' is not a valid option; supported: %s", runtime, strings.Join(Runtimes, ", "))
}

// writeNew writes data to dir/name unless that file exists, creating parent
// folders, and returns the line that says what it did.
func writeNew(dir, name string, data []byte) (string, error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return name + " already exists. Skipped!", nil
	}
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("writing %s: %w", name, err)
	}
	return "Writing " + name, nil
}
