package host

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// fakeStore stands for a store in tests that only pass it around.
type fakeStore struct{ storage.Store }

func (fakeStore) Close() error { return nil }

// The primary host lease of a fakeStore is held by another process.
func (fakeStore) AcquireLease(context.Context, string, string, time.Duration) (storage.Lease, error) {
	return storage.Lease{}, storage.ErrLeaseHeld
}
func (fakeStore) RenewLease(context.Context, storage.Lease, time.Duration) (storage.Lease, error) {
	return storage.Lease{}, storage.ErrLeaseLost
}
func (fakeStore) ReleaseLease(context.Context, storage.Lease) error { return nil }

func newTestConnector(settings map[string]string, local *funcd.LocalSettings, be backends) *connector {
	return &connector{
		settings: settings, local: local, store: fakeStore{}, storeKind: "embedded", storeDir: "/state/store",
		backends: be, clock: clock.Real{}, log: slog.New(slog.DiscardHandler), cache: &connCache{},
	}
}

func TestLookupSetting(t *testing.T) {
	local := &funcd.LocalSettings{ConnectionStrings: map[string]string{"Conn": "from-cs"}}
	tests := []struct {
		settings map[string]string
		name     string
		want     string
		found    string
	}{
		{map[string]string{"AzureWebJobsStorage": "a"}, "AzureWebJobsStorage", "a", "AzureWebJobsStorage"},
		{map[string]string{"AzureWebJobsMine": "p", "Mine": "u"}, "Mine", "p", "AzureWebJobsMine"},
		{map[string]string{"mine": "lower"}, "Mine", "lower", "mine"},
		{map[string]string{"ConnectionStrings:Mine": "cs", "Mine": "u"}, "Mine", "cs", "ConnectionStrings:Mine"},
		{map[string]string{"ConnectionStrings__Mine": "cs"}, "Mine", "cs", "ConnectionStrings__Mine"},
		{map[string]string{"Conn": "plain"}, "Conn", "from-cs", "ConnectionStrings:Conn"},
	}
	for _, tt := range tests {
		v, found, ok := lookupSetting(tt.settings, local, tt.name)
		if !ok || v != tt.want || found != tt.found {
			t.Errorf("%v %s: got %q from %q (%v), want %q from %q", tt.settings, tt.name, v, found, ok, tt.want, tt.found)
		}
	}
}

func TestConnectMissingStorage(t *testing.T) {
	c := newTestConnector(map[string]string{}, &funcd.LocalSettings{}, backends{})
	_, err := c.Connect("")
	ce, ok := errors.AsType[*funcd.ConfigError](err)
	if !ok || !strings.HasPrefix(ce.Msg, "Missing value for AzureWebJobsStorage in local.settings.json. This is required for all triggers other than httptrigger, kafkatrigger, rabbitmqtrigger") {
		t.Fatalf("error = %v", err)
	}
	if ce.Field != "connection" || !strings.Contains(ce.Hint, "UseDevelopmentStorage=true") {
		t.Errorf("error %+v", ce)
	}

	// Empty in local.settings.json: located there.
	local := &funcd.LocalSettings{Values: map[string]string{"MyConn": " "}}
	c = newTestConnector(map[string]string{"MyConn": " "}, local, backends{})
	_, err = c.Connect("MyConn")
	ce, _ = errors.AsType[*funcd.ConfigError](err)
	if ce == nil || ce.File != "local.settings.json" || ce.Field != "Values.MyConn" || !strings.Contains(ce.Hint, "is empty") {
		t.Errorf("empty setting: %+v", ce)
	}

	// Identity-based connections are Azure-only.
	c = newTestConnector(map[string]string{"MyConn__queueServiceUri": "https://x.queue.core.windows.net"}, &funcd.LocalSettings{}, backends{})
	_, err = c.Connect("MyConn")
	if err == nil || !strings.Contains(err.Error(), "identity-based") {
		t.Errorf("identity-based: %v", err)
	}
}

