package appconfig

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"github.com/funcd/funcd"
)

// Options says how to read an app.
type Options struct {
	// Root is the absolute script root. It is stored in App.Root and used to
	// resolve customHandler paths; fsys is the same folder.
	Root string

	// Env is the app's environment: the process environment plus the
	// local.settings.json Values that were not already set (see Environ).
	Env map[string]string

	// KnownBindings reports whether a binding type is registered; nil means
	// every type is. funcd calls it with the type as written and compares
	// case-insensitively.
	KnownBindings func(typ string) bool

	// AllowList is the --functions flag: when non-empty it replaces host.json
	// "functions".
	AllowList []string

	// WorkerRuntimes reports whether funcd has a language worker for a
	// FUNCTIONS_WORKER_RUNTIME value (lower-case); nil means node and
	// golang, the workers funcd ships. An app for a runtime without one
	// fails to load with an error that says so.
	WorkerRuntimes func(runtime string) bool

	// WorkerFunctions, when not nil, are the functions the app's language
	// worker indexed itself (worker indexing): they replace the function
	// folders, and are checked as function.json would be.
	WorkerFunctions []WorkerFunction

	// Stat reports whether a regular file exists at name, a slash-separated
	// path relative to Root. It decides whether customHandler
	// defaultExecutablePath is made absolute. nil uses fsys.
	Stat func(name string) bool
}

// Load reads the app in fsys: host.json, every function folder and the
// settings in opts. It always returns a non-nil *App, so that doctor and the
// admin API can show what was read. Problems are *funcd.ConfigError values in
// App.Errors, App.Warnings and each Function's Errors.
//
// err is non-nil only when the host would not start at all (host.json
// unreadable, unparsable or of the wrong version, or a host setting that does
// not convert or validate), or when the app is written for a language worker
// funcd does not run yet (see checkRuntime); it is then the first such
// *funcd.ConfigError.
// Functions are still read in that case, with the default host settings where
// the file could not supply them.
func Load(fsys fs.FS, opts Options) (*funcd.App, error) {
	l := &loader{
		fsys:         fsys,
		opts:         opts,
		settings:     newSettingLookup(opts.Env),
		bindingNodes: map[*funcd.Function][]*node{},
		app: &funcd.App{
			Root:     opts.Root,
			Host:     defaultHostConfig(),
			Settings: copyEnv(opts.Env),
		},
	}
	l.loadHost()
	l.checkRuntime()
	l.loadFunctions()
	l.checkScripts()
	l.clearWorkerPositions()
	if l.fatal != nil {
		return l.app, l.fatal
	}
	return l.app, nil
}

// loader holds the state of one Load.
type loader struct {
	fsys     fs.FS
	opts     Options
	settings settingLookup
	app      *funcd.App
	cfg      *config
	fatal    *funcd.ConfigError
	// customMode is the host's "is HTTP worker": a custom handler
	// description exists.
	customMode bool
	// httpTriggers are the HTTP functions in name order, for route checks.
	httpTriggers []*httpTrigger
	// bindingNodes holds each function's binding objects, parallel to its
	// Bindings.
	bindingNodes map[*funcd.Function][]*node
}

// hostError records a problem that stops the host from starting.
func (l *loader) hostError(e *funcd.ConfigError) {
	l.app.Errors = append(l.app.Errors, e)
	if l.fatal == nil {
		l.fatal = e
	}
}

// warn records a problem that changes nothing.
func (l *loader) warn(e *funcd.ConfigError) {
	l.app.Warnings = append(l.app.Warnings, e)
}

// stat reports whether a regular file exists at the OS path p, when p lies
// under the root.
func (l *loader) stat(p string) bool {
	name, ok := l.relToRoot(p)
	if !ok {
		return false
	}
	if l.opts.Stat != nil {
		return l.opts.Stat(name)
	}
	info, err := fs.Stat(l.fsys, name)
	return err == nil && info.Mode().IsRegular()
}

// relToRoot turns an OS path into a slash-separated name relative to the
// root, if it lies under it.
func (l *loader) relToRoot(p string) (string, bool) {
	rel := p
	if filepath.IsAbs(p) || l.opts.Root != "" {
		r, err := filepath.Rel(l.opts.Root, p)
		if err != nil {
			return "", false
		}
		rel = r
	}
	rel = filepath.ToSlash(filepath.Clean(rel))
	if !fs.ValidPath(rel) {
		return "", false
	}
	return rel, true
}

// hostPath is the path of a file under the root as the real host prints it.
func (l *loader) hostPath(name string) string {
	if l.opts.Root == "" {
		return name
	}
	return filepath.Join(l.opts.Root, filepath.FromSlash(name))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func copyEnv(env map[string]string) map[string]string {
	out := make(map[string]string, len(env))
	for k, v := range env {
		out[k] = v
	}
	return out
}

// settingLookup finds app settings the way .NET configuration does: names
// are case-insensitive and "__" in an environment variable is ':'.
type settingLookup map[string]string

func newSettingLookup(env map[string]string) settingLookup {
	s := settingLookup{}
	for _, name := range sortedKeys(env) {
		s[normalizeSettingName(name)] = env[name]
	}
	return s
}

func normalizeSettingName(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, "__", ":"))
}

// get returns the setting's value and whether it is set.
func (s settingLookup) get(name string) (string, bool) {
	v, ok := s[normalizeSettingName(name)]
	return v, ok
}

// enabled reports whether a setting is "1" or "true" (any case), as
// IConfiguration.IsSettingEnabled does.
func (s settingLookup) enabled(name string) bool {
	v, _ := s.get(name)
	return v == "1" || strings.EqualFold(v, "true")
}

// rawJSON returns data if it is strict JSON, else the tree re-encoded, so
// that a file with comments or trailing commas still yields valid JSON.
func rawJSON(data []byte, n *node) json.RawMessage {
	if json.Valid(data) {
		return json.RawMessage(data)
	}
	var b strings.Builder
	writeJSON(&b, n)
	return json.RawMessage(b.String())
}

func writeJSON(b *strings.Builder, n *node) {
	switch n.kind {
	case kindNull:
		b.WriteString("null")
	case kindBool, kindNumber:
		b.WriteString(n.text)
	case kindString:
		s, _ := json.Marshal(n.text)
		b.Write(s)
	case kindObject:
		b.WriteByte('{')
		for i, f := range n.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(f.key)
			b.Write(k)
			b.WriteByte(':')
			writeJSON(b, f.value)
		}
		b.WriteByte('}')
	case kindArray:
		b.WriteByte('[')
		for i, item := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, item)
		}
		b.WriteByte(']')
	}
}
