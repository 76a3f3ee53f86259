package main

import (
	"path/filepath"
	"testing"
)

func TestInit(t *testing.T) {
	base := t.TempDir()
	out := mustRun(t, "init", "myapp", "--script-root", base, "--worker-runtime", "custom")
	wantContains(t, out, "Writing host.json", "Writing local.settings.json", "Writing handler/main.go",
		`funcd new --template "HTTP trigger" --name hello`, "go build -C handler -o ../bin/handler .")
	for _, f := range []string{"host.json", "local.settings.json", ".gitignore", ".funcignore", "handler/go.mod", "handler/main.go"} {
		fileExists(t, filepath.Join(base, "myapp", f))
	}

	out = mustRun(t, "init", filepath.Join(base, "myapp"), "--worker-runtime", "custom")
	wantContains(t, out, "host.json already exists. Skipped!")
}

func TestInitRuntimes(t *testing.T) {
	tests := []struct{ runtime, want string }{
		{"node", "worker runtime 'node' is not supported yet by funcd init; supported: custom, go"},
		{"fortran", "'fortran' is not a valid option"},
		{"", "use --worker-runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			out := mustFail(t, "init", t.TempDir(), "--worker-runtime", tt.runtime)
			wantContains(t, out, tt.want)
		})
	}
}

func TestInitGoApp(t *testing.T) {
	base := t.TempDir()
	out := mustRun(t, "init", "goapp", "--script-root", base, "--worker-runtime", "go")
	wantContains(t, out, "Writing go.mod", "Writing main.go", "go mod tidy", "go build -o app .")
	for _, f := range []string{"host.json", "local.settings.json", ".gitignore", ".funcignore", "go.mod", "main.go"} {
		fileExists(t, filepath.Join(base, "goapp", f))
	}
	out = mustRun(t, "new", "--script-root", filepath.Join(base, "goapp"), "--template", "timer", "--name", "tick")
	wantContains(t, out, "Writing tick_function.go", `"Timer trigger" template`, "Rebuild the app: go build -o app .")
	fileExists(t, filepath.Join(base, "goapp", "tick_function.go"))
}
