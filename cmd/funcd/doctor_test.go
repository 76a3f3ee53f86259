package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDoctor(t *testing.T) {
	dir := newApp(t, "hello")

	out := mustFail(t, "doctor", "--script-root", dir)
	wantContains(t, out, `the custom handler program "bin/handler" does not exist`,
		"go build -C handler -o ../bin/handler .")

	exe := filepath.Join(dir, "bin", "handler")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, "doctor", "--script-root", dir)
	wantContains(t, out, "OK    hello: hello/function.json: HTTP GET,POST /api/hello (authLevel function)",
		"No problems found; 1 function runs.")
}
