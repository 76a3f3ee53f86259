package host

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestDefaultStateDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_STATE_HOME", home)
	apps := t.TempDir()
	a := filepath.Join(apps, "orders")
	b := filepath.Join(apps, "other", "orders")
	for _, dir := range []string{a, b} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	da, err := DefaultStateDir(a)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(da) != filepath.Join(home, "funcd", "apps") || !strings.HasPrefix(filepath.Base(da), "orders-") {
		t.Errorf("DefaultStateDir(%s) = %s, want %s/funcd/apps/orders-<hash>", a, da, home)
	}
	if again, _ := DefaultStateDir(a); again != da {
		t.Errorf("DefaultStateDir is not stable: %s, then %s", da, again)
	}
	if db, _ := DefaultStateDir(b); db == da {
		t.Errorf("two apps named orders share the state folder %s", da)
	}
	if runtime.GOOS != "windows" {
		link := filepath.Join(apps, "link")
		if err := os.Symlink(a, link); err != nil {
			t.Fatal(err)
		}
		if dl, _ := DefaultStateDir(link); dl != da {
			t.Errorf("through a symbolic link: %s, want %s", dl, da)
		}
	}

	// A relative XDG_STATE_HOME is ignored, as the XDG specification says.
	t.Setenv("XDG_STATE_HOME", "relative/state")
	if runtime.GOOS == "linux" {
		t.Setenv("HOME", home)
		if d, _ := DefaultStateDir(a); filepath.Dir(d) != filepath.Join(home, ".local", "state", "funcd", "apps") {
			t.Errorf("without XDG_STATE_HOME: %s, want it under ~/.local/state/funcd/apps", d)
		}
		t.Setenv("HOME", "")
		if _, err := DefaultStateDir(a); err == nil || !strings.Contains(err.Error(), "--state-dir") {
			t.Errorf("without a home folder: err = %v, want one that suggests --state-dir", err)
		}
	}
}

func TestAppStateName(t *testing.T) {
	for root, prefix := range map[string]string{
		"/srv/my app":                     "my_app-",
		"/srv/é":                          "app-", // nothing of the name is left
		"/":                               "app-",
		"/srv/" + strings.Repeat("x", 60): strings.Repeat("x", 40) + "-",
	} {
		name := appStateName(root)
		if !strings.HasPrefix(name, prefix) || len(name) != len(prefix)+12 {
			t.Errorf("appStateName(%q) = %q, want %q and 12 hex digits", root, name, prefix)
		}
	}
}

// TestStartStateOutsideTheApp: a host with no StateDir keeps its keys in
// the per-user folder, and writes nothing into the app folder.
func TestStartStateOutsideTheApp(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version": "2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{ScriptRoot: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(context.Background())
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Keys().MasterKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	want, _ := DefaultStateDir(dir)
	if h.StateDir() != want {
		t.Errorf("StateDir() = %s, want %s", h.StateDir(), want)
	}
	if _, err := os.Stat(filepath.Join(want, "secrets", "host.json")); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the app folder holds %v, want only host.json", entries)
	}
}
