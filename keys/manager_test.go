package keys

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcd/funcd"
)

// Known keys for the Authenticate tests.
const (
	masterValue     = "master-value"
	systemValue     = "system-value"
	hostFuncValue   = "host-function-value"
	helloValue      = "hello-value"
	helloExtraValue = "hello-extra-value"
	otherValue      = "other-value"
)

// newTestManager returns a Manager over a FileStore in a new folder
// holding the known keys.
func newTestManager(t *testing.T) (*Manager, FileStore) {
	t.Helper()
	ctx := context.Background()
	s := FileStore{Dir: filepath.Join(t.TempDir(), "secrets")}
	must(t, s.WriteHostSecrets(ctx, &HostSecrets{
		MasterKey:    Key{Name: "master", Value: masterValue},
		FunctionKeys: []Key{{Name: "default", Value: hostFuncValue}},
		SystemKeys:   []Key{{Name: "durabletask_extension", Value: systemValue}},
	}))
	must(t, s.WriteFunctionSecrets(ctx, "hello", &FunctionSecrets{Keys: []Key{
		{Name: "default", Value: helloValue}, {Name: "extra", Value: helloExtraValue},
	}}))
	must(t, s.WriteFunctionSecrets(ctx, "other", &FunctionSecrets{Keys: []Key{{Name: "default", Value: otherValue}}}))
	return NewManager(s, Options{}), s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestAuthenticate(t *testing.T) {
	m, _ := newTestManager(t)
	tests := []struct {
		name, function, key string
		level               funcd.AuthLevel
		keyName             string
	}{
		{"master", "hello", masterValue, funcd.AuthAdmin, "master"},
		{"master without function", "", masterValue, funcd.AuthAdmin, "master"},
		{"system key", "hello", systemValue, funcd.AuthSystem, "durabletask_extension"},
		{"host function key", "hello", hostFuncValue, funcd.AuthFunction, "default"},
		{"host function key without function", "", hostFuncValue, funcd.AuthFunction, "default"},
		{"own key", "hello", helloValue, funcd.AuthFunction, "default"},
		{"own second key", "hello", helloExtraValue, funcd.AuthFunction, "extra"},
		{"own key, other case of function name", "HELLO", helloExtraValue, funcd.AuthFunction, "extra"},
		{"other function's key", "hello", otherValue, funcd.AuthAnonymous, ""},
		{"function key without function", "", helloValue, funcd.AuthAnonymous, ""},
		{"unknown key", "hello", "nope", funcd.AuthAnonymous, ""},
		{"prefix of a key", "hello", masterValue[:5], funcd.AuthAnonymous, ""},
		{"key in other case", "hello", strings.ToUpper(masterValue), funcd.AuthAnonymous, ""},
		{"empty key", "hello", "", funcd.AuthAnonymous, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, name, err := m.Authenticate(context.Background(), tt.function, tt.key)
			if err != nil || level != tt.level || name != tt.keyName {
				t.Errorf("Authenticate(%q, %q) = %v, %q, %v; want %v, %q", tt.function, tt.key, level, name, err, tt.level, tt.keyName)
			}
		})
	}
}

// When the same value is in several lists, the strongest level wins.
func TestAuthenticateOrder(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	must(t, s.WriteHostSecrets(ctx, &HostSecrets{
		MasterKey:    Key{Name: "master", Value: "same"},
		FunctionKeys: []Key{{Name: "f", Value: "same"}, {Name: "g", Value: "fn"}},
		SystemKeys:   []Key{{Name: "s", Value: "same"}, {Name: "t", Value: "sys"}},
	}))
	must(t, s.WriteFunctionSecrets(ctx, "hello", &FunctionSecrets{Keys: []Key{{Name: "own", Value: "sys"}, {Name: "own2", Value: "fn"}}}))
	m := NewManager(s, Options{})
	for key, want := range map[string]struct {
		level funcd.AuthLevel
		name  string
	}{"same": {funcd.AuthAdmin, "master"}, "sys": {funcd.AuthSystem, "t"}, "fn": {funcd.AuthFunction, "g"}} {
		level, name, err := m.Authenticate(ctx, "hello", key)
		if err != nil || level != want.level || name != want.name {
			t.Errorf("Authenticate(%q) = %v, %q, %v; want %v, %q", key, level, name, err, want.level, want.name)
		}
	}
}

