package appconfig

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/funcd/funcd"
)

func TestLoadUsesStat(t *testing.T) {
	fsys := fstest.MapFS{
		"host.json": &fstest.MapFile{Data: []byte(`{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "bin/handler", "workerDirectory": "dist"}}}`)},
	}
	var asked []string
	stat := func(name string) bool {
		asked = append(asked, name)
		return name == "dist/bin/handler"
	}
	app, err := Load(fsys, Options{Root: "/srv/app", Stat: stat})
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Host.CustomHandler.DefaultExecutablePath; got != "/srv/app/dist/bin/handler" {
		t.Errorf("executable = %q", got)
	}
	if len(asked) != 1 || asked[0] != "dist/bin/handler" {
		t.Errorf("Stat asked for %q", asked)
	}
}

func TestLoadExecutableOutsideRootIsKept(t *testing.T) {
	fsys := fstest.MapFS{
		"host.json": &fstest.MapFile{Data: []byte(`{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "../handler"}}}`)},
	}
	app, err := Load(fsys, Options{Root: "/srv/app", Stat: func(string) bool { t.Error("Stat called for a path outside the root"); return true }})
	if err != nil {
		t.Fatal(err)
	}
	if got := app.Host.CustomHandler.DefaultExecutablePath; got != "../handler" {
		t.Errorf("executable = %q", got)
	}
}

func TestLoadEmptyFS(t *testing.T) {
	app, err := Load(fstest.MapFS{}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if app.Host.HTTP.RoutePrefix != "api" || len(app.Functions) != 0 || app.Settings == nil {
		t.Errorf("app = %+v", app)
	}
}

func TestLoadSettingsAreCopied(t *testing.T) {
	env := map[string]string{"A": "1"}
	app, _ := Load(fstest.MapFS{}, Options{Env: env})
	app.Settings["A"] = "2"
	if env["A"] != "1" {
		t.Error("Load shares the caller's environment map")
	}
}

func TestLoadFatalErrorIsFirstHostError(t *testing.T) {
	fsys := fstest.MapFS{"host.json": &fstest.MapFile{Data: []byte(`{"version": "1.0", "functionTimeout": "x"}`)}}
	app, err := Load(fsys, Options{})
	ce, ok := errors.AsType[*funcd.ConfigError](err)
	if !ok || len(app.Errors) != 2 || ce != app.Errors[0] {
		t.Fatalf("err = %v, errors = %v", err, app.Errors)
	}
}

func TestDescribeAttributesLocalSettings(t *testing.T) {
	ls := &funcd.LocalSettings{Values: map[string]string{"AzureFunctionsJobHost__functionTimeout": "00:02:00"}}
	env, _ := Environ(nil, ls)
	fsys := fstest.MapFS{"host.json": &fstest.MapFile{Data: []byte(`{"version": "2.0", "functionTimeout": "00:01:00"}`)}}
	app, err := Load(fsys, Options{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	find := func(settings []Setting) Setting {
		for _, s := range settings {
			if s.Key == "functionTimeout" {
				return s
			}
		}
		return Setting{}
	}
	if s := find(Describe(app, ls)); s.Value != "00:02:00" || s.Source != "local.settings.json" {
		t.Errorf("with local settings: %+v", s)
	}
	if s := find(Describe(app)); s.Source != "AzureFunctionsJobHost__functionTimeout" {
		t.Errorf("without local settings: %+v", s)
	}
}

// The bindings read host.json extensions sections with the
// AzureFunctionsJobHost__extensions__* variables laid over them.
func TestExtensionsWithOverrides(t *testing.T) {
	hostJSON := `{"version": "2.0", "extensions": {"Queues": {"batchSize": 8, "maxDequeueCount": 3}, "blobs": {"maxDegreeOfParallelism": 2}}}`
	fsys := fstest.MapFS{"host.json": &fstest.MapFile{Data: []byte(hostJSON)}}
	app, err := Load(fsys, Options{Env: map[string]string{
		"AzureFunctionsJobHost__extensions__queues__BATCHSIZE":       "4",
		"AzureFunctionsJobHost__extensions__queues__messageEncoding": "none",
		"AzureFunctionsJobHost__extensions__serviceBus__prefetch":    "10",
		"AzureFunctionsJobHost__functionTimeout":                     "00:01:00",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"queues":     `{"batchSize":"4","maxDequeueCount":3,"messageEncoding":"none"}`,
		"blobs":      `{"maxDegreeOfParallelism": 2}`,
		"servicebus": `{"prefetch":"10"}`,
	}
	if len(app.Host.Extensions) != len(want) {
		t.Errorf("sections %v, want %v", app.Host.Extensions, want)
	}
	for name, w := range want {
		if got := string(app.Host.Extensions[name]); got != w {
			t.Errorf("extensions.%s = %s, want %s", name, got, w)
		}
	}
}
