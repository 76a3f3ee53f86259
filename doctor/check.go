package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/host"
)

// Files of an app that Check reads.
const (
	hostFile  = "host.json"
	localFile = "local.settings.json"
)

// checker holds what one Check has read so far.
type checker struct {
	root    string // absolute app folder
	fsys    fs.FS
	environ []string // the process environment, as given

	local    *funcd.LocalSettings // nil if unreadable
	localRaw []byte               // local.settings.json, nil if absent
	hostRaw  []byte               // host.json, nil if absent
	env      map[string]string    // environ plus local.settings.json Values
	app      *funcd.App
	fatal    bool // the host would not start
	// blocked is set when no function can run because of an app-level
	// problem: a fatal host.json error, unusable local settings or a
	// broken custom handler.
	blocked bool
	// durableBlocked is set when host.json's Durable Functions settings
	// keep the durable functions from running.
	durableBlocked bool

	report Report
}

// Check reads the app in dir as `funcd start` would with the process
// environment env (KEY=VALUE entries), starts nothing, and reports what keeps
// the app or any of its functions from running, and every function that
// runs.
func Check(dir string, env []string) Report {
	c := &checker{environ: env, report: Report{Dir: dir}}
	if !c.open(dir) {
		return c.report
	}
	c.checkLocalSettings()
	if !c.checkHostFile(c.hasFunctionFolders()) {
		return c.report
	}
	c.load()
	if appconfig.UnsupportedRuntime(c.app) != nil {
		// Its functions do not run on funcd whatever they hold.
		return c.report
	}
	c.checkCustomHandler()
	c.checkFunctions()
	return c.report
}

// add records a finding.
func (c *checker) add(f Finding) { c.report.Findings = append(c.report.Findings, f) }

// addConfigError records a problem appconfig found.
func (c *checker) addConfigError(s Severity, function string, e *funcd.ConfigError) {
	c.add(c.configFinding(s, function, e))
}

// configFinding turns a problem appconfig found into a finding, with the
// paths in its message made relative to the app folder.
func (c *checker) configFinding(s Severity, function string, e *funcd.ConfigError) Finding {
	return Finding{
		Severity: s, Function: function,
		File: e.File, Line: e.Line, Column: e.Column, Field: e.Field,
		Problem: c.relPaths(e.Msg), Fix: c.relPaths(e.Hint),
	}
}

// relPaths drops the app folder from the paths in a message.
func (c *checker) relPaths(msg string) string {
	return strings.ReplaceAll(msg, c.root+string(filepath.Separator), "")
}

// open checks that dir is a folder and prepares to read it.
func (c *checker) open(dir string) bool {
	root, err := filepath.Abs(dir)
	if err == nil {
		var info fs.FileInfo
		if info, err = os.Stat(root); err == nil && !info.IsDir() {
			err = errors.New("not a folder")
		}
	}
	if err != nil {
		c.add(Finding{Severity: Error, Problem: fmt.Sprintf("cannot read the app folder %s: %v", dir, err),
			Fix: "run funcd doctor in the app folder, or pass it with --script-root"})
		return false
	}
	c.root, c.fsys = root, os.DirFS(root)
	return true
}

// hasFunctionFolders reports whether a folder of the app holds a
// function.json.
func (c *checker) hasFunctionFolders() bool {
	matches, _ := fs.Glob(c.fsys, "*/function.json")
	return len(matches) > 0
}

// checkLocalSettings reads local.settings.json and builds the app's
// environment from it.
func (c *checker) checkLocalSettings() {
	c.localRaw, _ = fs.ReadFile(c.fsys, localFile)
	local, err := appconfig.ReadLocalSettings(c.fsys, localFile)
	if err != nil {
		// funcd start stops on any problem with local.settings.json,
		// including settings it cannot decrypt.
		c.addError("", err, fmt.Sprintf("fix %s; funcd start stops on it", localFile))
		c.blocked = true
	}
	c.local = local
	c.env, _ = appconfig.Environ(c.environ, c.local)
}

// addError records an error, located if it is a *funcd.ConfigError.
func (c *checker) addError(function string, err error, fix string) {
	if e, ok := errors.AsType[*funcd.ConfigError](err); ok {
		if e.Hint == "" {
			e.Hint = fix
		}
		c.addConfigError(Error, function, e)
		return
	}
	c.add(Finding{Severity: Error, Function: function, Problem: err.Error(), Fix: fix})
}

// checkHostFile reports a missing host.json. It returns false when there is
// nothing more to check: no host.json and no functions either.
func (c *checker) checkHostFile(haveFunctions bool) bool {
	var err error
	c.hostRaw, err = fs.ReadFile(c.fsys, hostFile)
	if err == nil {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		c.add(Finding{Severity: Error, File: hostFile, Problem: err.Error(), Fix: "make host.json readable"})
		return true
	}
	c.blocked = true
	f := Finding{Severity: Error, File: hostFile,
		Problem: "there is no host.json: this is not a function app folder",
		Fix:     "run funcd doctor in the app folder (or pass --script-root), or create an app with funcd init --worker-runtime custom"}
	if haveFunctions {
		f.Problem = "there is no host.json, so there is no customHandler section to run the functions with"
		f.Fix = "create host.json with a customHandler section: funcd init --worker-runtime custom writes one (and leaves existing files alone)"
	}
	c.add(f)
	return haveFunctions
}

// load reads the app with appconfig and records the host-level problems.
func (c *checker) load() {
	app, err := appconfig.Load(c.fsys, appconfig.Options{Root: c.root, Env: c.env, KnownBindings: knownBindings})
	host.CheckBindings(app, c.local)
	c.app, c.fatal = app, err != nil
	for _, e := range app.Errors {
		c.addConfigError(Error, "", e)
	}
	if c.fatal && appconfig.UnsupportedRuntime(app) == nil {
		c.blocked = true
		c.add(Finding{Severity: Error,
			Problem: "because of the host configuration error above, the host does not start and no function runs",
			Fix:     "fix that error first"})
	}
	if e := host.CheckDurable(app); e != nil {
		c.addConfigError(Error, "", e)
		c.durableBlocked = true
	}
	for _, w := range app.Warnings {
		if c.hostRaw == nil && w.File == hostFile && w.Field == "" {
			continue // the missing host.json is reported already
		}
		c.addConfigError(Warning, "", w)
	}
}
