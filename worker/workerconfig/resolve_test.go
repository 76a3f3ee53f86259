package workerconfig

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/funcd/funcd"
)

// tree writes files under root: path to content ("" makes an empty file).
func tree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolve(t *testing.T) {
	// Every case gets a fresh folder with app/ (the app) and workers/ (the
	// caller's workers folder); "{root}" in a setting or a wanted value is
	// that folder.
	tests := []struct {
		name     string
		files    map[string]string
		settings Settings
		goos     string
		goarch   string
		want     Command
		source   string // the worker.config.json used, relative to the root
		profile  string
		check    func(t *testing.T, w *Worker)
	}{
		{
			name:     "node from the workers folder, FUNCTIONS_WORKER_RUNTIME ignoring case",
			files:    map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "Node"},
			want:     Command{Path: "node", Args: []string{"{root}/workers/node/dist/src/nodejsWorker.js"}},
			source:   "workers/node/worker.config.json",
			check: func(t *testing.T, w *Worker) {
				if !w.Description.Indexing() || w.ProcessOptions.InitializationTimeout.Minutes() != 2 {
					t.Errorf("description %+v, options %+v", w.Description, w.ProcessOptions)
				}
			},
		},
		{
			name:  "node arguments from languageWorkers__node__arguments, split on white space, quotes kept together",
			files: map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node",
				"languageWorkers__node__arguments": `--inspect=5858  --title "a b"`},
			want:   Command{Path: "node", Args: []string{"--inspect=5858", "--title", "a b", "{root}/workers/node/dist/src/nodejsWorker.js"}},
			source: "workers/node/worker.config.json",
		},
		{
			name:  "languageWorkers:node:defaultExecutablePath and the colon spelling",
			files: map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node",
				"LANGUAGEWORKERS:NODE:DEFAULTEXECUTABLEPATH": "nodejs", "languageWorkers:node:arguments": "--x"},
			want:   Command{Path: "nodejs", Args: []string{"--x", "{root}/workers/node/dist/src/nodejsWorker.js"}},
			source: "workers/node/worker.config.json",
		},
		{
			name:     "python: runtime version sanitized, os and architecture filled, an argument with a space splits",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig, "workers/python/3.12/LINUX/X64/worker.py": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_WORKER_RUNTIME_VERSION": "3.12.1"},
			goos:     "linux", goarch: "amd64",
			want: Command{Path: "python", Args: []string{"-X", "no_debug_ranges", "{root}/workers/python/3.12/LINUX/X64/worker.py"},
				Env: []string{"FUNCTIONS_WORKER_RUNTIME_VERSION=3.12.1", "PYTHON_THREADPOOL_THREAD_COUNT=1000"}},
			source: "workers/python/worker.config.json",
			check: func(t *testing.T, w *Worker) {
				if w.Description.DefaultRuntimeVersion != "3.12" {
					t.Errorf("runtime version %q", w.Description.DefaultRuntimeVersion)
				}
			},
		},
		{
			name:     "python: the default runtime version, on macOS arm64, the thread count left as set",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig, "workers/python/3.11/OSX/Arm64/worker.py": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python", "PYTHON_THREADPOOL_THREAD_COUNT": "4"},
			goos:     "darwin", goarch: "arm64",
			want:   Command{Path: "python", Args: []string{"-X", "no_debug_ranges", "{root}/workers/python/3.11/OSX/Arm64/worker.py"}},
			source: "workers/python/worker.config.json",
		},
		{
			name: "java: JAVA_HOME expanded, one argument entry becomes five",
			files: map[string]string{"workers/java/worker.config.json": javaConfig, "workers/java/azure-functions-java-worker.jar": "",
				"jdk/bin/java": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "java", "JAVA_HOME": "{root}/jdk"},
			want: Command{Path: "{root}/jdk/bin/java", Args: []string{"-XX:+TieredCompilation", "-XX:TieredStopAtLevel=1", "-noverify",
				"-Djava.net.preferIPv4Stack=true", "-jar", "{root}/workers/java/azure-functions-java-worker.jar"}},
			source: "workers/java/worker.config.json",
		},
		{
			name: "placeholders in arguments: the worker folder, worker variables, unset variables dropped",
			files: map[string]string{"workers/x/worker.config.json": `{"description":{"language":"x","defaultExecutablePath":"x",
				"executableWorkingDirectory":"{workerDirectoryPath}",
				"arguments":["--dir={workerDirectoryPath}","--app=%FUNCTIONS_APPLICATION_DIRECTORY%","--home=%HOME_X%","--gone=%NOT_SET%","--root={AzureWebJobsScriptRoot}"]}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "x", "HOME_X": "/home/x"},
			want: Command{Path: "x", Dir: "{root}/workers/x",
				Args: []string{"--dir={root}/workers/x", "--app={root}/app", "--home=/home/x", "--gone=", "--root={root}/app"}},
			source: "workers/x/worker.config.json",
		},
		{
			name:     "golang: the built-in description runs the app's binary",
			files:    map[string]string{"app/app": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang"},
			want:     Command{Path: "{root}/app/app", Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/app"}},
			check: func(t *testing.T, w *Worker) {
				if !w.Description.Indexing() || w.Source != "" {
					t.Errorf("source %q, description %+v", w.Source, w.Description)
				}
			},
		},
		{
			name:     "golang: FUNCTIONS_APP_BINARY_NAME",
			files:    map[string]string{"app/server": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang", "FUNCTIONS_APP_BINARY_NAME": "server"},
			want:     Command{Path: "{root}/app/server", Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/app"}},
		},
		{
			name:     "golang: app.exe on Windows",
			files:    map[string]string{"app/app.exe": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang"},
			goos:     "windows",
			want:     Command{Path: "{root}/app/app.exe", Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/app"}},
		},
		{
			name: "golang: the app's own worker.config.json comes before the workers folder",
			files: map[string]string{"app/worker.config.json": golangConfig, "app/app": "",
				"workers/golang/worker.config.json": `{"description":{"language":"golang","defaultExecutablePath":"proxy"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang"},
			want:     Command{Path: "{root}/app/app", Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/app"}},
			source:   "app/worker.config.json",
		},
		{
			name: "FUNCD_WORKERS_DIR comes before the caller's folders",
			files: map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": "",
				"mine/n/worker.config.json": `{"description":{"language":"node","defaultExecutablePath":"node","defaultWorkerPath":"w.js"}}`, "mine/n/w.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "FUNCD_WORKERS_DIR": "{root}/mine"},
			want:     Command{Path: "node", Args: []string{"{root}/mine/n/w.js"}, Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/mine/n"}},
			source:   "mine/n/worker.config.json",
		},
		{
			name: "languageWorkers:workersDirectory, relative to the app",
			files: map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": "",
				"app/w/node/worker.config.json": `{"description":{"language":"node","defaultExecutablePath":"node","defaultWorkerPath":"w.js"}}`, "app/w/node/w.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "languageWorkers__workersDirectory": "w"},
			want:     Command{Path: "node", Args: []string{"{root}/app/w/node/w.js"}, Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/app/w/node"}},
			source:   "app/w/node/worker.config.json",
		},
		{
			name: "languageWorkers:node:workerDirectory replaces the others",
			files: map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/node/dist/src/nodejsWorker.js": "",
				"other/worker.config.json": `{"description":{"language":"node","defaultExecutablePath":"node","defaultWorkerPath":"w.js"}}`, "other/w.js": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "languageWorkers:node:workerDirectory": "{root}/other"},
			want:     Command{Path: "node", Args: []string{"{root}/other/w.js"}, Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/other"}},
			source:   "other/worker.config.json",
		},
		{
			name: "a disabled worker is passed over; a broken file of another language is too",
			files: map[string]string{
				"workers/a/worker.config.json":  `{"description":{"language":"node","defaultExecutablePath":"node","isDisabled":true}}`,
				"workers/b/worker.config.json":  `{"description":{"language":"node","defaultExecutablePath":"node2"}}`,
				"workers/py/worker.config.json": `{`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"},
			want:     Command{Path: "node2", Env: []string{"FUNCTIONS_WORKER_DIRECTORY={root}/workers/b"}},
			source:   "workers/b/worker.config.json",
		},
		{
			name: "a profile whose conditions hold replaces the worker path",
			files: map[string]string{"workers/powershell/worker.config.json": `{"description":{"language":"powershell","defaultExecutablePath":"dotnet","defaultWorkerPath":"7.4/Worker.dll","arguments":["exec"]},
  "profiles":[
    {"profileName":"never","conditions":[{"conditionType":"unknownType","conditionName":"X","conditionExpression":".*"}],"description":{"defaultWorkerPath":"no.dll"}},
    {"profileName":"7.2","conditions":[{"conditionType":"environment","conditionName":"FUNCTIONS_WORKER_RUNTIME_VERSION","conditionExpression":"^7\\.2$"},
                                       {"conditionType":"hostProperty","conditionName":"platform","conditionExpression":"LINUX"}],
     "description":{"defaultWorkerPath":"7.2/Worker.dll"}}]}`,
				"workers/powershell/7.2/Worker.dll": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "powershell", "FUNCTIONS_WORKER_RUNTIME_VERSION": "7.2"},
			goos:     "linux",
			want: Command{Path: "dotnet", Args: []string{"exec", "{root}/workers/powershell/7.2/Worker.dll"},
				Env: []string{"FUNCTIONS_WORKER_RUNTIME_VERSION=7.2", "PSWorkerInProcConcurrencyUpperBound=1000"}},
			source:  "workers/powershell/worker.config.json",
			profile: "7.2",
		},
		{
			name: "a runtime version below the minimum is a warning",
			files: map[string]string{"workers/python/worker.config.json": `{"description":{"language":"python","defaultExecutablePath":"python",
				"defaultWorkerPath":"%FUNCTIONS_WORKER_RUNTIME_VERSION%/worker.py","supportedRuntimeVersions":["3.8","3.9"],"minimumSupportedRuntimeVersion":"3.9"}}`,
				"workers/python/3.8/worker.py": ""},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_WORKER_RUNTIME_VERSION": "3.8", "PYTHON_THREADPOOL_THREAD_COUNT": "1"},
			want:     Command{Path: "python", Args: []string{"{root}/workers/python/3.8/worker.py"}, Env: []string{"FUNCTIONS_WORKER_RUNTIME_VERSION=3.8"}},
			source:   "workers/python/worker.config.json",
			check: func(t *testing.T, w *Worker) {
				if len(w.Warnings) != 1 || !strings.Contains(w.Warnings[0], "The configured runtime version '3.8' for language 'python' is lower than the minimum supported version '3.9'.") {
					t.Errorf("warnings %q", w.Warnings)
				}
			},
		},
		{
			name:     "FUNCTIONS_WORKER_PROCESS_COUNT, below 1 counts as 1",
			files:    map[string]string{"workers/x/worker.config.json": `{"description":{"language":"x","defaultExecutablePath":"x"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "x", "FUNCTIONS_WORKER_PROCESS_COUNT": "0"},
			want:     Command{Path: "x"},
			source:   "workers/x/worker.config.json",
			check: func(t *testing.T, w *Worker) {
				if w.ProcessOptions.ProcessCount != 1 {
					t.Errorf("process count %d", w.ProcessOptions.ProcessCount)
				}
			},
		},
		{
			name:     "setProcessCountToNumberOfCpuCores raises the maximum",
			files:    map[string]string{"workers/x/worker.config.json": `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"setProcessCountToNumberOfCpuCores":true}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "x"},
			want:     Command{Path: "x"},
			source:   "workers/x/worker.config.json",
			check: func(t *testing.T, w *Worker) {
				if w.ProcessOptions.ProcessCount != 16 || w.ProcessOptions.MaxProcessCount != 16 {
					t.Errorf("process count %d of %d", w.ProcessOptions.ProcessCount, w.ProcessOptions.MaxProcessCount)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tree(t, root, tt.files)
			settings := Settings{}
			for k, v := range tt.settings {
				settings[k] = strings.ReplaceAll(v, "{root}", root)
			}
			app := filepath.Join(root, "app")
			if err := os.MkdirAll(app, 0o755); err != nil {
				t.Fatal(err)
			}
			w, err := Resolve(Options{AppRoot: app, Folders: []string{filepath.Join(root, "workers")}, Settings: settings,
				GOOS: tt.goos, GOARCH: tt.goarch, CPUCount: 16})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			fill := func(s string) string { return strings.ReplaceAll(s, "{root}", root) }
			want.Path = fill(want.Path)
			for i := range want.Args {
				want.Args[i] = fill(want.Args[i])
			}
			if want.Dir == "" {
				want.Dir = app
			}
			want.Dir = fill(want.Dir)
			// The three variables the host always sets, unless the case
			// gives them.
			env := map[string]string{"FUNCTIONS_WORKER_DIRECTORY": w.Dir, "FUNCTIONS_APPLICATION_DIRECTORY": app, "FUNCTIONS_WORKER_RUNTIME_VERSION": ""}
			var extra []string
			for _, e := range want.Env {
				k, v, _ := strings.Cut(fill(e), "=")
				if _, ok := env[k]; ok {
					env[k] = v
				} else {
					extra = append(extra, k+"="+v)
				}
			}
			want.Env = append([]string{"FUNCTIONS_WORKER_DIRECTORY=" + env["FUNCTIONS_WORKER_DIRECTORY"],
				"FUNCTIONS_APPLICATION_DIRECTORY=" + env["FUNCTIONS_APPLICATION_DIRECTORY"],
				"FUNCTIONS_WORKER_RUNTIME_VERSION=" + env["FUNCTIONS_WORKER_RUNTIME_VERSION"]}, extra...)
			if !reflect.DeepEqual(w.Command, want) {
				t.Errorf("command\n got %#v\nwant %#v", w.Command, want)
			}
			source := ""
			if tt.source != "" {
				source = filepath.Join(root, filepath.FromSlash(tt.source))
			}
			if w.Source != source || w.Profile != tt.profile {
				t.Errorf("source %q profile %q, want %q %q", w.Source, w.Profile, source, tt.profile)
			}
			if tt.check != nil {
				tt.check(t, w)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		settings Settings
		goos     string
		goarch   string
		file     string // relative to the root, "" for none
		field    string
		msg      string // the message contains it
		hint     string // the hint contains it
	}{
		{name: "unset runtime", settings: Settings{}, field: "FUNCTIONS_WORKER_RUNTIME", msg: "is not set", hint: "local.settings.json"},
		{name: "in-process .NET", settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "dotnet"}, field: "FUNCTIONS_WORKER_RUNTIME", msg: "inside the Functions host"},
		{
			name:     "an unknown runtime",
			files:    map[string]string{"workers/node/worker.config.json": nodeConfig, "workers/py/worker.config.json": `{`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "cobol"},
			field:    "FUNCTIONS_WORKER_RUNTIME", msg: "WorkerConfig for runtime: cobol not found", hint: "py/worker.config.json:1:1: invalid JSON",
		},
		{
			name:     "the only worker is disabled",
			files:    map[string]string{"workers/node/worker.config.json": `{"description":{"language":"node","defaultExecutablePath":"node","isDisabled":true}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"},
			field:    "FUNCTIONS_WORKER_RUNTIME", msg: "not found", hint: "is disabled",
		},
		{
			name:     "the app's worker.config.json is for another language",
			files:    map[string]string{"app/worker.config.json": golangConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"},
			field:    "FUNCTIONS_WORKER_RUNTIME", msg: "not found", hint: `is for "golang", not "node"`,
		},
		{
			name:     "a broken file in the folder named after the language",
			files:    map[string]string{"workers/node/worker.config.json": `{"description":{"language":"node"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"},
			file:     "workers/node/worker.config.json", field: "description.defaultExecutablePath", msg: "cannot be empty",
		},
		{
			name:     "a broken app worker.config.json",
			files:    map[string]string{"app/worker.config.json": `{"description":{"language":"golang","defaultExecutablePath":[7]}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang"},
			file:     "app/worker.config.json", field: "description.defaultExecutablePath", msg: "expected a string, got an array",
		},
		{
			name:     "the worker file is missing",
			files:    map[string]string{"workers/node/worker.config.json": nodeConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"},
			file:     "workers/node/worker.config.json", field: "description.defaultWorkerPath", msg: "File DefaultWorkerPath: {root}/workers/node/dist/src/nodejsWorker.js does not exist.",
		},
		{
			name:     "the Go app is not built",
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "golang"},
			field:    "description.defaultExecutablePath", msg: "the executable {root}/app/app does not exist", hint: "go build -o app",
		},
		{
			name:     "a runtime version the worker does not support",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_WORKER_RUNTIME_VERSION": "3.8"},
			goos:     "linux", goarch: "amd64",
			field: "FUNCTIONS_WORKER_RUNTIME_VERSION", msg: "Version 3.8 is not supported for language python", hint: "3.9, 3.10, 3.11, 3.12",
		},
		{
			name:     "a runtime version that does not match the sanitizing expression",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_WORKER_RUNTIME_VERSION": "latest"},
			field:    "FUNCTIONS_WORKER_RUNTIME_VERSION", msg: `Version latest for language python does not match the regular expression '\d+\.\d+'`,
		},
		{
			name:     "an operating system the worker does not support",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python"},
			goos:     "freebsd", goarch: "amd64",
			file: "workers/python/worker.config.json", field: "description.supportedOperatingSystems", msg: "OS FREEBSD is not supported for language python",
		},
		{
			name:     "an architecture the worker does not support",
			files:    map[string]string{"workers/python/worker.config.json": pythonConfig},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "python"},
			goos:     "linux", goarch: "riscv64",
			file: "workers/python/worker.config.json", field: "description.supportedArchitectures", msg: "Architecture RiscV64 is not supported for language python",
		},
		{
			name:     "workerDirectory names a folder without worker.config.json",
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "languageWorkers__node__workerDirectory": "nowhere"},
			field:    "languageWorkers:node:workerDirectory", msg: "names {root}/app/nowhere, which has no worker.config.json",
		},
		{
			name:     "workerDirectory names a folder whose file is broken",
			files:    map[string]string{"app/w/worker.config.json": `{"description":{"language":"node","defaultExecutablePath":"node","extensions":".js"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "languageWorkers__node__workerDirectory": "w"},
			file:     "app/w/worker.config.json", field: "description.extensions", msg: "expected an array of strings, got a string",
		},
		{
			name:     "workerDirectory names a folder of another language",
			files:    map[string]string{"app/w/worker.config.json": `{"description":{"language":"python","defaultExecutablePath":"python"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node", "languageWorkers__node__workerDirectory": "w"},
			field:    "languageWorkers:node:workerDirectory", msg: `whose worker.config.json is for language "python", not "node"`,
		},
		{
			name:     "FUNCTIONS_WORKER_PROCESS_COUNT not a number",
			files:    map[string]string{"workers/x/worker.config.json": `{"description":{"language":"x","defaultExecutablePath":"x"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "x", "FUNCTIONS_WORKER_PROCESS_COUNT": "two"},
			field:    "FUNCTIONS_WORKER_PROCESS_COUNT", msg: "'two' is not a whole number",
		},
		{
			name:     "FUNCTIONS_WORKER_PROCESS_COUNT over the maximum",
			files:    map[string]string{"workers/x/worker.config.json": `{"description":{"language":"x","defaultExecutablePath":"x"}}`},
			settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "x", "FUNCTIONS_WORKER_PROCESS_COUNT": "11"},
			field:    "FUNCTIONS_WORKER_PROCESS_COUNT", msg: "ProcessCount must not be greater than MaxProcessCount",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tree(t, root, tt.files)
			app := filepath.Join(root, "app")
			if err := os.MkdirAll(app, 0o755); err != nil {
				t.Fatal(err)
			}
			_, err := Resolve(Options{AppRoot: app, Folders: []string{filepath.Join(root, "workers")}, Settings: tt.settings,
				GOOS: tt.goos, GOARCH: tt.goarch})
			var ce *funcd.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a *funcd.ConfigError", err, err)
			}
			file := ""
			if tt.file != "" {
				file = filepath.Join(root, filepath.FromSlash(tt.file))
			}
			fill := func(s string) string { return strings.ReplaceAll(s, "{root}", root) }
			if ce.File != file || ce.Field != tt.field || !strings.Contains(ce.Msg, fill(tt.msg)) || !strings.Contains(ce.Hint, tt.hint) {
				t.Errorf("got file %q field %q msg %q hint %q\nwant file %q field %q msg ~%q hint ~%q", ce.File, ce.Field, ce.Msg, ce.Hint, file, tt.field, fill(tt.msg), tt.hint)
			}
		})
	}
}

func TestResolveCustomHandler(t *testing.T) {
	_, err := Resolve(Options{AppRoot: t.TempDir(), Settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "Custom"}})
	if !errors.Is(err, ErrNotLanguageWorker) {
		t.Fatalf("error %v, want ErrNotLanguageWorker", err)
	}
}

func TestSplitCommandLine(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a\tb  ", []string{"a", "b"}},
		{`"a b" c`, []string{"a b", "c"}},
		{`a"b c"d`, []string{"ab cd"}},
		{`"a ""b"" c"`, []string{`a "b" c`}},
		{`a\\b`, []string{`a\\b`}},
		{`a\"b`, []string{`a"b`}},
		{`a\\"b c"`, []string{`a\b c`}},
		{`a\\\"b`, []string{`a\"b`}},
		{`""`, []string{""}},
		{`trailing\`, []string{`trailing\`}},
	}
	for _, tt := range tests {
		if got := splitCommandLine(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitCommandLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "1", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want string }{
		{"%A%", "1"},
		{"x%A%y%A%z", "x1y1z"},
		{"%EMPTY%-", "-"},
		{"%B%", "%B%"},
		{"%B%A%", "%B1"},
		{"50%", "50%"},
		{"%%A%", "%1"},
		{"%", "%"},
	}
	for _, tt := range tests {
		if got := expandEnv(tt.in, lookup); got != tt.want {
			t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"3.9", []int{3, 9, -1, -1}},
		{"3.10.1", []int{3, 10, 1, -1}},
		{"1.2.3.4", []int{1, 2, 3, 4}},
		{"3", nil},
		{"1.2.3.4.5", nil},
		{"3.x", nil},
		{"3.+1", nil},
	}
	for _, tt := range tests {
		got, ok := parseVersion(tt.in)
		if !reflect.DeepEqual(got, tt.want) || ok != (tt.want != nil) {
			t.Errorf("parseVersion(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
}

func TestSettingsGet(t *testing.T) {
	s := Settings{"languageWorkers__node__arguments": "a", "LANGUAGEWORKERS:PYTHON:ARGUMENTS": "b", "X": "exact", "x": "other"}
	for key, want := range map[string]string{
		"languageWorkers:node:arguments":     "a",
		"languageworkers__python__arguments": "b",
		"X":                                  "exact",
		"x":                                  "other",
	} {
		if got, ok := s.Get(key); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := s.Get("languageWorkers:java:arguments"); ok {
		t.Error("found an unset setting")
	}
}

func TestResolveFolderEntries(t *testing.T) {
	// A stray file and a link to a file in the workers folder are passed
	// over; a link to a worker folder is followed.
	root := t.TempDir()
	tree(t, root, map[string]string{
		"workers/README":                   `not a worker`,
		"real/node/worker.config.json":     `{"description":{"language":"node","defaultExecutablePath":"node"}}`,
		"real/node/nodejsWorker.js":        "",
		"workers/other/worker.config.json": `{"description":{"language":"python","defaultExecutablePath":"python"}}`,
	})
	if err := os.Symlink(filepath.Join(root, "workers/README"), filepath.Join(root, "workers/a-link-to-a-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "real/node"), filepath.Join(root, "workers/n")); err != nil {
		t.Fatal(err)
	}
	w, err := Resolve(Options{AppRoot: root, Folders: []string{filepath.Join(root, "workers")}, Settings: Settings{"FUNCTIONS_WORKER_RUNTIME": "node"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Source != filepath.Join(root, "workers/n/worker.config.json") || w.Command.Path != "node" {
		t.Errorf("source %q command %+v", w.Source, w.Command)
	}
}

func TestDiscover(t *testing.T) {
	root := t.TempDir()
	tree(t, root, map[string]string{
		"app/worker.config.json":            golangConfig,
		"workers/node/worker.config.json":   nodeConfig,
		"workers/python/worker.config.json": `{"description":{}}`,
		"workers/empty/README":              "",
		"mine/java/worker.config.json":      javaConfig,
		"other/worker.config.json":          `{"description":{"language":"custom-x","defaultExecutablePath":"x"}}`,
	})
	found, problems := Discover(Options{AppRoot: filepath.Join(root, "app"), Folders: []string{filepath.Join(root, "workers"), filepath.Join(root, "missing")},
		Settings: Settings{"FUNCD_WORKERS_DIR": filepath.Join(root, "mine"), "languageWorkers__x__workerDirectory": filepath.Join(root, "other")}})
	var langs []string
	for _, c := range found {
		langs = append(langs, c.Description.Language)
	}
	if want := []string{"custom-x", "golang", "java", "node"}; !reflect.DeepEqual(langs, want) {
		t.Errorf("languages %q, want %q", langs, want)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "python/worker.config.json:1:16: description.language: WorkerDescription Language cannot be empty") {
		t.Errorf("problems %v", problems)
	}
}
