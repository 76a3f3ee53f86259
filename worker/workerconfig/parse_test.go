package workerconfig

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
)

// The worker.config.json files of the workers Microsoft ships, in their
// shapes (Node.js, Python with placeholders, Java, the Go worker's).
const (
	nodeConfig = `{
    "description": {
        "language": "node",
        "extensions": [".js", ".mjs", ".cjs"],
        "defaultExecutablePath": "node",
        "defaultWorkerPath": "dist/src/nodejsWorker.js",
        "workerIndexing": "true"
    },
    "processOptions": {
        "initializationTimeout": "00:02:00",
        "environmentReloadTimeout": "00:02:00"
    }
}`
	pythonConfig = `{
    "description": {
        "language": "python",
        "defaultRuntimeVersion": "3.11",
        "supportedOperatingSystems": ["LINUX", "OSX", "WINDOWS"],
        "supportedRuntimeVersions": ["3.9", "3.10", "3.11", "3.12"],
        "supportedArchitectures": ["X64", "X86", "Arm64"],
        "extensions": [".py"],
        "defaultExecutablePath": "python",
        "defaultWorkerPath": "%FUNCTIONS_WORKER_RUNTIME_VERSION%/{os}/{architecture}/worker.py",
        "workerIndexing": "true",
        "arguments": ["-X no_debug_ranges"],
        "sanitizeRuntimeVersionRegex": "\\d+\\.\\d+"
    }
}`
	javaConfig = `{
    "description": {
        "language": "java",
        "extensions": [".jar"],
        "defaultExecutablePath": "%JAVA_HOME%/bin/java",
        "defaultWorkerPath": "azure-functions-java-worker.jar",
        "arguments": ["-XX:+TieredCompilation -XX:TieredStopAtLevel=1 -noverify -Djava.net.preferIPv4Stack=true -jar"]
    }
}`
	golangConfig = `{"description":{"language":"golang",
  "defaultExecutablePath":"{AzureWebJobsScriptRoot}/app",
  "workerIndexing":"true",
  "supportedOperatingSystems":["LINUX","OSX","WINDOWS"],
  "supportedArchitectures":["X64","X86","Arm64"]},
 "processOptions":{"initializationTimeout":"00:02:00","environmentReloadTimeout":"00:02:00"}}`
)