func TestAuthorized(t *testing.T) {
	const (
		anon = funcd.AuthAnonymous
		user = funcd.AuthUser
		fn   = funcd.AuthFunction
		sys  = funcd.AuthSystem
		adm  = funcd.AuthAdmin
	)
	levels := []funcd.AuthLevel{anon, user, fn, sys, adm}
	// want[required][granted]
	want := map[funcd.AuthLevel]map[funcd.AuthLevel]bool{
		anon: {anon: true, user: true, fn: true, sys: true, adm: true},
		user: {anon: false, user: true, fn: false, sys: false, adm: true},
		fn:   {anon: false, user: false, fn: true, sys: false, adm: true}, // a system key does not open a function
		sys:  {anon: false, user: false, fn: false, sys: true, adm: true},
		adm:  {anon: false, user: false, fn: false, sys: false, adm: true},
	}
	for _, required := range levels {
		for _, granted := range levels {
			if got := Authorized(required, granted); got != want[required][granted] {
				t.Errorf("Authorized(required %v, granted %v) = %v", required, granted, got)
			}
		}
	}
}

func TestCreatesSecretsOnFirstUse(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: filepath.Join(t.TempDir(), "secrets")}
	m := NewManager(s, Options{HostName: "localhost:7071", InstanceID: "abc"})

	master, err := m.MasterKey(ctx)
	must(t, err)
	if !IsIdentifiable(Master, master) {
		t.Errorf("generated master key %q is not an identifiable master key", master)
	}
	hostKeys, err := m.HostKeys(ctx, "keys")
	must(t, err)
	if len(hostKeys) != 1 || hostKeys[0].Name != "default" || !IsIdentifiable(Function, hostKeys[0].Value) {
		t.Errorf("host function keys = %+v, want one identifiable function key named default", hostKeys)
	}
	if sys, err := m.HostKeys(ctx, ScopeSystemKeys); err != nil || len(sys) != 0 {
		t.Errorf("system keys = %+v, %v; want none", sys, err)
	}
	hs, err := s.ReadHostSecrets(ctx)
	must(t, err)
	want := Metadata{HostName: "localhost:7071", InstanceID: "abc", Source: "runtime"}
	if hs.MasterKey != (Key{Name: "master", Value: master}) || hs.Metadata != want {
		t.Errorf("stored host secrets = %+v", hs)
	}

	// A function's secrets appear when it is first authenticated against.
	level, _, err := m.Authenticate(ctx, "Hello", "wrong")
	if err != nil || level != funcd.AuthAnonymous {
		t.Fatalf("Authenticate = %v, %v", level, err)
	}
	fs, err := s.ReadFunctionSecrets(ctx, "hello")
	must(t, err)
	if fs == nil || len(fs.Keys) != 1 || fs.Keys[0].Name != "default" || !IsIdentifiable(Function, fs.Keys[0].Value) {
		t.Fatalf("stored function secrets = %+v", fs)
	}
	level, name, err := m.Authenticate(ctx, "hello", fs.Keys[0].Value)
	if err != nil || level != funcd.AuthFunction || name != "default" {
		t.Errorf("Authenticate with the new key = %v, %q, %v", level, name, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "hello.json")); err != nil {
		t.Error(err)
	}
}

