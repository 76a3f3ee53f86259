package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/host"
)

// bannerApp starts a host (no handler) for an app with an anonymous, a
// function-level, an admin-level function and a function-level one
// without a default key, and returns it with its master key and the
// function key of "keyed".
func bannerApp(t *testing.T) (h *host.Host, master, fnKey string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("host.json", `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`)
	for name, level := range map[string]string{"open": "anonymous", "keyed": "function", "nodefault": "function", "secured": "admin"} {
		write(name+"/function.json", `{"bindings": [
			{"authLevel": "`+level+`", "type": "httpTrigger", "direction": "in", "name": "req", "methods": ["get"]},
			{"type": "http", "direction": "out", "name": "res"}]}`)
	}
	noWorker := func(*funcd.App, host.WorkerOptions) (host.Worker, error) { return nil, nil }
	h, err := host.New(host.Config{ScriptRoot: dir, StateDir: t.TempDir(), NewWorker: noWorker})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	// A function whose secrets hold a key of another name has no default.
	if _, _, err := h.Keys().SetFunctionKey(ctx, "nodefault", "ci", "a-key-of-another-name-0123456789"); err != nil {
		t.Fatal(err)
	}
	if master, err = h.Keys().MasterKey(ctx); err != nil {
		t.Fatal(err)
	}
	k, err := h.Keys().FunctionKey(ctx, "keyed", "default")
	if err != nil {
		t.Fatal(err)
	}
	return h, master, k.Value
}

func banner(h *host.Host, g *globals, o startOptions) string {
	var out bytes.Buffer
	g.stdout = &out
	printBanner(g, h, o, "http://localhost:7071")
	return out.String()
}

func TestBannerOnATerminal(t *testing.T) {
	h, master, fnKey := bannerApp(t)
	out := banner(h, &globals{stdoutTerminal: true}, startOptions{})
	wantContains(t, out,
		"\topen: [GET] http://localhost:7071/api/open\n",
		"\tkeyed: [GET] http://localhost:7071/api/keyed?code="+fnKey+"\n",
		"\tnodefault: [GET] http://localhost:7071/api/nodefault (needs a function key: funcd keys list --function nodefault)\n",
		"\tsecured: [GET] http://localhost:7071/api/secured (needs the master key, _master: funcd keys list)\n")
	if strings.Contains(out, master) {
		t.Errorf("the banner shows the master key:\n%s", out)
	}
}

func TestBannerNotOnATerminal(t *testing.T) {
	h, master, fnKey := bannerApp(t)
	out := banner(h, &globals{scriptRoot: "my app"}, startOptions{stateDir: "/tmp/state"})
	wantContains(t, out,
		"\topen: [GET] http://localhost:7071/api/open\n",
		"\tkeyed: [GET] http://localhost:7071/api/keyed (needs a function key: funcd keys list --script-root 'my app' --state-dir /tmp/state --function keyed)\n",
		"\tsecured: [GET] http://localhost:7071/api/secured (needs the master key, _master: funcd keys list --script-root 'my app' --state-dir /tmp/state)\n")
	for _, k := range []string{master, fnKey, "code="} {
		if strings.Contains(out, k) {
			t.Errorf("the banner shows a key (%.6s...) though stdout is not a terminal:\n%s", k, out)
		}
	}
}

func TestBannerNoAuth(t *testing.T) {
	h, master, fnKey := bannerApp(t)
	out := banner(h, &globals{stdoutTerminal: true}, startOptions{noAuth: true})
	wantContains(t, out, "Authentication is off", "\tkeyed: [GET] http://localhost:7071/api/keyed\n", "\tsecured: [GET] http://localhost:7071/api/secured\n")
	if strings.Contains(out, master) || strings.Contains(out, fnKey) || strings.Contains(out, "needs") {
		t.Errorf("--no-auth needs no keys:\n%s", out)
	}
}

// TestBannerAllowList: a broken function is reported, unless the allow list
// leaves it out, as the host reports no errors for such a function.
func TestBannerAllowList(t *testing.T) {
	noWorker := func(*funcd.App, host.WorkerOptions) (host.Worker, error) { return nil, nil }
	h := startBannerHost(t, map[string]string{
		"host.json":             `{"version": "2.0", "customHandler": {"description": {"defaultExecutablePath": "handler"}}}`,
		"open/function.json":    `{"bindings": [{"authLevel": "anonymous", "type": "httpTrigger", "direction": "in", "name": "req"}, {"type": "http", "direction": "out", "name": "res"}]}`,
		"broken/function.json":  `{"bindings": [{"type": "httpTriger", "direction": "in", "name": "req"}]}`,
		"broken2/function.json": `{"bindings": [{"type": "httpTriger", "direction": "in", "name": "req"}]}`,
	}, host.Config{NewWorker: noWorker, AllowList: []string{"open", "broken"}})
	out := banner(h, &globals{}, startOptions{})
	wantContains(t, out, "broken: not loaded, 1 error(s)")
	if strings.Contains(out, "broken2") {
		t.Errorf("the listing reports a function outside the allow list:\n%s", out)
	}
}

// indexingWorker is a language worker that indexes the app itself.
type indexingWorker struct{ fns []appconfig.WorkerFunction }

func (indexingWorker) Start(context.Context) error    { return nil }
func (indexingWorker) Shutdown(context.Context) error { return nil }
func (indexingWorker) Invoke(context.Context, *funcd.Invocation) (*funcd.Result, error) {
	return nil, funcd.Errorf(funcd.EINTERNAL, "not invoked in this test")
}
func (w indexingWorker) Functions(context.Context) ([]appconfig.WorkerFunction, bool, error) {
	return w.fns, true, nil
}

// TestBannerWorkerIndexed: a function in error that the worker registered
// is not one funcd doctor can see, so the listing points at the log and the
// admin API instead.
func TestBannerWorkerIndexed(t *testing.T) {
	w := indexingWorker{fns: []appconfig.WorkerFunction{
		{Name: "open", Bindings: []json.RawMessage{
			json.RawMessage(`{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}`),
			json.RawMessage(`{"type": "http", "direction": "out", "name": "$return"}`)}},
		{Name: "report", Bindings: []json.RawMessage{
			json.RawMessage(`{"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous"}`),
			json.RawMessage(`{"type": "table", "direction": "in", "name": "rows", "tableName": "t"}`)}},
	}}
	newWorker := func(*funcd.App, host.WorkerOptions) (host.Worker, error) { return w, nil }
	h := startBannerHost(t, map[string]string{
		"host.json":           `{"version": "2.0"}`,
		"local.settings.json": `{"IsEncrypted": false, "Values": {"FUNCTIONS_WORKER_RUNTIME": "golang"}}`,
	}, host.Config{NewWorker: newWorker})
	out := banner(h, &globals{}, startOptions{})
	wantContains(t, out, "http://localhost:7071/api/open\n",
		"\treport: not loaded, 1 error(s), logged below and listed by GET /admin/functions/report/status\n")
	if strings.Contains(out, "funcd doctor") {
		t.Errorf("the listing sends a worker-indexed app to funcd doctor:\n%s", out)
	}
}

// startBannerHost writes files (by path) into a new app folder and starts a
// host on it with cfg, for a banner to be made of.
func startBannerHost(t *testing.T, files map[string]string, cfg host.Config) *host.Host {
	t.Helper()
	cfg.ScriptRoot, cfg.StateDir = t.TempDir(), t.TempDir()
	for name, data := range files {
		p := filepath.Join(cfg.ScriptRoot, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := host.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h
}
