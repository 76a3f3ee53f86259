package appconfig

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// defaultInitializationTimeout is HttpWorkerOptions.InitializationTimeout's
// default.
const defaultInitializationTimeout = 30 * time.Second

// loadCustomHandler reads host.json "customHandler" (or the legacy
// "httpWorker") as HttpWorkerOptionsSetup does. A section counts only when
// it has a value or children, so "customHandler": {} is no custom handler.
func (l *loader) loadCustomHandler() {
	hasCustom, hasLegacy := l.cfg.exists("customHandler"), l.cfg.exists("httpWorker")
	section := "customHandler"
	switch {
	case hasCustom && hasLegacy:
		l.warn(l.cfg.errorAt("httpWorker",
			"Both httpWorker and customHandler sections are spefified in host.json file. customHandler takes precedence.",
			`Remove the "httpWorker" section.`))
	case hasLegacy:
		section = "httpWorker"
		l.warn(l.cfg.errorAt("httpWorker",
			"Section httpWorker will be deprecated. Please use customHandler section.",
			`Rename "httpWorker" to "customHandler"; note that customHandler forwards requests only with "enableForwardingHttpRequest": true.`))
	case !hasCustom:
		return
	}
	// Functions need no script file once a description exists, even when
	// the rest of the section is wrong.
	l.customMode = l.hasSectionChildren(section + ":description")
	if ch := l.bindCustomHandler(section); ch != nil {
		ch.Legacy = section == "httpWorker"
		l.app.Host.CustomHandler = ch
	}
}

// bindCustomHandler binds one custom handler section and resolves its paths.
// It returns nil when the section has no usable description.
func (l *loader) bindCustomHandler(section string) *funcd.CustomHandler {
	desc := section + ":description"
	if !l.customMode {
		l.hostError(l.cfg.errorAt(section, "Missing worker Description.",
			`Add "description": {"defaultExecutablePath": "<your handler>"} to the `+section+` section.`))
		return nil
	}
	ch := &funcd.CustomHandler{InitializationTimeout: defaultInitializationTimeout}
	l.bindBool(section+":enableForwardingHttpRequest", &ch.EnableForwardingHttpRequest)
	l.bindBool(section+":enableProxyingHttpRequest", &ch.EnableProxyingHttpRequest)
	l.bindTimeSpan(section+":initializationTimeout", &ch.InitializationTimeout)

	ch.DefaultExecutablePath = l.cfg.value(desc + ":defaultExecutablePath")
	ch.DefaultWorkerPath = l.cfg.value(desc + ":defaultWorkerPath")
	ch.Arguments = l.cfg.argumentList(desc + ":arguments")
	ch.WorkerArguments = l.cfg.argumentList(desc + ":workerArguments")

	// ApplyDefaultsAndValidate: the executable is looked for under the worker
	// directory (the app root unless description.workerDirectory says
	// otherwise) after expanding %VARIABLES%.
	workerDir := l.underRoot(l.cfg.value(desc + ":workerDirectory"))
	ch.DefaultWorkerPath = l.expandEnv(ch.DefaultWorkerPath)
	ch.DefaultExecutablePath = l.expandEnv(ch.DefaultExecutablePath)
	if exe := ch.DefaultExecutablePath; exe != "" && !filepath.IsAbs(exe) {
		if full := filepath.Join(workerDir, exe); l.stat(full) {
			ch.DefaultExecutablePath = full
		}
	}
	if ch.DefaultExecutablePath == "" {
		l.hostError(l.cfg.errorAt(desc+":defaultExecutablePath", "WorkerDescription DefaultExecutablePath cannot be empty",
			`Set "defaultExecutablePath" to the handler program, relative to the app root or on PATH.`))
		return nil
	}
	ch.WorkingDirectory = l.underRoot(l.cfg.value(desc + ":workingDirectory"))
	for i, arg := range ch.Arguments {
		ch.Arguments[i] = l.expandEnv(arg)
	}
	for i, arg := range ch.WorkerArguments {
		ch.WorkerArguments[i] = l.expandEnv(arg)
	}
	return ch
}

// hasSectionChildren reports whether key is an object with properties: the
// binder creates the description only then.
func (l *loader) hasSectionChildren(key string) bool {
	return len(l.cfg.children(key)) > 0
}

// underRoot joins a relative path to the root; "" is the root itself.
func (l *loader) underRoot(p string) string {
	switch {
	case p == "":
		return l.opts.Root
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(l.opts.Root, p)
}

// value returns the configuration value at key, or "".
func (c *config) value(key string) string {
	if e := c.get(key); e != nil {
		return e.value
	}
	return ""
}

// argumentList binds an argument list: a JSON array, or a string holding a
// JSON array of strings (which the host also accepts).
func (c *config) argumentList(key string) []string {
	if e := c.get(key); e != nil {
		var list []string
		if json.Unmarshal([]byte(e.value), &list) == nil {
			return list
		}
	}
	return c.stringList(key)
}

// expandEnv replaces %NAME% with the value of the environment variable
// NAME, as Environment.ExpandEnvironmentVariables does on Linux: names are
// case-sensitive and unknown references stay as written (the worker expands
// the ones it defines, such as %FUNCTIONS_CUSTOMHANDLER_PORT%, at launch).
func (l *loader) expandEnv(s string) string {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '%')
		if start < 0 {
			break
		}
		end := strings.IndexByte(s[start+1:], '%')
		if end < 0 {
			break
		}
		end += start + 1
		name := s[start+1 : end]
		if v, ok := l.opts.Env[name]; ok && name != "" {
			b.WriteString(s[:start])
			b.WriteString(v)
			s = s[end+1:]
			continue
		}
		// Not a variable: keep the first '%' and look again from the second.
		b.WriteString(s[:end])
		s = s[end:]
	}
	b.WriteString(s)
	return b.String()
}