// An operator's host.json with a master key is used as is, and reading it
// does not rewrite it.
func TestPreProvisionedMasterKey(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	copyTestdata(t, s.Dir, map[string]string{"host.v1.json": "host.json"})
	before := readFile(t, filepath.Join(s.Dir, "host.json"))
	const master = "Sxzu9tlNIKxI802lJVl_a-xOAGarXmw3SIKNemX8XBDQAzFuRgTXaQ=="

	m := NewManager(s, Options{})
	if got, err := m.MasterKey(ctx); err != nil || got != master {
		t.Errorf("MasterKey = %q, %v; want the provisioned one", got, err)
	}
	if level, name, err := m.Authenticate(ctx, "", master); err != nil || level != funcd.AuthAdmin || name != "master" {
		t.Errorf("Authenticate(master) = %v, %q, %v", level, name, err)
	}
	if after := readFile(t, filepath.Join(s.Dir, "host.json")); !bytes.Equal(before, after) {
		t.Errorf("host.json was rewritten:\n%s", after)
	}

	// A V0 file works the same way.
	v0 := FileStore{Dir: t.TempDir()}
	copyTestdata(t, v0.Dir, map[string]string{"host.v0.json": "host.json", "hello.v0.json": "hello.json"})
	m = NewManager(v0, Options{})
	if level, _, err := m.Authenticate(ctx, "hello", "v0-master-value"); err != nil || level != funcd.AuthAdmin {
		t.Errorf("Authenticate(V0 master) = %v, %v", level, err)
	}
	if level, name, err := m.Authenticate(ctx, "hello", "v0-key-value"); err != nil || level != funcd.AuthFunction || name != "default" {
		t.Errorf("Authenticate(V0 function key) = %v, %q, %v", level, name, err)
	}
}

func TestEncryptedKeysAreRegenerated(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	copyTestdata(t, s.Dir, map[string]string{"host.encrypted.json": "host.json"})
	original := readFile(t, filepath.Join(s.Dir, "host.json"))
	var log syncBuffer
	m := NewManager(s, Options{Logger: slog.New(slog.NewTextHandler(&log, nil)), HostName: "localhost:7071"})

	master, err := m.MasterKey(ctx)
	must(t, err)
	if !IsIdentifiable(Master, master) {
		t.Errorf("master key %q was not regenerated", master)
	}
	hs, err := s.ReadHostSecrets(ctx)
	must(t, err)
	if hs.MasterKey.Encrypted || hs.MasterKey.Value != master {
		t.Errorf("stored master key = %+v", hs.MasterKey)
	}
	if len(hs.FunctionKeys) != 2 || !IsIdentifiable(Function, hs.FunctionKeys[0].Value) || hs.FunctionKeys[0].Encrypted ||
		hs.FunctionKeys[1] != (Key{Name: "plain", Value: "plain-host-key"}) {
		t.Errorf("stored function keys = %+v; want default regenerated, plain kept", hs.FunctionKeys)
	}
	if hs.InstanceID != "0000000000000000000000002B233D22" || hs.HostName != "localhost:7071" || hs.DecryptionKeyID != "" {
		t.Errorf("stored metadata = %+v", hs.Metadata)
	}
	if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "master default") {
		t.Errorf("log = %q, want a warning naming the regenerated keys", log.String())
	}
	snaps, _ := filepath.Glob(filepath.Join(s.Dir, "host.snapshot.*.json"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots = %v, want one", snaps)
	}
	if got := readFile(t, snaps[0]); !bytes.Equal(got, original) {
		t.Errorf("snapshot differs from the original file")
	}
}

func TestMalformedFileIsNotOverwritten(t *testing.T) {
	ctx := context.Background()
	s := FileStore{Dir: t.TempDir()}
	path := filepath.Join(s.Dir, "hello.json")
	const content = `{"keys": [ {"name": "default", "value": "x"} ` // truncated
	must(t, os.WriteFile(path, []byte(content), 0o600))
	m := NewManager(s, Options{})
	for _, call := range []func() error{
		func() error { _, _, err := m.Authenticate(ctx, "hello", "x"); return err },
		func() error { _, err := m.FunctionKeys(ctx, "hello"); return err },
		func() error { _, _, err := m.SetFunctionKey(ctx, "hello", "new", ""); return err },
		func() error { return m.DeleteFunctionKey(ctx, "hello", "default") },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("got %v, want an error naming %s", err, path)
		}
	}
	if got := readFile(t, path); string(got) != content {
		t.Errorf("file was changed to %s", got)
	}
}