func TestConnectDevelopmentStorage(t *testing.T) {
	azurite := true
	var opened []string
	be := backends{
		azure: func(conn string, _ clock.Clock, _ *slog.Logger) (*binding.Provider, error) {
			opened = append(opened, conn)
			return &binding.Provider{Name: "azure"}, nil
		},
		azurite: func(context.Context) (bool, string) { return azurite, "127.0.0.1:10000-10001" },
	}
	settings := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", "Other": "UseDevelopmentStorage=true"}
	c := newTestConnector(settings, nil, be)
	p, err := c.Connect("")
	if err != nil || p.Name != "azurite" {
		t.Fatalf("with Azurite running: %v %v", p, err)
	}
	q, _ := c.Connect("Other")
	if q != p || len(opened) != 1 {
		t.Errorf("the provider of one connection value is not shared (%d opened)", len(opened))
	}

	azurite = false
	c = newTestConnector(settings, nil, be)
	if p, err := c.Connect(""); err != nil || p.Name != "embedded" || p.Queues == nil {
		t.Errorf("without Azurite: %+v %v", p, err)
	}

	for mode, want := range map[string]string{"embedded": "embedded", "azurite": "azurite", "AUTO": "embedded"} {
		s := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", SettingDevelopmentStorage: mode}
		if p, err := newTestConnector(s, nil, be).Connect(""); err != nil || p.Name != want {
			t.Errorf("%s=%s: %+v %v, want %s", SettingDevelopmentStorage, mode, p, err, want)
		}
	}
	// With a shared PostgreSQL store, a running Azurite takes nothing away
	// from the hosts sharing it, unless asked for.
	azurite = true
	shared := newTestConnector(settings, nil, be)
	shared.storeKind = "postgres"
	if p, err := shared.Connect(""); err != nil || p.Name != "postgres" {
		t.Errorf("with FUNCD_STORE and Azurite running: %+v %v, want funcd's store", p, err)
	}
	shared = newTestConnector(map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", SettingDevelopmentStorage: "azurite"}, nil, be)
	shared.storeKind = "postgres"
	if p, err := shared.Connect(""); err != nil || p.Name != "azurite" {
		t.Errorf("with FUNCD_STORE and %s=azurite: %+v %v", SettingDevelopmentStorage, p, err)
	}

	s := map[string]string{"AzureWebJobsStorage": "UseDevelopmentStorage=true", SettingDevelopmentStorage: "cloud"}
	if _, err := newTestConnector(s, nil, be).Connect(""); err == nil {
		t.Error("a bad FUNCD_DEVELOPMENT_STORAGE was accepted")
	}
}

func TestConnectAzure(t *testing.T) {
	be := backends{azure: func(conn string, _ clock.Clock, _ *slog.Logger) (*binding.Provider, error) {
		if !strings.Contains(conn, "AccountName=") {
			return nil, errors.New("no account name")
		}
		return &binding.Provider{Name: "azure"}, nil
	}}
	good := "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net"
	if p, err := newTestConnector(map[string]string{"S": good}, nil, be).Connect("S"); err != nil || p.Name != "azure" {
		t.Errorf("%+v %v", p, err)
	}
	if _, err := newTestConnector(map[string]string{"S": "nonsense"}, nil, be).Connect("S"); err == nil {
		t.Error("a bad connection string was accepted")
	}
	if _, err := newTestConnector(map[string]string{"S": good}, nil, backends{}).Connect("S"); err == nil {
		t.Error("a build without Azure Storage accepted a connection string")
	}
}

func TestChooseStore(t *testing.T) {
	for v, want := range map[string]string{
		"":                                  "embedded",
		"postgres://u:p@localhost:5432/db":  "postgres",
		"postgresql://localhost/db":         "postgres",
		"host=localhost dbname=test user=x": "postgres",
		"  ":                                "embedded",
	} {
		c, err := chooseStore(map[string]string{SettingStore: v}, nil, "/state")
		if err != nil || c.kind != want {
			t.Errorf("%q: %+v %v, want %s", v, c, err, want)
		}
	}
	for _, v := range []string{"sqlite:///x", "mysql://x", "hello"} {
		if _, err := chooseStore(map[string]string{SettingStore: v}, nil, "/state"); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
	if got := redactConn("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redacted %q", got)
	}
	if got := redactConn("host=h password=secret"); strings.Contains(got, "secret") {
		t.Errorf("redacted %q", got)
	}
}

func TestRegistry(t *testing.T) {
	r := NewRegistry([]binding.Kind{{Type: "queueTrigger"}, {Type: "queue"}})
	for typ, want := range map[string]bool{"QUEUETRIGGER": true, "queue": true, "httpTrigger": true, "HTTP": true, "blob": false} {
		if r.Known(typ) != want {
			t.Errorf("Known(%s) = %v", typ, !want)
		}
	}
	if _, ok := r.Lookup("QueueTrigger"); !ok {
		t.Error("Lookup is case-sensitive")
	}
}

func TestHostID(t *testing.T) {
	if got := hostID(map[string]string{SettingHostID: "My-App-", "WEBSITE_SITE_NAME": "site"}, "/app"); got != "my-app" {
		t.Errorf("with %s: %q", SettingHostID, got)
	}
	if got := hostID(map[string]string{"WEBSITE_SITE_NAME": "Orders-Site-With-A-Very-Long-Name-Indeed"}, "/app"); got != "orders-site-with-a-very-long-nam" {
		t.Errorf("with WEBSITE_SITE_NAME: %q", got)
	}
	if a, b := hostID(nil, "/app/one"), hostID(nil, "/app/two"); a == b {
		t.Errorf("two folders on one machine share the host id %q", a)
	}
}
