package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/funcd/funcd/host"
)

// keyTable parses `funcd keys list` output into scope/name -> value.
func keyTable(t *testing.T, out string) map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "SCOPE NAME VALUE" {
		t.Fatalf("keys list output has no header:\n%s", out)
	}
	keys := map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("keys list line %q has %d fields", l, len(f))
		}
		keys[f[0]+"/"+f[1]] = f[2]
	}
	return keys
}

var generated = regexp.MustCompile(`^[A-Za-z0-9_-]{44}AzFu[A-Za-z0-9_-]{6}==$`)

func TestKeysList(t *testing.T) {
	dir := newApp(t, "hello", "orders")
	keys := keyTable(t, mustRun(t, "keys", "list", "--script-root", dir))
	for _, k := range []string{"master/_master", "host/default", "function:hello/default", "function:orders/default"} {
		if !generated.MatchString(keys[k]) {
			t.Errorf("%s = %q, want a generated key", k, keys[k])
		}
	}
	// The keys live in the app's own folder outside it, never in the app.
	state, err := host.DefaultStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(state, os.Getenv("XDG_STATE_HOME")+string(filepath.Separator)) {
		t.Errorf("state folder %s is not under XDG_STATE_HOME", state)
	}
	for _, f := range []string{"host.json", "hello.json", "orders.json"} {
		fileExists(t, filepath.Join(state, "secrets", f))
	}
	if _, err := os.Stat(filepath.Join(dir, ".funcd")); !os.IsNotExist(err) {
		t.Errorf("keys list made a .funcd folder in the app (%v)", err)
	}

	again := keyTable(t, mustRun(t, "keys", "list", "--script-root", dir, "--function", "HELLO"))
	if len(again) != 1 || again["function:hello/default"] != keys["function:hello/default"] {
		t.Errorf("keys list --function HELLO = %v", again)
	}
}

func TestKeysChange(t *testing.T) {
	dir := newApp(t, "hello")
	root := []string{"--script-root", dir}
	keys := func(extra ...string) map[string]string {
		return keyTable(t, mustRun(t, append(append([]string{"keys", "list"}, root...), extra...)...))
	}
	keys() // creates the host's and hello's secrets

	wantContains(t, mustRun(t, append([]string{"keys", "set", "ci", "value-1"}, root...)...), `Created host function key "ci".`)
	wantContains(t, mustRun(t, append([]string{"keys", "set", "ci", "value-2"}, root...)...), `Set host function key "ci".`)
	wantContains(t, mustRun(t, append([]string{"keys", "set", "hook", "s3cret", "--system"}, root...)...), `Created host system key "hook".`)
	wantContains(t, mustRun(t, append([]string{"keys", "set", "mine", "fn-value", "--function", "hello"}, root...)...),
		`Created key "mine" of function hello.`)
	got := keys()
	if got["host/ci"] != "value-2" || got["system/hook"] != "s3cret" || got["function:hello/mine"] != "fn-value" {
		t.Errorf("keys after set: %v", got)
	}

	out := mustRun(t, append([]string{"keys", "renew", "default", "--function", "hello"}, root...)...)
	wantContains(t, out, `Renewed key "default" of function hello.`)
	if renewed := strings.TrimSpace(strings.SplitN(out, "\n", 2)[1]); renewed != keys()["function:hello/default"] || !generated.MatchString(renewed) {
		t.Errorf("renew printed %q; the store has %q", renewed, keys()["function:hello/default"])
	}

	oldMaster := keys()["master/_master"]
	out = mustRun(t, append([]string{"keys", "renew", "_master"}, root...)...)
	wantContains(t, out, "Renewed the master key.")
	if m := keys()["master/_master"]; m == oldMaster || !strings.Contains(out, m) {
		t.Errorf("master key after renew = %q (was %q); output:\n%s", m, oldMaster, out)
	}
	mustRun(t, append([]string{"keys", "set", "_MASTER", "my-master"}, root...)...)
	if m := keys()["master/_master"]; m != "my-master" {
		t.Errorf("master key after set = %q", m)
	}

	wantContains(t, mustRun(t, append([]string{"keys", "delete", "ci"}, root...)...), `Deleted host function key "ci".`)
	if _, ok := keys()["host/ci"]; ok {
		t.Error("ci still listed after delete")
	}
	wantContains(t, mustFail(t, append([]string{"keys", "delete", "ci"}, root...)...), "ci")
	wantContains(t, mustFail(t, append([]string{"keys", "delete", "_master"}, root...)...), "the master key cannot be deleted")
	wantContains(t, mustFail(t, append([]string{"keys", "set", "x", "y", "--function", "nope"}, root...)...), `there is no function named "nope"`)
	wantContains(t, mustFail(t, append([]string{"keys", "set", "x", "y", "--function", "hello", "--system"}, root...)...), "function system")
	wantContains(t, mustFail(t, append([]string{"keys", "renew", "_master", "--function", "hello"}, root...)...), "the master key is a host key")
}