func TestHostKeyOperations(t *testing.T) {
	ctx := context.Background()
	m, s := newTestManager(t)

	// Create with a generated value, then update with a given one.
	k, created, err := m.SetHostKey(ctx, "functionkeys", "ci", "")
	if err != nil || !created || k.Name != "ci" || !IsIdentifiable(Function, k.Value) {
		t.Fatalf("SetHostKey(ci, generate) = %+v, %v, %v", k, created, err)
	}
	k, created, err = m.SetHostKey(ctx, "keys", "CI", "given")
	if err != nil || created || k != (Key{Name: "CI", Value: "given"}) {
		t.Fatalf("SetHostKey(CI, given) = %+v, %v, %v", k, created, err)
	}
	if level, name, _ := m.Authenticate(ctx, "", "given"); level != funcd.AuthFunction || name != "CI" {
		t.Errorf("Authenticate(updated key) = %v, %q", level, name)
	}
	if got, err := m.HostKey(ctx, "FunctionKeys", "ci"); err != nil || got.Value != "given" {
		t.Errorf("HostKey(ci) = %+v, %v", got, err)
	}
	// The update moved the key to the end, under its new spelling.
	hs, err := s.ReadHostSecrets(ctx)
	must(t, err)
	if len(hs.FunctionKeys) != 2 || hs.FunctionKeys[1] != (Key{Name: "CI", Value: "given"}) {
		t.Errorf("stored function keys = %+v", hs.FunctionKeys)
	}

	// System keys get system values.
	k, created, err = m.SetHostKey(ctx, ScopeSystemKeys, "blobs_extension", "")
	if err != nil || !created || !IsIdentifiable(System, k.Value) {
		t.Errorf("SetHostKey(systemkeys, generate) = %+v, %v, %v", k, created, err)
	}
	if level, _, _ := m.Authenticate(ctx, "hello", k.Value); level != funcd.AuthSystem {
		t.Errorf("new system key grants %v", level)
	}
	list, err := m.HostKeys(ctx, ScopeSystemKeys)
	if err != nil || len(list) != 2 || list[0].Name != "durabletask_extension" || list[1].Name != "blobs_extension" {
		t.Errorf("HostKeys(systemkeys) = %+v, %v", list, err)
	}

	// Delete.
	must(t, m.DeleteHostKey(ctx, "keys", "ci"))
	if _, err := m.HostKey(ctx, "keys", "ci"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("HostKey after delete = %v, want ENOTFOUND", err)
	}
	if err := m.DeleteHostKey(ctx, "keys", "ci"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("second delete = %v, want ENOTFOUND", err)
	}
	if err := m.DeleteHostKey(ctx, "systemkeys", "default"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("delete of a key of the other scope = %v, want ENOTFOUND", err)
	}

	// Bad input.
	if _, _, err := m.SetHostKey(ctx, "masterkeys", "x", ""); funcd.ErrorCode(err) != funcd.EINVALID {
		t.Errorf("unknown scope = %v, want EINVALID", err)
	}
	if _, _, err := m.SetHostKey(ctx, "keys", "", "v"); funcd.ErrorCode(err) != funcd.EINVALID {
		t.Errorf("empty name = %v, want EINVALID", err)
	}
	if _, err := m.HostKeys(ctx, "nope"); funcd.ErrorCode(err) != funcd.EINVALID {
		t.Errorf("HostKeys(nope) = %v, want EINVALID", err)
	}
}

