package doctor

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.golden with the reports Check makes now")

// noPath is a PATH with nothing on it, so that reports do not depend on the
// machine.
const noPath = "PATH=/nonexistent/funcd-doctor-test"

// cases are the app folders under testdata, each with the environment it is
// checked with (noPath when nil) and the file modes it needs (git may not
// keep them).
var cases = []struct {
	name  string
	env   func(dir string) []string
	modes map[string]os.FileMode
	ok    bool // Report.OK
}{
	{name: "healthy", modes: exe("handler"), ok: true},
	{name: "no-host-json"},
	{name: "no-host-json-functions"},
	{name: "legacy-flags", modes: exe("handler"), ok: true},
	{name: "no-functions", modes: exe("handler"), ok: true},
	{name: "host-json-invalid"},
	{name: "host-json-version", modes: exe("handler")},
	{name: "host-json-warning", modes: exe("handler"), ok: true},
	{name: "function-json-errors", modes: exe("handler")},
	{name: "allow-list", modes: exe("handler"), ok: true},
	{name: "disabled-local", modes: exe("handler"), ok: true},
	{name: "disabled-env", modes: exe("handler"), ok: true,
		env: func(string) []string { return []string{noPath, "AzureWebJobs_hello_Disabled=1"} }},
	{name: "handler-missing"},
	{name: "handler-missing-go"},
	{name: "handler-missing-src"},
	{name: "handler-not-executable", modes: map[string]os.FileMode{"handler": 0o644}},
	{name: "handler-no-description"},
	{name: "handler-empty-path"},
	{name: "handler-on-path", modes: exe("tools/my-handler"), ok: true,
		env: func(dir string) []string { return []string{"PATH=/nonexistent:" + filepath.Join(dir, "tools")} }},
	{name: "working-dir-missing", modes: exe("handler")},
	{name: "no-custom-handler"},
	{name: "local-settings-invalid", modes: exe("handler")},
	{name: "local-settings-encrypted", modes: exe("handler")},
	{name: "unsupported-binding", modes: exe("handler")},
	{name: "blob-missing-storage", modes: exe("handler")},
	{name: "misspelt-binding", modes: exe("handler")},
	{name: "runtime-node"},
	{name: "runtime-node-v4", ok: true},
	{name: "bundle-too-old", modes: exe("handler")},
	{name: "durable-settings-invalid", modes: exe("handler")},
}

func exe(name string) map[string]os.FileMode { return map[string]os.FileMode{name: 0o755} }

func TestCheckGolden(t *testing.T) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.name)
			for name, mode := range tc.modes {
				if err := os.Chmod(filepath.Join(dir, name), mode); err != nil {
					t.Fatal(err)
				}
			}
			env := []string{noPath}
			if tc.env != nil {
				abs, _ := filepath.Abs(dir)
				env = tc.env(abs)
			}
			report := Check(dir, env)
			var out bytes.Buffer
			if err := report.Write(&out); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(dir, "want.golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./doctor -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("report differs from %s:\n--- got\n%s--- want\n%s", golden, out.Bytes(), want)
			}
			if report.OK() != tc.ok {
				t.Errorf("Report.OK() = %v, want %v", report.OK(), tc.ok)
			}
		})
	}
}

func TestCheckMissingFolder(t *testing.T) {
	report := Check(filepath.Join(t.TempDir(), "nowhere"), nil)
	if report.OK() || len(report.Findings) != 1 {
		t.Fatalf("Check of a missing folder: %+v", report)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n  \"Values\": {\n    \"x\": [1, {\"y\": 2}],\n    \"Key\": \"v\"\n  }\n}")
	tests := []struct {
		path      []string
		line, col int
	}{
		{[]string{"a"}, 2, 3},
		{[]string{"values"}, 3, 3},
		{[]string{"Values", "key"}, 5, 5},
		{[]string{"Values", "missing"}, 0, 0},
		{[]string{"a", "b"}, 0, 0},
	}
	for _, tt := range tests {
		if line, col := position(data, tt.path...); line != tt.line || col != tt.col {
			t.Errorf("position(%q) = %d:%d, want %d:%d", tt.path, line, col, tt.line, tt.col)
		}
	}
	if line, _ := position([]byte("{not json"), "a"); line != 0 {
		t.Errorf("position in invalid JSON = line %d", line)
	}
}

func TestGoBuildCommand(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		exe   string
		want  string
	}{
		{"handler module", map[string]string{"handler/go.mod": "module handler\n", "handler/main.go": "package main\n"},
			"bin/handler", "go build -C handler -o ../bin/handler ."},
		{"root module", map[string]string{"go.mod": "module app\n", "handler.go": "package main\n"},
			"handler", "go build -o handler ."},
		{"folder of the root module", map[string]string{"go.mod": "module app\n", "cmd/server.go": "package main\n"},
			"app", "go build -o app ./cmd"},
		{"nested module", map[string]string{"src/handler/go.mod": "module h\n", "src/handler/main.go": "package main\n"},
			"handler", ""},
		{"library only", map[string]string{"lib/lib.go": "package lib\n", "lib/main_test.go": "package main\n"},
			"handler", ""},
		{"skipped folders", map[string]string{"node_modules/x/main.go": "package main\n", ".git/main.go": "package main\n"},
			"handler", ""},
		// Without a go.mod, the go command builds only the files it is
		// given, and only when they import nothing but the standard library.
		{"root file without a module", map[string]string{"main.go": "package main\n\nimport (\n\t\"net/http\"\n\t\"os\"\n)\n"},
			"handler", "go build -o handler main.go"},
		{"root files without a module", map[string]string{"main.go": "package main\n", "routes.go": "package main\n", "main_test.go": "package main\n"},
			"bin/handler", "go build -o bin/handler main.go routes.go"},
		{"folder without a module", map[string]string{"handler/main.go": "package main\n", "handler/doc.txt": "x"},
			"bin/handler", "go build -o bin/handler handler/main.go"},
		{"third-party imports without a module", map[string]string{"src/main.go": "package main\n\nimport \"github.com/gorilla/mux\"\n"},
			"bin/handler", "(cd src && go mod init src && go mod tidy) && go build -C src -o ../bin/handler ."},
		{"third-party imports at the root without a module", map[string]string{"main.go": "package main\n\nimport \"example.com/lib\"\n"},
			"handler", "go mod init app && go mod tidy && go build -o handler ."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "app")
			for name, content := range tt.files {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c := &checker{root: dir, fsys: os.DirFS(dir)}
			if got := c.goBuildCommand(tt.exe); got != tt.want {
				t.Errorf("goBuildCommand(%q) = %q, want %q", tt.exe, got, tt.want)
			}
		})
	}
}
