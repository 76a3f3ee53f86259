package langworker

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/workerconfig"
)

// BuildGoApp builds a Go app (FUNCTIONS_WORKER_RUNTIME=golang) whose binary
// is missing or older than its sources: `go build -o <binary> .` in the
// app's folder, the binary being FUNCTIONS_APP_BINARY_NAME or "app". An app
// without .go files at its root (only its binary is deployed), or whose
// binary name is an absolute path, is taken as built. Only the sources under
// the app's folder are compared with the binary. A failed build is an error
// that holds the compiler's output.
func BuildGoApp(ctx context.Context, app *funcd.App, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	name := strings.TrimSpace(app.Settings[workerconfig.AppBinarySetting])
	if name == "" {
		name = "app"
		if runtime.GOOS == "windows" {
			name = "app.exe"
		}
	}
	if filepath.IsAbs(name) {
		return nil
	}
	if goFiles, _ := filepath.Glob(filepath.Join(app.Root, "*.go")); len(goFiles) == 0 {
		return nil
	}
	bin := filepath.Join(app.Root, name)
	built, err := os.Stat(bin)
	if err == nil {
		newest, src, err := newestSource(app.Root, bin)
		if err != nil {
			return fmt.Errorf("cannot check whether the Go app in %s needs building: %w", app.Root, err)
		}
		if !newest.After(built.ModTime()) {
			return nil
		}
		log.Info(fmt.Sprintf("Building the Go app: %s is newer than %s.", src, name))
	} else {
		log.Info(fmt.Sprintf("Building the Go app: %s does not exist yet.", name))
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		if built != nil {
			log.Warn(fmt.Sprintf("The Go app's sources are newer than %s, but the go command is not installed: running the binary as it is.", name))
			return nil
		}
		return &funcd.ConfigError{File: name, Field: workerconfig.AppBinarySetting,
			Msg:  "the Go app's binary " + bin + " does not exist, and the go command to build it is not installed",
			Hint: "Install Go (https://go.dev/dl/), or build the app elsewhere: go build -o " + name + " ."}
	}
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", name, ".")
	cmd.Dir = app.Root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return &funcd.Error{Code: funcd.EINVALID,
			Message: fmt.Sprintf("cannot build the Go app in %s (go build -o %s .: %v):\n%s", app.Root, name, err, strings.TrimSpace(out.String()))}
	}
	log.Info(fmt.Sprintf("Built the Go app in %v.", time.Since(start).Round(time.Millisecond)))
	return nil
}

// newestSource returns the modification time of the newest file under
// root that goes into a Go build (.go files but tests, go.mod, go.sum,
// embedded assets are not followed), skipping hidden folders, testdata,
// node_modules and the binary itself.
func newestSource(root, bin string) (time.Time, string, error) {
	var newest time.Time
	var newestPath string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if path == bin {
			return nil
		}
		if !(strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) && name != "go.mod" && name != "go.sum" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
			newestPath, _ = filepath.Rel(root, path)
		}
		return nil
	})
	return newest, newestPath, err
}