func TestMasterKeyOperations(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)

	// GET: the master key is found among the system keys only.
	if k, err := m.HostKey(ctx, "systemkeys", "_master"); err != nil || k.Value != masterValue {
		t.Errorf("HostKey(systemkeys, _master) = %+v, %v", k, err)
	}
	if _, err := m.HostKey(ctx, "functionkeys", "_master"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("HostKey(functionkeys, _master) = %v, want ENOTFOUND", err)
	}
	if list, _ := m.HostKeys(ctx, "systemkeys"); len(list) != 1 {
		t.Errorf("HostKeys(systemkeys) = %+v: the master key must not be listed", list)
	}

	// PUT with a value: updated (200).
	k, created, err := m.SetHostKey(ctx, "keys", "_master", "new-master")
	if err != nil || created || k != (Key{Name: "_master", Value: "new-master"}) {
		t.Fatalf("SetHostKey(_master, value) = %+v, %v, %v", k, created, err)
	}
	if level, name, _ := m.Authenticate(ctx, "", "new-master"); level != funcd.AuthAdmin || name != "master" {
		t.Errorf("new master key grants %v, %q", level, name)
	}
	if level, _, _ := m.Authenticate(ctx, "", masterValue); level != funcd.AuthAnonymous {
		t.Errorf("old master key still grants %v", level)
	}
	// POST (regenerate): created (201).
	k, created, err = m.SetHostKey(ctx, "systemkeys", "_MASTER", "")
	if err != nil || !created || !IsIdentifiable(Master, k.Value) {
		t.Fatalf("SetHostKey(_master, generate) = %+v, %v, %v", k, created, err)
	}
	if got, _ := m.MasterKey(ctx); got != k.Value {
		t.Errorf("MasterKey = %q, want %q", got, k.Value)
	}
	if list, _ := m.HostKeys(ctx, "keys"); len(list) != 1 {
		t.Errorf("setting the master key changed the function keys: %+v", list)
	}

	// DELETE is refused in every scope.
	for _, del := range []func() error{
		func() error { return m.DeleteHostKey(ctx, "keys", "_master") },
		func() error { return m.DeleteHostKey(ctx, "systemkeys", "_Master") },
		func() error { return m.DeleteFunctionKey(ctx, "hello", "_master") },
	} {
		err := del()
		if funcd.ErrorCode(err) != funcd.EINVALID || err.Error() != "Cannot delete System Key." {
			t.Errorf("deleting _master = %v, want EINVALID %q", err, "Cannot delete System Key.")
		}
	}
}

func TestFunctionKeyOperations(t *testing.T) {
	ctx := context.Background()
	m, s := newTestManager(t)

	list, err := m.FunctionKeys(ctx, "Hello")
	if err != nil || len(list) != 2 || list[0].Name != "default" || list[1].Name != "extra" {
		t.Fatalf("FunctionKeys = %+v, %v", list, err)
	}
	if k, err := m.FunctionKey(ctx, "hello", "EXTRA"); err != nil || k.Value != helloExtraValue {
		t.Errorf("FunctionKey(EXTRA) = %+v, %v", k, err)
	}
	if _, err := m.FunctionKey(ctx, "hello", "missing"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("FunctionKey(missing) = %v, want ENOTFOUND", err)
	}

	k, created, err := m.SetFunctionKey(ctx, "hello", "extra", "")
	if err != nil || created || !IsIdentifiable(Function, k.Value) {
		t.Errorf("SetFunctionKey(extra, generate) = %+v, %v, %v", k, created, err)
	}
	if level, _, _ := m.Authenticate(ctx, "hello", helloExtraValue); level != funcd.AuthAnonymous {
		t.Errorf("replaced key still grants %v", level)
	}
	if level, _, _ := m.Authenticate(ctx, "other", k.Value); level != funcd.AuthAnonymous {
		t.Errorf("hello's key grants %v on other", level)
	}

	// A function without secrets gets only the key that is set, as in the host.
	k, created, err = m.SetFunctionKey(ctx, "fresh", "mine", "v")
	if err != nil || !created {
		t.Fatalf("SetFunctionKey(fresh) = %+v, %v, %v", k, created, err)
	}
	fs, err := s.ReadFunctionSecrets(ctx, "fresh")
	must(t, err)
	if len(fs.Keys) != 1 || fs.Keys[0] != (Key{Name: "mine", Value: "v"}) {
		t.Errorf("stored fresh secrets = %+v", fs.Keys)
	}

	must(t, m.DeleteFunctionKey(ctx, "hello", "default"))
	if err := m.DeleteFunctionKey(ctx, "hello", "default"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("second delete = %v, want ENOTFOUND", err)
	}
	if err := m.DeleteFunctionKey(ctx, "nosecrets", "default"); funcd.ErrorCode(err) != funcd.ENOTFOUND {
		t.Errorf("delete without secrets = %v, want ENOTFOUND", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir, "nosecrets.json")); !os.IsNotExist(err) {
		t.Errorf("a failed delete created a secrets file: %v", err)
	}

	for _, name := range []string{"../x", "host", ""} {
		if _, err := m.FunctionKeys(ctx, name); funcd.ErrorCode(err) != funcd.EINVALID {
			t.Errorf("FunctionKeys(%q) = %v, want EINVALID", name, err)
		}
		if _, _, err := m.Authenticate(ctx, name, "k"); name != "" && funcd.ErrorCode(err) != funcd.EINVALID {
			t.Errorf("Authenticate(%q) = %v, want EINVALID", name, err)
		}
	}
}

