package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain points XDG_STATE_HOME at a temporary folder for every test, so
// that no test writes keys into the state folder of the user running it.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "funcd-state-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_STATE_HOME", home)
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// runCLI runs the CLI as main does and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// mustRun runs the CLI and fails the test unless it exits with 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("funcd %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// mustFail runs the CLI, expects exit code 1, and returns stdout and stderr
// together.
func mustFail(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCLI(t, args...)
	if code != 1 {
		t.Fatalf("funcd %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errOut)
	}
	return out + errOut
}

// newApp creates an app with funcd init and one HTTP function per name.
func newApp(t *testing.T, functions ...string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "app")
	mustRun(t, "init", dir, "--worker-runtime", "custom")
	for _, fn := range functions {
		mustRun(t, "new", "--script-root", dir, "--template", "HTTP trigger", "--name", fn)
	}
	return dir
}

func wantContains(t *testing.T, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
}

func fileExists(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}
