package keys

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHostSecretsV1(t *testing.T) {
	got, err := parseHostSecrets(readFile(t, "testdata/host.v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &HostSecrets{
		MasterKey: Key{Name: "master", Value: "Sxzu9tlNIKxI802lJVl_a-xOAGarXmw3SIKNemX8XBDQAzFuRgTXaQ=="},
		FunctionKeys: []Key{
			{Name: "default", Value: "24WksQKCwUFEQTvEsK2aOqJdcpnCpLf_HFhl4XmazCGFAzFuc5niAQ=="},
			{Name: "ci", Value: "bFjDtWih947GeD40mfooAAOSf1EEbJihh1hOaYu9be-qAzFuHCw_pA=="},
		},
		SystemKeys: []Key{{Name: "durabletask_extension", Value: "K3lCAfPm3jepaWvEJ9kdpsmF9AyaLs3K9Cn-N1qotlJ7AzFuNDvfHw=="}},
		Metadata: Metadata{
			HostName:   "myapp.azurewebsites.net",
			InstanceID: "0000000000000000000000002B233D22",
			Source:     "runtime",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestParseV0(t *testing.T) {
	// host.v0.json starts with a UTF-8 byte order mark, as the host writes.
	hs, err := parseHostSecrets(readFile(t, "testdata/host.v0.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantHost := &HostSecrets{
		MasterKey:    Key{Name: "master", Value: "v0-master-value"},
		FunctionKeys: []Key{{Name: "default", Value: "v0-function-value"}},
	}
	if !reflect.DeepEqual(hs, wantHost) {
		t.Errorf("host: got %+v, want %+v", hs, wantHost)
	}

	fs, err := parseFunctionSecrets(readFile(t, "testdata/hello.v0.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Key{{Name: "default", Value: "v0-key-value"}}; !reflect.DeepEqual(fs.Keys, want) {
		t.Errorf("function: got %+v, want %+v", fs.Keys, want)
	}

	fs, err = parseFunctionSecrets([]byte(`{"key": null}`))
	if err != nil || fs == nil || len(fs.Keys) != 0 {
		t.Errorf(`{"key": null} = %+v, %v; want secrets without keys`, fs, err)
	}
	hs, err = parseHostSecrets([]byte(`{"masterKey": "m"}`))
	if err != nil || hs.MasterKey.Value != "m" || len(hs.FunctionKeys) != 0 {
		t.Errorf(`{"masterKey": "m"} = %+v, %v`, hs, err)
	}
}

func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "  \n", "\uFEFF"} {
		if hs, err := parseHostSecrets([]byte(data)); hs != nil || err != nil {
			t.Errorf("parseHostSecrets(%q) = %v, %v; want nil, nil", data, hs, err)
		}
		if fs, err := parseFunctionSecrets([]byte(data)); fs != nil || err != nil {
			t.Errorf("parseFunctionSecrets(%q) = %v, %v; want nil, nil", data, fs, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	tests := []struct {
		name, data, want string
		function         bool
	}{
		{"syntax", `{"masterKey": {`, "unexpected end of JSON input", false},
		{"array", `[]`, "not a JSON object", false},
		{"null", `null`, "not a JSON object", false},
		{"no master", `{"functionKeys": []}`, `expected a V1 host secrets object`, false},
		{"v1 without functionKeys", `{"masterKey": {"name": "master", "value": "x"}}`, `"functionKeys"`, false},
		{"function file as host", `{"keys": []}`, `or a V0 one {"masterKey"`, false},
		{"bad key type", `{"masterKey": {"name": "master", "value": 5}, "functionKeys": []}`, "cannot unmarshal number", false},
		{"unnamed key", `{"masterKey": {}, "functionKeys": [{"value": "x"}]}`, "functionKeys[0]: key without a name", false},
		{"duplicate", `{"masterKey": {}, "functionKeys": [], "systemKeys": [{"name": "a"}, {"name": "a"}]}`, `systemKeys[1]: duplicate key name "a"`, false},
		{"v0 function key not a string", `{"masterKey": "m", "functionKey": {}}`, "functionKey: expected a string", false},
		{"trailing data", `{"masterKey": "m"} x`, "invalid character", false},
		{"host file as function", `{"masterKey": "m"}`, `expected a V1 function secrets object`, true},
		{"keys not array", `{"keys": {}}`, `expected a V1 function secrets object`, true},
		{"null key", `{"keys": [null]}`, "keys[0]: key without a name", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.function {
				_, err = parseFunctionSecrets([]byte(tt.data))
			} else {
				_, err = parseHostSecrets([]byte(tt.data))
			}
			if err == nil || !errors.Is(err, errFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// The files are written byte for byte as the host's serializer writes them
// (apart from the byte order mark): field names, order, indentation, nulls.
func TestEncodeGolden(t *testing.T) {
	for _, name := range []string{"host.v1.json", "hello.v1.json"} {
		want := readFile(t, filepath.Join("testdata", name))
		var got []byte
		var err error
		if strings.HasPrefix(name, "host") {
			var hs *HostSecrets
			if hs, err = parseHostSecrets(want); err == nil {
				got, err = encodeHostSecrets(hs)
			}
		} else {
			var fs *FunctionSecrets
			if fs, err = parseFunctionSecrets(want); err == nil {
				got, err = encodeFunctionSecrets(fs)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: re-encoded differently:\n%s\nwant:\n%s", name, got, want)
		}
	}
}

func TestEncodeEmptyLists(t *testing.T) {
	got, err := encodeHostSecrets(&HostSecrets{MasterKey: Key{Name: "master", Value: "<&>"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "masterKey": {
    "name": "master",
    "value": "<&>",
    "encrypted": false
  },
  "functionKeys": [],
  "systemKeys": [],
  "hostName": null,
  "instanceId": null,
  "source": null,
  "decryptionKeyId": ""
}`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func FuzzParseSecrets(f *testing.F) {
	for _, name := range []string{"host.v1.json", "hello.v1.json", "host.v0.json", "hello.v0.json", "host.encrypted.json"} {
		f.Add(readFile(f, filepath.Join("testdata", name)))
	}
	for _, s := range []string{``, `{}`, `null`, `{"key":null}`, `{"keys":[{"name":"a"}]}`, `{"masterKey":{},"functionKeys":[null]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Whatever parses must survive a write and a read unchanged.
		if hs, err := parseHostSecrets(data); err == nil && hs != nil {
			out, err := encodeHostSecrets(hs)
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseHostSecrets(out)
			if err != nil {
				t.Fatalf("re-reading %s: %v", out, err)
			}
			if !sameHost(hs, again) {
				t.Fatalf("round trip changed %+v into %+v", hs, again)
			}
		}
		if fs, err := parseFunctionSecrets(data); err == nil && fs != nil {
			out, err := encodeFunctionSecrets(fs)
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseFunctionSecrets(out)
			if err != nil {
				t.Fatalf("re-reading %s: %v", out, err)
			}
			if !reflect.DeepEqual(nonNil(fs.Keys), nonNil(again.Keys)) || fs.Metadata != again.Metadata {
				t.Fatalf("round trip changed %+v into %+v", fs, again)
			}
		}
	})
}

func sameHost(a, b *HostSecrets) bool {
	return a.MasterKey == b.MasterKey && a.Metadata == b.Metadata &&
		reflect.DeepEqual(nonNil(a.FunctionKeys), nonNil(b.FunctionKeys)) &&
		reflect.DeepEqual(nonNil(a.SystemKeys), nonNil(b.SystemKeys))
}