func TestDeleteFunctionSecrets(t *testing.T) {
	ctx := context.Background()
	m, s := newTestManager(t)
	if level, _, _ := m.Authenticate(ctx, "hello", helloValue); level != funcd.AuthFunction {
		t.Fatalf("level = %v", level)
	}
	must(t, m.DeleteFunctionSecrets(ctx, "Hello"))
	if fs, err := s.ReadFunctionSecrets(ctx, "hello"); fs != nil || err != nil {
		t.Errorf("secrets after delete = %+v, %v", fs, err)
	}
	if level, _, _ := m.Authenticate(ctx, "hello", helloValue); level != funcd.AuthAnonymous {
		t.Errorf("deleted key still grants %v", level)
	}
	must(t, m.DeleteFunctionSecrets(ctx, "never"))
}

func TestExtensionKey(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	if v, err := m.ExtensionKey(ctx, "DurableTask"); err != nil || v != systemValue {
		t.Errorf("ExtensionKey(DurableTask) = %q, %v; want the existing key", v, err)
	}
	v, err := m.ExtensionKey(ctx, "mcp")
	if err != nil || !IsIdentifiable(System, v) {
		t.Fatalf("ExtensionKey(mcp) = %q, %v", v, err)
	}
	if again, _ := m.ExtensionKey(ctx, "mcp"); again != v {
		t.Errorf("second ExtensionKey(mcp) = %q, want %q", again, v)
	}
	if level, name, _ := m.Authenticate(ctx, "", v); level != funcd.AuthSystem || name != "mcp_extension" {
		t.Errorf("extension key grants %v, %q", level, name)
	}
}

func TestReload(t *testing.T) {
	ctx := context.Background()
	_, s := newTestManager(t)
	m := NewManager(s, Options{RefreshInterval: time.Hour})
	_, _, _ = m.Authenticate(ctx, "hello", "wrong") // spends the refresh a miss may do
	if level, _, _ := m.Authenticate(ctx, "hello", masterValue); level != funcd.AuthAdmin {
		t.Fatalf("level = %v", level)
	}
	// An operator edits the file while funcd runs.
	hs, err := s.ReadHostSecrets(ctx)
	must(t, err)
	hs.MasterKey.Value = "edited"
	must(t, s.WriteHostSecrets(ctx, hs))
	if level, _, _ := m.Authenticate(ctx, "hello", "edited"); level != funcd.AuthAnonymous {
		t.Errorf("edited key granted %v before Reload", level)
	}
	m.Reload()
	if level, _, _ := m.Authenticate(ctx, "hello", "edited"); level != funcd.AuthAdmin {
		t.Errorf("edited key grants %v after Reload", level)
	}
	// Writes start from the file, so edits are not lost.
	hs.FunctionKeys = append(hs.FunctionKeys, Key{Name: "added", Value: "added-value"})
	must(t, s.WriteHostSecrets(ctx, hs))
	_, _, err = m.SetHostKey(ctx, "keys", "more", "more-value")
	must(t, err)
	if level, name, _ := m.Authenticate(ctx, "", "added-value"); level != funcd.AuthFunction || name != "added" {
		t.Errorf("key added to the file grants %v, %q after a write", level, name)
	}
}

func TestConcurrentSetAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	m, _ := newTestManager(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 20 {
				name := fmt.Sprintf("k%d-%d", w, i)
				if _, _, err := m.SetHostKey(ctx, "keys", name, name+"-value"); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := m.SetFunctionKey(ctx, "hello", name, name+"-own"); err != nil {
					t.Error(err)
					return
				}
				if level, got, err := m.Authenticate(ctx, "hello", name+"-value"); err != nil || level != funcd.AuthFunction || got != name {
					t.Errorf("Authenticate(%s) = %v, %q, %v", name, level, got, err)
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 100 {
				if level, _, err := m.Authenticate(ctx, "hello", helloValue); err != nil || level != funcd.AuthFunction {
					t.Errorf("Authenticate(hello) = %v, %v", level, err)
					return
				}
				if level, _, err := m.Authenticate(ctx, "other", masterValue); err != nil || level != funcd.AuthAdmin {
					t.Errorf("Authenticate(master) = %v, %v", level, err)
					return
				}
			}
		})
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 10 {
			m.Reload()
		}
	}()
	wg.Wait()
	list, err := m.HostKeys(ctx, "keys")
	if err != nil || len(list) != 1+4*20 {
		t.Errorf("%d host function keys after concurrent sets, want %d (%v)", len(list), 1+4*20, err)
	}
	own, err := m.FunctionKeys(ctx, "hello")
	if err != nil || len(own) != 2+4*20 {
		t.Errorf("%d hello keys after concurrent sets, want %d (%v)", len(own), 2+4*20, err)
	}
}

func TestListsAreNeverNil(t *testing.T) {
	ctx := context.Background()
	m := NewManager(FileStore{Dir: t.TempDir()}, Options{})
	if list, err := m.HostKeys(ctx, ScopeSystemKeys); err != nil || list == nil {
		t.Errorf("HostKeys(systemkeys) = %#v, %v; want an empty list", list, err)
	}
	_, _, err := m.SetFunctionKey(ctx, "hello", "only", "v")
	must(t, err)
	must(t, m.DeleteFunctionKey(ctx, "hello", "only"))
	if list, err := m.FunctionKeys(ctx, "hello"); err != nil || list == nil || len(list) != 0 {
		t.Errorf("FunctionKeys = %#v, %v; want an empty list", list, err)
	}
}

// TestRefreshOnMiss: a key that matches nothing reloads the secrets files, at
// most once per RefreshInterval, so keys edited into the files are picked up.
func TestRefreshOnMiss(t *testing.T) {
	ctx := context.Background()
	_, s := newTestManager(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := NewManager(s, Options{RefreshInterval: time.Minute, Now: func() time.Time { return now }})
	if level, _, _ := m.Authenticate(ctx, "hello", helloValue); level != funcd.AuthFunction {
		t.Fatalf("level = %v", level)
	}
	edit := func(value string) {
		hs, err := s.ReadHostSecrets(ctx)
		must(t, err)
		hs.FunctionKeys = append(hs.FunctionKeys, Key{Name: value, Value: value})
		must(t, s.WriteHostSecrets(ctx, hs))
	}
	edit("first-edit")
	if level, name, _ := m.Authenticate(ctx, "hello", "first-edit"); level != funcd.AuthFunction || name != "first-edit" {
		t.Errorf("a key added to the file grants %v %q; the miss should have reloaded", level, name)
	}
	edit("second-edit")
	now = now.Add(30 * time.Second)
	if level, _, _ := m.Authenticate(ctx, "hello", "second-edit"); level != funcd.AuthAnonymous {
		t.Errorf("reloaded again within the interval (level %v)", level)
	}
	now = now.Add(31 * time.Second)
	if level, _, _ := m.Authenticate(ctx, "hello", "second-edit"); level != funcd.AuthFunction {
		t.Errorf("not reloaded after the interval (level %v)", level)
	}
}

// Two processes that create the secrets at once (funcd start and funcd keys
// list run together, say) end with the same keys: the later creation takes
// the earlier one's.
func TestConcurrentCreationAgrees(t *testing.T) {
	ctx := context.Background()
	for range 20 {
		dir := t.TempDir()
		const n = 4
		masters := make([]string, n)
		funcKeys := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				m := NewManager(FileStore{Dir: dir}, Options{}) // a process of its own
				mk, err := m.MasterKey(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				fk, err := m.FunctionKey(ctx, "products", "default")
				if err != nil {
					t.Error(err)
					return
				}
				masters[i], funcKeys[i] = mk, fk.Value
			})
		}
		wg.Wait()
		stored, err := FileStore{Dir: dir}.ReadHostSecrets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if masters[i] != stored.MasterKey.Value || funcKeys[i] != funcKeys[0] || masters[i] == "" {
				t.Fatalf("managers disagree: masters %v (stored %s), function keys %v", masters, stored.MasterKey.Value, funcKeys)
			}
		}
	}
}
