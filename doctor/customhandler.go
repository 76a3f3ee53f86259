package doctor

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/funcd/funcd"
)

// checkCustomHandler reports a missing customHandler section, a working
// directory that does not exist and a handler program that cannot be run.
func (c *checker) checkCustomHandler() {
	ch := c.app.Host.CustomHandler
	if ch == nil && c.app.WorkerRuntime != "" {
		c.checkLanguageWorker()
		return
	}
	if ch == nil {
		if len(c.app.Functions) > 0 && c.hostRaw != nil && !c.fatal {
			c.blocked = true
			c.add(Finding{Severity: Error, File: hostFile,
				Problem: "host.json has no customHandler section: funcd runs functions through a custom handler only, for now",
				Fix:     `add "customHandler": {"description": {"defaultExecutablePath": "<your handler program>"}} to host.json`})
		}
		return
	}
	if !c.checkWorkingDirectory(ch) {
		return
	}
	c.checkExecutable(ch)
}

// section returns the name of the custom handler's host.json section.
func section(ch *funcd.CustomHandler) string {
	if ch.Legacy {
		return "httpWorker"
	}
	return "customHandler"
}

// at returns a finding located at a property of the custom handler's
// description in host.json.
func (c *checker) at(ch *funcd.CustomHandler, property string) Finding {
	f := Finding{Severity: Error, File: hostFile, Field: section(ch) + ".description." + property}
	f.Line, f.Column = position(c.hostRaw, section(ch), "description", property)
	return f
}

// checkWorkingDirectory reports a workingDirectory that is not a folder.
func (c *checker) checkWorkingDirectory(ch *funcd.CustomHandler) bool {
	info, err := os.Stat(ch.WorkingDirectory)
	if err == nil && info.IsDir() {
		return true
	}
	f := c.at(ch, "workingDirectory")
	f.Problem = fmt.Sprintf("the working directory %q does not exist", c.rel(ch.WorkingDirectory))
	if err == nil {
		f.Problem = fmt.Sprintf("the working directory %q is not a folder", c.rel(ch.WorkingDirectory))
	}
	f.Fix = `create the folder, or fix "workingDirectory" (relative to the app folder; "" is the app folder)`
	c.add(f)
	c.blocked = true
	return false
}

// checkExecutable reports a handler program that does not exist or cannot
// be executed.
func (c *checker) checkExecutable(ch *funcd.CustomHandler) {
	exe := ch.DefaultExecutablePath
	path := c.findExecutable(ch)
	f := c.at(ch, "defaultExecutablePath")
	var info fs.FileInfo
	var err error
	if path != "" {
		info, err = os.Stat(path)
	}
	switch {
	case path == "" || err != nil:
		f.Problem = fmt.Sprintf("the custom handler program %q does not exist in the app folder%s and is not on PATH",
			c.rel(exe), c.inWorkingDirectory(ch))
		f.Fix = c.buildFix(exe)
	case info.IsDir():
		f.Problem = fmt.Sprintf("the custom handler program %q is a folder", c.rel(path))
		f.Fix = `point "defaultExecutablePath" at the handler program itself`
	case runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0:
		f.Problem = fmt.Sprintf("the custom handler program %q is not executable", c.rel(path))
		f.Fix = "make it executable: chmod +x " + c.rel(path)
	default:
		return
	}
	c.add(f)
	c.blocked = true
}

// inWorkingDirectory names the working directory when it is not the app
// folder, for messages.
func (c *checker) inWorkingDirectory(ch *funcd.CustomHandler) string {
	if filepath.Clean(ch.WorkingDirectory) == c.root {
		return ""
	}
	return fmt.Sprintf(" nor in its working directory %q", c.rel(ch.WorkingDirectory))
}

// findExecutable returns the path of the handler program as funcd will run
// it: absolute as loaded, under the working directory or the app folder, or
// found in PATH when the name has no folder; "" if none exists.
func (c *checker) findExecutable(ch *funcd.CustomHandler) string {
	exe := ch.DefaultExecutablePath
	if filepath.IsAbs(exe) {
		return exe
	}
	for _, dir := range []string{ch.WorkingDirectory, c.root} {
		if p := filepath.Join(dir, exe); exists(p) {
			return p
		}
	}
	if strings.ContainsRune(exe, '/') || strings.ContainsRune(exe, filepath.Separator) {
		return ""
	}
	for _, dir := range filepath.SplitList(c.env["PATH"]) {
		if p := filepath.Join(dir, exe); dir != "" && filepath.IsAbs(dir) && exists(p) {
			return p
		}
	}
	return ""
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// rel shows a path relative to the app folder when it lies under it.
func (c *checker) rel(path string) string {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(path)
	}
	r, err := filepath.Rel(c.root, path)
	if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return path
	}
	return filepath.ToSlash(r)
}

// checkLanguageWorker reports the language worker that runs the app and
// whether its program can be found: node for Node.js apps, the go command
// or the app's binary for Go apps.
func (c *checker) checkLanguageWorker() {
	rt := c.app.WorkerRuntime
	c.report.WorkerIndexed = (rt == "node" || rt == "golang") && len(c.app.Functions) == 0
	switch rt {
	case "node":
		if _, err := exec.LookPath("node"); err != nil {
			c.add(Finding{Severity: Error, Field: "FUNCTIONS_WORKER_RUNTIME",
				Problem: "the app runs on funcd's Node.js worker, and node is not on PATH",
				Fix:     "install Node.js 20 or later (https://nodejs.org)"})
			return
		}
		c.add(Finding{Severity: OK, Field: "FUNCTIONS_WORKER_RUNTIME",
			Problem: "the app runs on funcd's Node.js worker, which indexes its functions when it starts (funcd start lists them)"})
	case "golang":
		bin := c.app.Settings["FUNCTIONS_APP_BINARY_NAME"]
		if bin == "" {
			bin = "app"
		}
		if !filepath.IsAbs(bin) {
			bin = filepath.Join(c.app.Root, bin)
		}
		_, binErr := os.Stat(bin)
		_, goErr := exec.LookPath("go")
		if binErr != nil && goErr != nil {
			c.add(Finding{Severity: Error, Field: "FUNCTIONS_WORKER_RUNTIME",
				Problem: "the Go app's binary " + bin + " does not exist, and the go command to build it is not on PATH",
				Fix:     "install Go, or build the app: go build -o app ."})
			return
		}
		c.add(Finding{Severity: OK, Field: "FUNCTIONS_WORKER_RUNTIME",
			Problem: "the app is a Go app: funcd start builds it when its binary is missing or older than its sources, and it indexes its functions when it starts"})
	default:
		c.add(Finding{Severity: OK, Field: "FUNCTIONS_WORKER_RUNTIME",
			Problem: "the app runs on the installed " + rt + " language worker"})
	}
}
