package appconfig

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/funcd/funcd"
)

var update = flag.Bool("update", false, "rewrite the want.golden files under testdata/apps")

// goldenRoot is the script root every golden app is loaded with, so paths
// in the goldens do not depend on the checkout.
const goldenRoot = "/app"

// goldenKnown are the binding types the golden apps treat as registered
// unless their options file says otherwise.
var goldenKnown = []string{"httpTrigger", "http", "timerTrigger", "queueTrigger", "queue", "blobTrigger", "blob", "manualTrigger"}

// TestGolden loads each app under testdata/apps and compares a rendering of
// the result with its want.golden. Each app folder may hold, besides the
// app itself:
//
//   - env: KEY=VALUE lines, the process environment;
//   - options: "functions: a b" (the --functions flag) and "known: t1 t2"
//     (the registered binding types; "known: *" means every type).
//
// Run `go test ./appconfig -run TestGolden -update` to rewrite the goldens.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "apps", "*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden apps under testdata/apps")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			got := renderApp(t, dir)
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("result differs from %s (run with -update to accept):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// renderApp loads the app in dir the way funcd start does and renders
// everything a golden checks.
func renderApp(t *testing.T, dir string) string {
	t.Helper()
	fsys := os.DirFS(dir)
	var b strings.Builder

	ls, lsErr := ReadLocalSettings(fsys, "local.settings.json")
	env, skipped := Environ(readLines(t, filepath.Join(dir, "env")), ls)
	opts := Options{Root: goldenRoot, Env: env, KnownBindings: knownFunc(goldenKnown)}
	applyOptionsFile(t, filepath.Join(dir, "options"), &opts)

	app, err := Load(fsys, opts)
	if app == nil {
		t.Fatal("Load returned a nil app")
	}
	if err != nil {
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("Load error is %T, want *funcd.ConfigError", err)
		}
		fmt.Fprintf(&b, "== fatal\n%s\n", renderError(ce))
	}
	renderHost(&b, &app.Host)
	renderErrors(&b, "== host errors", app.Errors)
	renderErrors(&b, "== warnings", app.Warnings)
	b.WriteString("== functions\n")
	for _, fn := range app.Functions {
		renderFunction(&b, fn)
	}
	if _, statErr := fs.Stat(fsys, "local.settings.json"); statErr == nil {
		renderLocalSettings(&b, ls, lsErr, skipped)
	}
	b.WriteString("== describe\n")
	for _, s := range Describe(app, ls) {
		fmt.Fprintf(&b, "%s = %q (%s)\n", s.Key, s.Value, s.Source)
	}
	return b.String()
}

func knownFunc(types []string) func(string) bool {
	return func(typ string) bool {
		return slices.ContainsFunc(types, func(k string) bool { return k == "*" || strings.EqualFold(k, typ) })
	}
}

func applyOptionsFile(t *testing.T, path string, opts *Options) {
	for _, line := range readLines(t, path) {
		key, value, _ := strings.Cut(line, ":")
		switch strings.TrimSpace(key) {
		case "functions":
			opts.AllowList = strings.Fields(value)
		case "known":
			opts.KnownBindings = knownFunc(strings.Fields(value))
		default:
			t.Fatalf("%s: unknown option %q", path, key)
		}
	}
}

// readLines returns the non-empty, non-comment lines of a file, or nothing
// when it does not exist.
func readLines(t *testing.T, path string) []string {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if line := sc.Text(); strings.TrimSpace(line) != "" && !strings.HasPrefix(line, "#") {
			lines = append(lines, line)
		}
	}
	return lines
}

