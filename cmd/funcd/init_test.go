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
		{"go", "worker runtime 'go' is not supported yet by funcd init; supported: custom"},
		{"node", "worker runtime 'node' is not supported yet by funcd init; supported: custom"},
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
