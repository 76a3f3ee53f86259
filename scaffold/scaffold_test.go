package scaffold

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestInitWritesCustomHandlerApp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "app")
	lines, err := Init(dir, "custom")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Writing .gitignore",
		"Writing .funcignore",
		"Writing host.json",
		"Writing local.settings.json",
		"Writing handler/go.mod",
		"Writing handler/main.go",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("Init lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	var host struct {
		Version         string
		ExtensionBundle struct{ ID, Version string }
		CustomHandler   struct {
			Description struct {
				DefaultExecutablePath string
				WorkingDirectory      *string
				Arguments             []string
			}
		}
	}
	readJSON(t, filepath.Join(dir, "host.json"), &host)
	if host.Version != "2.0" || host.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" ||
		host.ExtensionBundle.Version != "[4.*, 5.0.0)" {
		t.Errorf("host.json version and bundle: %+v", host)
	}
	d := host.CustomHandler.Description
	if d.DefaultExecutablePath != HandlerExecutable || d.WorkingDirectory == nil || *d.WorkingDirectory != "" || d.Arguments == nil {
		t.Errorf("host.json customHandler.description = %+v", d)
	}

	var local struct {
		IsEncrypted *bool
		Values      map[string]*string
	}
	readJSON(t, filepath.Join(dir, "local.settings.json"), &local)
	if local.IsEncrypted == nil || *local.IsEncrypted {
		t.Error("local.settings.json: IsEncrypted is not false")
	}
	if v := local.Values["FUNCTIONS_WORKER_RUNTIME"]; v == nil || *v != "custom" {
		t.Errorf("FUNCTIONS_WORKER_RUNTIME = %v, want custom", v)
	}
	if v := local.Values["AzureWebJobsStorage"]; v == nil || *v != "" {
		t.Errorf("AzureWebJobsStorage = %v, want \"\"", v)
	}

	gitignore, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	for _, entry := range []string{"local.settings.json", ".funcd/", "bin/"} {
		if !slices.Contains(strings.Split(string(gitignore), "\n"), entry) {
			t.Errorf(".gitignore lacks %s", entry)
		}
	}
}

func TestInitSkipsExistingFiles(t *testing.T) {
	dir := t.TempDir()
	mine := []byte(`{"version": "2.0"}`)
	if err := os.WriteFile(filepath.Join(dir, "host.json"), mine, 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := Init(dir, "Custom")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(lines, "host.json already exists. Skipped!") {
		t.Errorf("Init lines %q do not say host.json was skipped", lines)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "host.json")); !bytes.Equal(got, mine) {
		t.Errorf("host.json was overwritten: %s", got)
	}

	lines, err = Init(dir, "custom")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, " already exists. Skipped!") {
			t.Errorf("second Init: %q", l)
		}
	}
}

func TestInitRuntimes(t *testing.T) {
	tests := []struct {
		runtime string
		want    string // in the error; "" = no error
	}{
		{"custom", ""},
		{"CUSTOM", ""},
		{"go", ""},
		{"Golang", ""},
		{"node", "'node' is not supported yet by funcd init; supported: custom, go"},
		{"python", "not supported yet"},
		{"cobol", "'cobol' is not a valid option; supported: custom, go"},
		{"", "use --worker-runtime"},
	}
	for _, tt := range tests {
		t.Run(tt.runtime, func(t *testing.T) {
			_, err := Init(t.TempDir(), tt.runtime)
			switch {
			case tt.want == "" && err != nil:
				t.Fatal(err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Init(%q) error = %v, want %q", tt.runtime, err, tt.want)
			}
		})
	}
}

// coreToolsHTTPTrigger is function.json as `func new --template "HTTP
// trigger"` writes it for a custom handler app.
const coreToolsHTTPTrigger = `{
  "bindings": [
    {
      "authLevel": "function",
      "type": "httpTrigger",
      "direction": "in",
      "name": "req",
      "methods": [
        "get",
        "post"
      ]
    },
    {
      "type": "http",
      "direction": "out",
      "name": "res"
    }
  ]
}`

func TestNewHTTPTrigger(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "custom"); err != nil {
		t.Fatal(err)
	}
	lines, err := New(dir, "HTTP trigger", "Hello")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Writing Hello/function.json", "Writing handler/hello_function.go"}
	if !slices.Equal(lines, want) {
		t.Errorf("New lines = %q, want %q", lines, want)
	}
	got, err := os.ReadFile(filepath.Join(dir, "Hello", "function.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != coreToolsHTTPTrigger {
		t.Errorf("function.json:\n%s\nwant:\n%s", got, coreToolsHTTPTrigger)
	}
	code, err := os.ReadFile(filepath.Join(dir, "handler", "hello_function.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(code, []byte(`handleHTTP("Hello", `)) {
		t.Errorf("handler file does not register Hello:\n%s", code)
	}
}

func TestNewWithoutScaffoldHandler(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version":"2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	lines, err := New(dir, "http", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != "Writing orders/function.json" || !strings.Contains(lines[1], "POST /orders") {
		t.Errorf("New lines = %q", lines)
	}
	if _, err := os.Stat(filepath.Join(dir, "handler")); err == nil {
		t.Error("New created a handler folder in an app that had none")
	}
}

func TestNewRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Init(dir, "custom"); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir, "http", "taken"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		template, name, want string
	}{
		{"HTTP trigger", "1abc", "'1abc' is not a valid function name."},
		{"HTTP trigger", "host", "'host' is not a valid function name."},
		{"HTTP trigger", "a.b", "'a.b' is not a valid function name."},
		{"HTTP trigger", "", "'' is not a valid function name."},
		{"HTTP trigger", "a" + strings.Repeat("b", 128), "is not a valid function name."},
		{"HTTP trigger", "../escape", "is not a valid function name."},
		{"HTTP trigger", "TAKEN", "a function folder named taken already exists"},
		{"Timer trigger", "t", `the "Timer trigger" template is for Go SDK apps`},
		{"Cosmos trigger", "t", `can't find template "Cosmos trigger"; available templates: "HTTP trigger", "Timer trigger"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(dir, tt.template, tt.name)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%q, %q) error = %v, want %q", tt.template, tt.name, err, tt.want)
			}
		})
	}
}

func TestFindTemplate(t *testing.T) {
	for _, name := range []string{"HTTP trigger", "http trigger", "HttpTrigger", "httptrigger", "http", "HTTP"} {
		if tmpl, err := FindTemplate(name); err != nil || tmpl.Name != "HTTP trigger" {
			t.Errorf("FindTemplate(%q) = %v, %v", name, tmpl, err)
		}
	}
}

func TestValidateFunctionName(t *testing.T) {
	for _, name := range []string{"a", "Hello", "my-func_2", "x" + strings.Repeat("y", 127), "hosts"} {
		if err := ValidateFunctionName(name); err != nil {
			t.Errorf("ValidateFunctionName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "_a", "-a", "9", "HOST", "a b", "a/b", "é"} {
		if err := ValidateFunctionName(name); err == nil {
			t.Errorf("ValidateFunctionName(%q) = nil", name)
		}
	}
}

func TestNewOutsideAnApp(t *testing.T) {
	_, err := New(t.TempDir(), "http", "hello")
	if err == nil || !strings.Contains(err.Error(), "host.json is missing") {
		t.Fatalf("New in an empty folder: %v", err)
	}
}
