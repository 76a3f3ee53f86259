package scaffold

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/funcd/funcd/appconfig"
)

// TestScaffoldLoads reads an app made by Init and New the way funcd start
// does and expects no problem at all.
func TestScaffoldLoads(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "custom"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hello", "Orders-2"} {
		if _, err := New(dir, "HTTP trigger", name); err != nil {
			t.Fatal(err)
		}
	}
	fsys := os.DirFS(dir)
	local, err := appconfig.ReadLocalSettings(fsys, "local.settings.json")
	if err != nil {
		t.Fatalf("local.settings.json: %v", err)
	}
	env, _ := appconfig.Environ(nil, local)
	app, err := appconfig.Load(fsys, appconfig.Options{Root: dir, Env: env})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for _, e := range append(app.Errors, app.Warnings...) {
		t.Errorf("app: %v", e)
	}
	if len(app.Functions) != 2 {
		t.Fatalf("Load found %d functions, want 2", len(app.Functions))
	}
	for _, fn := range app.Functions {
		for _, e := range fn.Errors {
			t.Errorf("%s: %v", fn.Name, e)
		}
		if fn.HTTPTrigger() == nil || fn.Disabled {
			t.Errorf("%s: not an enabled HTTP function", fn.Name)
		}
	}
	ch := app.Host.CustomHandler
	if ch == nil || ch.DefaultExecutablePath != filepath.Join(dir, "bin", "handler") && ch.DefaultExecutablePath != HandlerExecutable {
		t.Errorf("custom handler = %+v", ch)
	}
	if ch != nil && ch.WorkingDirectory != dir {
		t.Errorf("working directory = %q, want the app folder", ch.WorkingDirectory)
	}
}