func renderHost(b *strings.Builder, h *funcd.HostConfig) {
	b.WriteString("== host\n")
	fmt.Fprintf(b, "version: %s\n", h.Version)
	fmt.Fprintf(b, "functionTimeout: %s\n", h.FunctionTimeout)
	fmt.Fprintf(b, "functions: %q\n", h.Functions)
	fmt.Fprintf(b, "http: prefix=%q maxConcurrent=%d maxOutstanding=%d dynamicThrottles=%t bodyLimit=%d headers=%s\n",
		h.HTTP.RoutePrefix, h.HTTP.MaxConcurrentRequests, h.HTTP.MaxOutstandingRequests, h.HTTP.DynamicThrottlesEnabled,
		h.HTTP.MaxRequestBodySize, jsonText(h.HTTP.CustomHeaders))
	fmt.Fprintf(b, "logging: fileLoggingMode=%s logLevel=%s\n", h.Logging.FileLoggingMode, jsonText(h.Logging.LogLevel))
	fmt.Fprintf(b, "singleton: listenerLockPeriod=%s\n", h.Singleton.ListenerLockPeriod)
	if h.ExtensionBundle != nil {
		fmt.Fprintf(b, "extensionBundle: id=%q version=%q\n", h.ExtensionBundle.ID, h.ExtensionBundle.Version)
	}
	if ch := h.CustomHandler; ch != nil {
		fmt.Fprintf(b, "customHandler: legacy=%t exe=%q workdir=%q args=%q workerPath=%q workerArgs=%q forwarding=%t proxying=%t initTimeout=%s\n",
			ch.Legacy, ch.DefaultExecutablePath, ch.WorkingDirectory, ch.Arguments, ch.DefaultWorkerPath, ch.WorkerArguments,
			ch.EnableForwardingHttpRequest, ch.EnableProxyingHttpRequest, ch.InitializationTimeout)
	}
	if h.Raw != nil {
		fmt.Fprintf(b, "raw: %s\n", compact(h.Raw))
	}
}

func renderErrors(b *strings.Builder, title string, errs []*funcd.ConfigError) {
	if len(errs) == 0 {
		return
	}
	b.WriteString(title + "\n")
	for _, e := range errs {
		b.WriteString(renderError(e) + "\n")
	}
}

func renderError(e *funcd.ConfigError) string {
	s := e.Error()
	if e.Line == 0 && e.File != "" {
		s += " [no position]"
	}
	return s + "\n    hint: " + e.Hint
}

func renderFunction(b *strings.Builder, fn *funcd.Function) {
	fmt.Fprintf(b, "%s (%s)", fn.Name, fn.ConfigFile)
	if fn.Disabled {
		b.WriteString(" disabled")
	}
	if fn.Excluded {
		b.WriteString(" excluded")
	}
	if fn.NotAllowed {
		b.WriteString(" not-allowed")
	}
	if fn.Unreadable {
		b.WriteString(" unreadable")
	}
	b.WriteString("\n")
	if fn.ScriptFile != "" || fn.EntryPoint != "" {
		fmt.Fprintf(b, "  script=%q entryPoint=%q\n", fn.ScriptFile, fn.EntryPoint)
	}
	for _, bd := range fn.Bindings {
		fmt.Fprintf(b, "  binding %q type=%q direction=%s dataType=%q", bd.Name, bd.Type, bd.Direction, bd.DataType)
		if strings.EqualFold(bd.Type, "httpTrigger") {
			fmt.Fprintf(b, " authLevel=%s methods=%q route=%q", bd.AuthLevel, bd.Methods, bd.Route)
		}
		fmt.Fprintf(b, "\n    properties: %s\n", jsonText(bd.Properties))
	}
	for _, e := range fn.Errors {
		fmt.Fprintf(b, "  error: %s\n", renderError(e))
	}
	fmt.Fprintf(b, "  config: %s\n", compact(fn.Config))
}

func renderLocalSettings(b *strings.Builder, ls *funcd.LocalSettings, err error, skipped []string) {
	b.WriteString("== local.settings.json\n")
	if err != nil {
		var ce *funcd.ConfigError
		if !errors.As(err, &ce) {
			fmt.Fprintf(b, "error of type %T: %v\n", err, err)
		} else {
			fmt.Fprintf(b, "error: %s\n", renderError(ce))
		}
	}
	fmt.Fprintf(b, "isEncrypted=%t values=%s connectionStrings=%s\n", ls.IsEncrypted, jsonText(ls.Values), jsonText(ls.ConnectionStrings))
	fmt.Fprintf(b, "host: %s\n", jsonText(ls.Host))
	fmt.Fprintf(b, "skipped: %q\n", skipped)
}

func jsonText(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "!" + err.Error()
	}
	return string(data)
}

func compact(raw json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "!invalid JSON: " + err.Error()
	}
	return buf.String()
}

// lineDiff shows the first differing lines of two texts.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}
