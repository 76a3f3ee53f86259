package appconfig

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/funcd/funcd"
)

// addGoldenSeeds adds every file with the given name under testdata/apps
// to the corpus.
func addGoldenSeeds(f *testing.F, name string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "apps", "*", name))
	more, _ := filepath.Glob(filepath.Join("testdata", "apps", "*", "*", name))
	for _, file := range append(files, more...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkErrors requires every error to name a file or a setting, and a
// position to have both a line and a column.
func checkErrors(t *testing.T, errs []*funcd.ConfigError) {
	t.Helper()
	for _, e := range errs {
		if e.File == "" && e.Field == "" {
			t.Errorf("error names neither a file nor a field: %v", e)
		}
		if e.Msg == "" || e.Hint == "" {
			t.Errorf("error without message or hint: %#v", e)
		}
		if (e.Line > 0) != (e.Column > 0) || e.Line < 0 {
			t.Errorf("error with a partial position: %#v", e)
		}
	}
}

func FuzzFunctionJSON(f *testing.F) {
	addGoldenSeeds(f, "function.json")
	for _, s := range []string{
		``, `{`, `[]`, `{"bindings": null}`, `{"bindings": [null]}`,
		`{"bindings": [{"type": "httpTrigger", "direction": 1, "name": "req", "route": "{a}/{*b}", "methods": [null, 5]}]}`,
		`{"bindings": [{"type": "timerTrigger", "name": "t", "schedule": "%X%%Y%%"}], "scriptFile": "/abs.js"}`,
		"{\"bindings\": [{\"type\": \"httpTrigger\", \"name\": \"r\u00e9\", \"dataType\": 7}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"host.json":       &fstest.MapFile{Data: []byte(`{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "h"}}}`)},
			"f/function.json": &fstest.MapFile{Data: data},
			"g/function.json": &fstest.MapFile{Data: data},
		}
		app, err := Load(fsys, Options{Root: "/app", Env: map[string]string{"X": "1"}, KnownBindings: knownFunc(goldenKnown)})
		if err != nil {
			t.Fatalf("a function.json made Load fail: %v", err)
		}
		if len(app.Functions) != 2 {
			t.Fatalf("%d functions, want 2", len(app.Functions))
		}
		for _, fn := range app.Functions {
			if !json.Valid(fn.Config) {
				t.Errorf("%s: Config is not valid JSON: %q", fn.Name, fn.Config)
			}
			checkErrors(t, fn.Errors)
			for _, e := range fn.Errors {
				if e.File != fn.ConfigFile {
					t.Errorf("%s: error in file %q: %v", fn.Name, e.File, e)
				}
			}
		}
		_, serr := parseJSON(data)
		if serr != nil && json.Valid(data) && !strings.Contains(serr.msg, "MaxDepth") {
			t.Errorf("encoding/json accepts what parseJSON rejects: %v", serr)
		}
		if serr != nil {
			fn := app.Functions[0]
			if len(fn.Errors) != 1 || fn.Errors[0].Line <= 0 {
				t.Errorf("syntax error %v not reported at a position: %v", serr, fn.Errors)
			}
		} else if json.Valid(data) && app.Functions[0].OK() {
			checkBindingsMatch(t, data, app.Functions[0])
		}
	})
}

// checkBindingsMatch compares what Load kept of a function.json that
// loaded with what encoding/json reads from it.
func checkBindingsMatch(t *testing.T, data []byte, fn *funcd.Function) {
	var doc struct {
		Bindings []map[string]any `json:"bindings"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return // duplicate keys of other cases and the like
	}
	if len(doc.Bindings) != len(fn.Bindings) {
		t.Errorf("%d bindings, encoding/json reads %d", len(fn.Bindings), len(doc.Bindings))
	}
}

func FuzzHostJSON(f *testing.F) {
	addGoldenSeeds(f, "host.json")
	for _, s := range []string{
		``, `{}`, `[]`, `{"version": 2.0}`, `{"version": {}}`, `{"version": "2.0", "functionTimeout": null}`,
		`{"version": "2.0", "functions": "hello", "extensions": {"http": {"customHeaders": {"a": {"b": 1}}}}}`,
		`{"version": "2.0", "customHandler": {"description": null}, "httpWorker": []}`,
		`{"version": "2.0", "logging": {"logLevel": {"a": null, "b": 3}}, "extensionBundle": {"id": "a..b", "version": "(,)"}}`,
	} {
		f.Add([]byte(s))
	}
	hello := []byte(`{"bindings": [{"type": "httpTrigger", "direction": "in", "name": "req"}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"host.json":           &fstest.MapFile{Data: data},
			"hello/function.json": &fstest.MapFile{Data: hello},
		}
		env := map[string]string{"AzureFunctionsJobHost__extensions__http__routePrefix": "x"}
		app, err := Load(fsys, Options{Root: "/app", Env: env})
		if app == nil {
			t.Fatal("nil app")
		}
		checkErrors(t, app.Errors)
		checkErrors(t, app.Warnings)
		if err != nil {
			var ce *funcd.ConfigError
			if !errors.As(err, &ce) || ce != app.Errors[0] {
				t.Errorf("error %v is not App.Errors[0]", err)
			}
		}
		if app.Host.Raw != nil && !json.Valid(app.Host.Raw) {
			t.Errorf("Raw is not valid JSON: %q", app.Host.Raw)
		}
		if _, serr := parseJSON(data); serr != nil {
			ce, ok := errors.AsType[*funcd.ConfigError](err)
			if !ok || ce.File != hostFile || ce.Line <= 0 {
				t.Errorf("syntax error %v reported as %v", serr, err)
			}
		}
		if len(app.Functions) != 1 {
			t.Errorf("%d functions, want 1", len(app.Functions))
		}
		_ = Describe(app)
	})
}
