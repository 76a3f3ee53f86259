package appconfig

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/funcd/funcd"
)

func TestEnviron(t *testing.T) {
	ls := &funcd.LocalSettings{
		Values: map[string]string{
			"FROM_FILE":  "file",
			"SET_IN_ENV": "file",
			"EMPTY_ENV":  "file",
			"EMPTY_FILE": "",
			"":           "ignored",
			"Case":       "file",
		},
		ConnectionStrings: map[string]string{"Db": "Server=db", "Taken": "file"},
	}
	process := []string{
		"SET_IN_ENV=env",
		"EMPTY_ENV=",
		"CASE=env",
		"WITH_EQUALS=a=b",
		"ConnectionStrings:Taken=env",
		"=C:=C:\\", // Windows drive entries have an empty name
	}
	env, skipped := Environ(process, ls)
	want := map[string]string{
		"SET_IN_ENV":              "env",
		"EMPTY_ENV":               "file",
		"CASE":                    "env",
		"Case":                    "file", // environment names are case-sensitive
		"WITH_EQUALS":             "a=b",
		"FROM_FILE":               "file",
		"EMPTY_FILE":              "",
		"ConnectionStrings:Db":    "Server=db",
		"ConnectionStrings:Taken": "env",
	}
	if !maps.Equal(env, want) {
		t.Errorf("env = %v\nwant %v", env, want)
	}
	if wantSkipped := []string{"SET_IN_ENV", "ConnectionStrings:Taken"}; !slices.Equal(skipped, wantSkipped) {
		t.Errorf("skipped = %q, want %q", skipped, wantSkipped)
	}
}

func TestEnvironNilSettings(t *testing.T) {
	env, skipped := Environ([]string{"A=1", "NOVALUE"}, nil)
	if !maps.Equal(env, map[string]string{"A": "1", "NOVALUE": ""}) || skipped != nil {
		t.Errorf("Environ = %v, %q", env, skipped)
	}
}