func TestKeysStateFolder(t *testing.T) {
	dir := newApp(t, "hello")
	state := filepath.Join(t.TempDir(), "state")
	mustRun(t, "keys", "list", "--script-root", dir, "--state-dir", state)
	fileExists(t, filepath.Join(state, "secrets", "host.json"))

	secrets := filepath.Join(t.TempDir(), "secrets")
	settings := `{"IsEncrypted": false, "Values": {"AzureWebJobsSecretStorageType": "files", "FUNCTIONS_SECRETS_PATH": ` +
		strconv.Quote(secrets) + `}}`
	if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "keys", "set", "ci", "v", "--script-root", dir)
	fileExists(t, filepath.Join(secrets, "host.json"))
}

// TestKeysLegacyStateFolder: an app with a .funcd folder from an earlier
// funcd keeps its keys there; funcd keys protects the folder from git and
// says how to move it.
func TestKeysLegacyStateFolder(t *testing.T) {
	dir := newApp(t, "hello")
	legacy := filepath.Join(dir, ".funcd")
	before := keyTable(t, mustRun(t, "keys", "list", "--script-root", dir, "--state-dir", legacy))

	code, out, errOut := runCLI(t, "keys", "list", "--script-root", dir)
	if code != 0 {
		t.Fatalf("keys list: exit %d\n%s", code, errOut)
	}
	if got := keyTable(t, out); got["master/_master"] != before["master/_master"] || got["function:hello/default"] != before["function:hello/default"] {
		t.Errorf("keys list without --state-dir = %v, want the keys in .funcd: %v", got, before)
	}
	user, err := host.DefaultStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	wantContains(t, errOut, "This app's keys are in "+legacy+", inside the app folder",
		"mkdir -p "+filepath.Dir(user)+" && mv "+legacy+" "+user)
	ignore, err := os.ReadFile(filepath.Join(legacy, ".gitignore"))
	if err != nil || !strings.Contains(string(ignore), "\n*\n") {
		t.Errorf(".funcd/.gitignore = %q, %v; want one that ignores everything", ignore, err)
	}
	if _, err := os.Stat(user); !os.IsNotExist(err) {
		t.Errorf("the per-user state folder was made although .funcd is used (%v)", err)
	}

	// Moved as the warning says, the keys are found in their new place.
	if err := os.MkdirAll(filepath.Dir(user), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(legacy, user); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "keys", "list", "--script-root", dir)
	if code != 0 || strings.Contains(errOut, "inside the app folder") {
		t.Fatalf("keys list after the move: exit %d\n%s", code, errOut)
	}
	if got := keyTable(t, out); got["master/_master"] != before["master/_master"] {
		t.Errorf("master key after the move = %q, want %q", got["master/_master"], before["master/_master"])
	}
}

// TestKeysOutsideAnApp: funcd keys refuses a folder without host.json, as
// funcd start does, rather than make up keys no host serves.
func TestKeysOutsideAnApp(t *testing.T) {
	empty := t.TempDir()
	out := mustFail(t, "keys", "list", "--script-root", empty)
	wantContains(t, out, "Unable to find project root")
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("funcd keys wrote into a folder it refused: %v", entries)
	}
}