func TestParse(t *testing.T) {
	minutes2 := DefaultProcessOptions()
	minutes2.InitializationTimeout = 2 * time.Minute
	minutes2.EnvironmentReloadTimeout = 2 * time.Minute
	tests := []struct {
		name string
		json string
		want Config
	}{
		{"node", nodeConfig, Config{
			Description: Description{Language: "node", Extensions: []string{".js", ".mjs", ".cjs"},
				DefaultExecutablePath: "node", DefaultWorkerPath: "dist/src/nodejsWorker.js", WorkerIndexing: "true"},
			ProcessOptions: minutes2,
		}},
		{"python", pythonConfig, Config{
			Description: Description{Language: "python", DefaultRuntimeVersion: "3.11",
				SupportedOperatingSystems: []string{"LINUX", "OSX", "WINDOWS"},
				SupportedRuntimeVersions:  []string{"3.9", "3.10", "3.11", "3.12"},
				SupportedArchitectures:    []string{"X64", "X86", "Arm64"},
				Extensions:                []string{".py"}, DefaultExecutablePath: "python",
				DefaultWorkerPath: "%FUNCTIONS_WORKER_RUNTIME_VERSION%/{os}/{architecture}/worker.py",
				WorkerIndexing:    "true", Arguments: []string{"-X no_debug_ranges"},
				SanitizeRuntimeVersionRegex: `\d+\.\d+`},
			ProcessOptions: DefaultProcessOptions(),
		}},
		{"golang", golangConfig, Config{
			Description: Description{Language: "golang", Extensions: []string{},
				DefaultExecutablePath: "{AzureWebJobsScriptRoot}/app", WorkerIndexing: "true",
				SupportedOperatingSystems: []string{"LINUX", "OSX", "WINDOWS"},
				SupportedArchitectures:    []string{"X64", "X86", "Arm64"}},
			ProcessOptions: minutes2,
		}},
		{"field names ignore case, as Json.NET", `{"description":{"LANGUAGE":"node","DefaultExecutablePath":"node","WorkerArguments":["-a"],"IsDisabled":"True"}}`, Config{
			Description: Description{Language: "node", Extensions: []string{}, DefaultExecutablePath: "node",
				WorkerArguments: []string{"-a"}, IsDisabled: true},
			ProcessOptions: DefaultProcessOptions(),
		}},
		{"an exact name wins over another case", `{"description":{"Language":"x","language":"node","defaultExecutablePath":"node"}}`, Config{
			Description:    Description{Language: "node", Extensions: []string{}, DefaultExecutablePath: "node"},
			ProcessOptions: DefaultProcessOptions(),
		}},
		{"workerIndexing as a boolean, nulls as missing", "\uFEFF" + `{"description":{"language":"node","defaultExecutablePath":"node","workerIndexing":true,"arguments":null,"extensions":null},"profiles":null}`, Config{
			Description:    Description{Language: "node", Extensions: []string{}, DefaultExecutablePath: "node", WorkerIndexing: "true"},
			ProcessOptions: DefaultProcessOptions(),
		}},
		{"process options", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"ProcessCount":2,"maxProcessCount":4,"processStartupTimeout":"1.00:00:30.5","setProcessCountToNumberOfCpuCores":false}}`, Config{
			Description: Description{Language: "x", Extensions: []string{}, DefaultExecutablePath: "x"},
			ProcessOptions: func() ProcessOptions {
				po := DefaultProcessOptions()
				po.ProcessCount, po.MaxProcessCount = 2, 4
				po.ProcessStartupTimeout = 24*time.Hour + 30*time.Second + 500*time.Millisecond
				return po
			}(),
		}},
		{"profiles", `{"description":{"language":"powershell","defaultExecutablePath":"dotnet","defaultWorkerPath":"7.4/Worker.dll"},
  "profiles":[{"profileName":"old","conditions":[{"conditionType":"environment","conditionName":"FUNCTIONS_WORKER_RUNTIME_VERSION","conditionExpression":"^7\\.2$"}],
    "description":{"defaultWorkerPath":"7.2/Worker.dll","isDisabled":true}}]}`, Config{
			Description: Description{Language: "powershell", Extensions: []string{}, DefaultExecutablePath: "dotnet", DefaultWorkerPath: "7.4/Worker.dll"},
			Profiles: []Profile{{Name: "old",
				Conditions:  []Condition{{Type: "environment", Name: "FUNCTIONS_WORKER_RUNTIME_VERSION", Expression: `^7\.2$`}},
				Description: Description{Extensions: []string{}, DefaultWorkerPath: "7.2/Worker.dll", IsDisabled: true}}},
			ProcessOptions: DefaultProcessOptions(),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("w/worker.config.json", "/workers/w", []byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			for i := range got.Profiles {
				got.Profiles[i].set = nil
			}
			tt.want.File, tt.want.Dir = "w/worker.config.json", "/workers/w"
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name       string
		json       string
		field      string
		line, col  int
		msgContain string
	}{
		{"empty", "  \n", "", 0, 0, "the file is empty"},
		{"syntax", "{\n  \"description\": {,\n}", "", 2, 19, "invalid JSON"},
		{"not an object", `[1]`, "", 0, 0, "got an array"},
		{"null", `null`, "", 0, 0, "got null"},
		{"no description", `{"Description":{}}`, "description", 0, 0, "is missing"},
		{"description not an object", `{"description":"node"}`, "description", 1, 16, "expected an object, got a string"},
		{"no language", `{"description":{"defaultExecutablePath":"node"}}`, "description.language", 1, 16, "WorkerDescription Language cannot be empty"},
		{"no executable", `{"description":{"language":"node","defaultExecutablePath":""}}`, "description.defaultExecutablePath", 1, 59, "WorkerDescription DefaultExecutablePath cannot be empty"},
		{"language a list", `{"description":{"language":["node"]}}`, "description.language", 1, 28, "expected a string, got an array"},
		{"arguments a string", `{"description":{"language":"node","Arguments":"--x"}}`, "description.Arguments", 1, 47, "expected an array of strings, got a string"},
		{"an argument a number", `{"description":{"language":"node","arguments":["a",1]}}`, "description.arguments[1]", 1, 52, "expected a string, got a number"},
		{"a field on a later line", "\n{\n  \"description\": {\n    \"language\": 5,\n    \"arguments\": [\"a\",\n      true]\n  }\n}", "description.arguments[1]", 6, 7, "expected a string, got a boolean"},
		{"isDisabled a word", `{"description":{"language":"node","isDisabled":"yes"}}`, "description.isDisabled", 1, 48, "expected true or false"},
		{"process count zero", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processCount":0}}`, "processOptions.processCount", 1, 94, "ProcessCount must be greater than 0."},
		{"process count over max", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processCount":11}}`, "processOptions.processCount", 1, 94, "must not be greater than MaxProcessCount"},
		{"process count text", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processCount":"2"}}`, "processOptions.processCount", 1, 94, "expected a whole number"},
		{"negative interval", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"processStartupInterval":"-00:00:01"}}`, "processOptions.processStartupInterval", 1, 104, "must not be negative"},
		{"bad timespan", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"initializationTimeout":"2 minutes"}}`, "processOptions.initializationTimeout", 1, 103, "is not a TimeSpan"},
		{"timespan a number", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":{"initializationTimeout":120}}`, "processOptions.initializationTimeout", 1, 103, "expected a TimeSpan string"},
		{"processOptions a list", `{"description":{"language":"x","defaultExecutablePath":"x"},"processOptions":[]}`, "processOptions", 1, 78, "expected an object"},
		{"profiles an object", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":{}}`, "profiles", 1, 72, "expected an array of profiles"},
		{"profile without name", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"conditions":[{"conditionType":"environment"}],"description":{}}]}`, "profiles[0].profileName", 1, 73, "Name cannot be empty"},
		{"profile without conditions", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"profileName":"p","conditions":[],"description":{}}]}`, "profiles[0].conditions", 1, 105, "Conditions cannot be empty"},
		{"condition without type", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"profileName":"p","conditions":[{"conditionName":"A"}],"description":{}}]}`, "profiles[0].conditions[0].conditionType", 1, 106, "is missing"},
		{"profile without description", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"profileName":"p","conditions":[{"conditionType":"environment"}]}]}`, "profiles[0].description", 1, 73, "ProfileDescription cannot be null"},
		{"profile description field", `{"description":{"language":"x","defaultExecutablePath":"x"},"profiles":[{"profileName":"p","conditions":[{"conditionType":"environment"}],"description":{"arguments":3}}]}`, "profiles[0].description.arguments", 1, 166, "expected an array of strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("workers/x/worker.config.json", "workers/x", []byte(tt.json))
			var ce *funcd.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a *funcd.ConfigError", err, err)
			}
			if ce.File != "workers/x/worker.config.json" || ce.Field != tt.field || ce.Line != tt.line || ce.Column != tt.col {
				t.Errorf("error at %q %q %d:%d, want field %q at %d:%d (%v)", ce.File, ce.Field, ce.Line, ce.Column, tt.field, tt.line, tt.col, err)
			}
			if !strings.Contains(ce.Msg, tt.msgContain) {
				t.Errorf("message %q, want it to contain %q", ce.Msg, tt.msgContain)
			}
		})
	}
}

func TestParseTimeSpan(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"00:02:00", 2 * time.Minute, true},
		{"02:00", 2 * time.Hour, true},
		{"1", 24 * time.Hour, true},
		{"1.02:03:04.5", 24*time.Hour + 2*time.Hour + 3*time.Minute + 4*time.Second + 500*time.Millisecond, true},
		{"-00:00:01", -time.Second, true},
		{"00:00:00.0000001", 100, true},
		{"24:00:00", 0, false},
		{"00:60:00", 0, false},
		{"00:00:00.", 0, false},
		{"00:00:00.12345678", 0, false},
		{"", 0, false},
		{"-", 0, false},
		{"a:b", 0, false},
		{"1:2:3:4", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseTimeSpan(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseTimeSpan(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