func TestReadLocalSettings(t *testing.T) {
	tests := []struct {
		name string
		file string // "" means no file
		want *funcd.LocalSettings
		// err is a substring of the error message, with its position.
		err           string
		line, column  int
		errField      string
		wantNoValues  bool
		wantEncrypted bool
	}{
		{
			name: "missing file",
			want: &funcd.LocalSettings{Values: map[string]string{}, ConnectionStrings: map[string]string{}},
		},
		{
			name: "full",
			file: `{
				"IsEncrypted": false,
				"Values": {"A": "1", "B": true, "C": 2.50, "D": null, "E": ""},
				"Host": {"LocalHttpPort": "7072", "localhttpaddress": "0.0.0.0", "CORS": "*", "CORSCredentials": true, "Other": {}},
				"ConnectionStrings": {"S": "x", "O": {"ConnectionString": "y", "ProviderName": "p"}, "M": {}}
			}`,
			want: &funcd.LocalSettings{
				Values:            map[string]string{"A": "1", "B": "True", "C": "2.5", "E": ""},
				Host:              funcd.LocalHost{LocalHTTPPort: 7072, LocalHTTPAddress: "0.0.0.0", CORS: "*", CORSCredentials: true},
				ConnectionStrings: map[string]string{"S": "x", "O": "y", "M": ""},
			},
		},
		{
			name: "IsEncrypted as a string, comments and trailing commas",
			file: "// local\n{ \"IsEncrypted\": \"False\", \"Values\": { \"A\": \"1\", }, }",
			want: &funcd.LocalSettings{Values: map[string]string{"A": "1"}, ConnectionStrings: map[string]string{}},
		},
		{
			name: "encrypted with only empty values is usable",
			file: `{"IsEncrypted": true, "Values": {"A": ""}}`,
			want: &funcd.LocalSettings{IsEncrypted: true, Values: map[string]string{"A": ""}, ConnectionStrings: map[string]string{}},
		},
		{
			name: "encrypted by default", file: "{\n  \"Values\": {\"A\": \"secret\"}\n}",
			err: decryptError, line: 1, column: 1, errField: "IsEncrypted", wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "encrypted connection string", file: "{\n  \"IsEncrypted\": 1,\n  \"ConnectionStrings\": {\"A\": \"x\"}\n}",
			err: decryptError, line: 2, column: 18, errField: "IsEncrypted", wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "lower-case top-level names are not read", file: `{"isEncrypted": false, "values": {"A": "1"}}`,
			want: &funcd.LocalSettings{IsEncrypted: true, Values: map[string]string{}, ConnectionStrings: map[string]string{}},
		},
		{
			name: "syntax error", file: "{\n  \"Values\": {\n    \"A\": \"1\"\n    \"B\": \"2\"\n  }\n}",
			err: "Failed to read app settings file at 'local.settings.json'. Ensure it is a valid JSON file. After parsing a value", line: 4, column: 5,
			wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "not an object", file: `[1]`,
			err: "Current JsonReader item is not an object: StartArray.", line: 1, column: 1, wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "object value", file: `{"IsEncrypted": false, "Values": {"A": {"B": 1}}}`,
			err: "Error reading string. Unexpected token: StartObject. Path 'Values.A'.", line: 1, column: 40, errField: "Values.A",
			wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "bad port", file: `{"IsEncrypted": false, "Host": {"LocalHttpPort": "seventy"}}`,
			err: "Could not convert the value of 'Host.LocalHttpPort'.", line: 1, column: 50, errField: "Host.LocalHttpPort",
			wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "bad IsEncrypted", file: `{"IsEncrypted": "maybe"}`,
			err: "'IsEncrypted' must be true or false.", line: 1, column: 17, errField: "IsEncrypted", wantNoValues: true, wantEncrypted: true,
		},
		{
			name: "connection string number", file: `{"IsEncrypted": false, "ConnectionStrings": {"A": 5}}`,
			err: "Cannot access child value on Newtonsoft.Json.Linq.JValue.", line: 1, column: 51, errField: "ConnectionStrings.A",
			wantNoValues: true, wantEncrypted: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			if tt.file != "" {
				fsys["local.settings.json"] = &fstest.MapFile{Data: []byte(tt.file)}
			}
			ls, err := ReadLocalSettings(fsys, "local.settings.json")
			if ls == nil {
				t.Fatal("nil settings")
			}
			if tt.err == "" {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
				checkLocalSettings(t, ls, tt.want)
				return
			}
			ce, ok := errors.AsType[*funcd.ConfigError](err)
			if !ok {
				t.Fatalf("error = %v (%T), want a *funcd.ConfigError", err, err)
			}
			if !strings.Contains(ce.Msg, tt.err) || ce.Line != tt.line || ce.Column != tt.column || ce.Field != tt.errField {
				t.Errorf("error = %q at %d:%d field %q\nwant %q at %d:%d field %q", ce.Msg, ce.Line, ce.Column, ce.Field, tt.err, tt.line, tt.column, tt.errField)
			}
			if ce.File != "local.settings.json" || ce.Hint == "" {
				t.Errorf("error file %q hint %q", ce.File, ce.Hint)
			}
			if tt.wantNoValues && (len(ls.Values) > 0 || len(ls.ConnectionStrings) > 0) {
				t.Errorf("settings with an error hold values: %+v", ls)
			}
			if ls.IsEncrypted != tt.wantEncrypted {
				t.Errorf("IsEncrypted = %t, want %t", ls.IsEncrypted, tt.wantEncrypted)
			}
		})
	}
}

func checkLocalSettings(t *testing.T, got, want *funcd.LocalSettings) {
	t.Helper()
	if got.IsEncrypted != want.IsEncrypted || got.Host != want.Host ||
		!maps.Equal(got.Values, want.Values) || !maps.Equal(got.ConnectionStrings, want.ConnectionStrings) {
		t.Errorf("settings = %+v\nwant %+v", got, want)
	}
}
