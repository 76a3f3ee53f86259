package scaffold

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoAppBuilds writes a Go SDK app with a function of every template,
// against this checkout of the SDK, and builds it.
func TestGoAppBuilds(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "My App")
	lines, err := InitGo(dir, GoOptions{Replace: repo})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(lines, "\n") != "Writing .gitignore\nWriting .funcignore\nWriting host.json\nWriting local.settings.json\nWriting go.mod\nWriting main.go" {
		t.Errorf("InitGo said:\n%s", strings.Join(lines, "\n"))
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.HasPrefix(string(gomod), "module my-app\n") || !strings.Contains(string(gomod), "replace github.com/funcd/funcd => "+repo) {
		t.Errorf("go.mod:\n%s", gomod)
	}
	settings, _ := os.ReadFile(filepath.Join(dir, "local.settings.json"))
	if !strings.Contains(string(settings), `"FUNCTIONS_WORKER_RUNTIME": "golang"`) {
		t.Errorf("local.settings.json:\n%s", settings)
	}
	for _, f := range []struct{ template, name string }{
		{"http", "greet"}, {"Timer trigger", "tick"}, {"QueueTrigger", "work_test"}, {"Azure Blob Storage trigger", "Upload"},
	} {
		lines, err := New(dir, f.template, f.name)
		if err != nil {
			t.Fatalf("New(%s, %s): %v", f.template, f.name, err)
		}
		if want := "Writing " + GoFunctionFile(f.name); len(lines) != 1 || lines[0] != want {
			t.Errorf("New(%s) said %q, want %q", f.name, lines, want)
		}
	}
	if _, err := New(dir, "http", "GREET"); err == nil || !strings.Contains(err.Error(), "greet_function.go already exists") {
		t.Errorf("a second function named greet: %v", err)
	}

	// The checkout's go.sum vouches for the SDK's dependencies; tidy keeps
	// what the app needs of it.
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOPROXY=off")
	for _, args := range [][]string{{"build", "-o", "app", "."}, {"vet", "."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "app")); err != nil {
		t.Errorf("no program: %v", err)
	}
}

// TestInitGoDefaults: without a version of its own, funcd says how to
// point go.mod at the SDK; Timer and other Go-only templates are refused in
// a custom handler app.
func TestInitGoDefaults(t *testing.T) {
	dir := t.TempDir()
	lines, err := Init(dir, "golang")
	if err != nil {
		t.Fatal(err)
	}
	if last := lines[len(lines)-1]; !strings.Contains(last, "go mod edit -replace github.com/funcd/funcd=") {
		t.Errorf("last line %q", last)
	}
	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	if !strings.Contains(string(gomod), "require github.com/funcd/funcd "+develVersion) || strings.Contains(string(gomod), "replace") {
		t.Errorf("go.mod:\n%s", gomod)
	}

	custom := t.TempDir()
	if _, err := Init(custom, "custom"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(custom, "timer", "tick"); err == nil || !strings.Contains(err.Error(), "for Go SDK apps") {
		t.Errorf("a timer in a custom handler app: %v", err)
	}
}
