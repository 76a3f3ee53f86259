package host

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcd/funcd"
)

// writeSettingsApp writes a host.json and a local.settings.json with values.
func writeSettingsApp(t *testing.T, values string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "host.json"), []byte(`{"version": "2.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	settings := `{"IsEncrypted": false, "Values": {` + values + `}}`
	if err := os.WriteFile(filepath.Join(dir, "local.settings.json"), []byte(settings), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOpenProviderSharesTheHostsStore: what OpenProvider writes is in the
// embedded store a host of the same app and state folder opens.
func TestOpenProviderSharesTheHostsStore(t *testing.T) {
	dir := writeSettingsApp(t, `"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCD_DEVELOPMENT_STORAGE": "embedded"`)
	state := t.TempDir()
	ctx := context.Background()
	p, closer, err := OpenProvider(ctx, Config{ScriptRoot: dir, StateDir: state}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "embedded" || p.Queues == nil || p.Blobs == nil || p.Feed == nil {
		t.Fatalf("provider %+v", p)
	}
	if _, err := p.Queues.Enqueue(ctx, "orders", []byte("hello"), 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}

	h, err := New(Config{ScriptRoot: dir, StateDir: state})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Shutdown(ctx)
	msgs, err := h.Store().Peek(ctx, "orders", 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "hello" {
		t.Fatalf("the host's store has %v, %v; want the message", msgs, err)
	}
	if _, err := os.Stat(filepath.Join(state, "store")); err != nil {
		t.Errorf("the store is not in the state folder: %v", err)
	}
}

// TestOpenProviderErrors: a missing setting is the host's error, and an
// Azure connection string opens no store.
func TestOpenProviderErrors(t *testing.T) {
	dir := writeSettingsApp(t, `"Other": "UseDevelopmentStorage=true"`)
	state := t.TempDir()
	_, _, err := OpenProvider(context.Background(), Config{ScriptRoot: dir, StateDir: state, Environ: []string{}}, "")
	ce, ok := errors.AsType[*funcd.ConfigError](err)
	if !ok || !strings.HasPrefix(ce.Msg, missingStorage[:60]) {
		t.Fatalf("error = %v, want the missing AzureWebJobsStorage message", err)
	}
	_, _, err = OpenProvider(context.Background(), Config{ScriptRoot: dir, StateDir: state, Environ: []string{}}, "Nope")
	if err == nil || !strings.Contains(err.Error(), "Cannot find value named 'Nope'") {
		t.Fatalf("error = %v", err)
	}
	p, closer, err := OpenProvider(context.Background(), Config{ScriptRoot: dir, StateDir: state, Environ: []string{}}, "Other")
	if err != nil || p.Queues == nil {
		t.Fatalf("connection Other: %v, %v", p, err)
	}
	closer.Close()

	dir = writeSettingsApp(t, `"AzureWebJobsStorage": "UseDevelopmentStorage=true", "FUNCD_STORE": "mysql://x"`)
	_, _, err = OpenProvider(context.Background(), Config{ScriptRoot: dir, StateDir: state, Environ: []string{}}, "")
	if err == nil || !strings.Contains(err.Error(), "FUNCD_STORE is not a PostgreSQL connection string") {
		t.Fatalf("error = %v", err)
	}
}
