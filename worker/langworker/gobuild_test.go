package langworker

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
)

// TestBuildGoApp: a missing binary is built, an up-to-date one is left
// alone, a stale one is rebuilt, and a compile error comes back with the
// compiler's output.
func TestBuildGoApp(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is not installed")
	}
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/app\n\ngo 1.22\n")
	write("main.go", "package main\n\nfunc main() {}\n")
	app := &funcd.App{Root: dir, Settings: map[string]string{"FUNCTIONS_WORKER_RUNTIME": "golang"}}
	ctx := context.Background()
	bin := filepath.Join(dir, "app")

	if err := BuildGoApp(ctx, app, nil); err != nil {
		t.Fatalf("first build: %v", err)
	}
	first, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("no binary after the build: %v", err)
	}

	// Up to date: nothing is built (the binary keeps its time).
	old := time.Now().Add(-time.Hour)
	for _, f := range []string{"go.mod", "main.go"} {
		if err := os.Chtimes(filepath.Join(dir, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := BuildGoApp(ctx, app, nil); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.Stat(bin); !again.ModTime().Equal(first.ModTime()) {
		t.Error("an up-to-date binary was rebuilt")
	}

	// A source newer than the binary: rebuilt.
	past := first.ModTime().Add(-time.Minute)
	if err := os.Chtimes(bin, past, past); err != nil {
		t.Fatal(err)
	}
	write("extra.go", "package main\n\nvar _ = 1\n")
	if err := BuildGoApp(ctx, app, nil); err != nil {
		t.Fatal(err)
	}
	if rebuilt, _ := os.Stat(bin); !rebuilt.ModTime().After(past) {
		t.Error("a stale binary was not rebuilt")
	}

	// A compile error names the file and line.
	write("broken.go", "package main\n\nvar x int = \"text\"\n")
	err = BuildGoApp(ctx, app, nil)
	if err == nil || !strings.Contains(err.Error(), "broken.go:3") || !strings.Contains(err.Error(), "cannot build the Go app") {
		t.Errorf("BuildGoApp with a compile error = %v", err)
	}

	// An app without Go files (only its binary deployed) is taken as
	// built.
	empty := &funcd.App{Root: t.TempDir()}
	if err := BuildGoApp(ctx, empty, nil); err != nil {
		t.Errorf("an app without Go files: %v", err)
	}
}
