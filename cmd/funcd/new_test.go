package main

import (
	"path/filepath"
	"testing"
)

func TestNew(t *testing.T) {
	dir := newApp(t)
	out := mustRun(t, "new", "--script-root", dir, "-t", "HttpTrigger", "-n", "hello")
	wantContains(t, out, "Writing hello/function.json", "Writing handler/hello_function.go",
		`The function "hello" was created successfully from the "HTTP trigger" template.`,
		"Rebuild the handler: go build -C handler -o ../bin/handler .")
	fileExists(t, filepath.Join(dir, "hello", "function.json"))
	fileExists(t, filepath.Join(dir, "handler", "hello_function.go"))
}

func TestNewRefuses(t *testing.T) {
	dir := newApp(t, "hello")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no name", []string{"--template", "http"}, "--template and --name are required"},
		{"no template", []string{"--name", "x"}, "--template and --name are required"},
		{"bad name", []string{"--template", "http", "--name", "9lives"}, "'9lives' is not a valid function name."},
		{"exists", []string{"--template", "http", "--name", "Hello"}, "a function folder named hello already exists"},
		{"bad template", []string{"--template", "Cosmos trigger", "--name", "x"}, `available templates: "HTTP trigger"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustFail(t, append([]string{"new", "--script-root", dir}, tt.args...)...)
			wantContains(t, out, tt.want)
		})
	}
}
