package scaffold

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/template"
)

// SDKModule is the module of funcd's Go SDK, which a Go app's go.mod
// requires.
const SDKModule = "github.com/funcd/funcd"

// develVersion is the version go.mod requires when funcd does not know its
// own (a development build): it resolves only with a replace directive.
const develVersion = "v0.0.0-00010101000000-000000000000"

// GoOptions shape the go.mod of a Go app.
type GoOptions struct {
	// Module is the app's module path; default: the folder's name.
	Module string
	// Version is the SDKModule version to require; default: this funcd's
	// own version, when it was built from a tagged module.
	Version string
	// Replace, if set, is a folder holding funcd's source, for a replace
	// directive (apps built against a checkout).
	Replace string
}

// goAppFiles are the files InitGo writes besides go.mod, in order.
var goAppFiles = []struct{ path, template string }{
	{".gitignore", "goapp/gitignore"},
	{".funcignore", "goapp/funcignore"},
	{"host.json", "goapp/host.json"},
	{"local.settings.json", "goapp/local.settings.json"},
}

// GoBuildCommand builds a Go app into the program the golang worker runs;
// run it in the app folder.
const GoBuildCommand = "go build -o app ."

// InitGo creates a Go SDK app in dir (created if missing): host.json,
// local.settings.json (FUNCTIONS_WORKER_RUNTIME=golang), .gitignore,
// .funcignore, go.mod requiring SDKModule, and main.go with one HTTP
// function, hello. Files that exist are left alone. When funcd does not
// know its own version and o has none nor a Replace, the last line says how
// to point go.mod at the SDK.
func InitGo(dir string, o GoOptions) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if o.Module == "" {
		o.Module = moduleName(dir)
	}
	if o.Version == "" {
		o.Version = sdkVersion()
	}
	var lines []string
	for _, f := range goAppFiles {
		line, err := writeNew(dir, f.path, embedded(f.template))
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
	for _, f := range []struct{ path, template string }{{"go.mod", "goapp/go.mod.tmpl"}, {"main.go", "goapp/main.go.tmpl"}} {
		data, err := render(f.template, o)
		if err != nil {
			return lines, err
		}
		line, err := writeNew(dir, f.path, data)
		if err != nil {
			return lines, err
		}
		lines = append(lines, line)
	}
	if o.Version == develVersion && o.Replace == "" {
		lines = append(lines, "This funcd is a development build and does not know which "+SDKModule+" version to require: "+
			"run `go mod edit -replace "+SDKModule+"=<folder of funcd's source>` or `go get "+SDKModule+"@latest` in "+dir)
	}
	return lines, nil
}

// sdkVersion is this program's version of SDKModule, or develVersion.
func sdkVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return develVersion
	}
	if bi.Main.Path == SDKModule && strings.HasPrefix(bi.Main.Version, "v") {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == SDKModule && strings.HasPrefix(d.Version, "v") {
			return d.Version
		}
	}
	return develVersion
}

// moduleName makes a module path of a folder's name.
func moduleName(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	var b strings.Builder
	for _, r := range strings.ToLower(filepath.Base(abs)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := strings.Trim(b.String(), "-.")
	if name == "" {
		return "app"
	}
	return name
}

func render(name string, data any) ([]byte, error) {
	tmpl, err := template.New(name).Parse(string(embedded(name)))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// isGoApp reports whether dir holds a Go SDK app: a go.mod that requires
// SDKModule (or is it).
func isGoApp(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && bytes.Contains(data, []byte(SDKModule))
}

// GoFunctionFile is the file, relative to the app folder, that New writes
// for a function of a Go app.
func GoFunctionFile(function string) string {
	return strings.ToLower(function) + "_function.go"
}
