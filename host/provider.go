package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// OpenProvider opens the storage provider a binding's connection setting
// ("" means AzureWebJobsStorage) points to, exactly as a host started with
// cfg would: the same settings (local.settings.json Values and
// ConnectionStrings over cfg.Environ), the same FUNCD_STORE and state
// folder, the same rule for UseDevelopmentStorage=true. It is for tools that
// work on an app's queues and blobs beside the host (funcd queue, funcd
// blob), running or not: the embedded store may be opened by two processes
// at once.
//
// Only ScriptRoot, StateDir, Environ, Store, Logger and Clock of cfg are
// used. The store is opened only when the connection resolves to it. The
// Closer releases what OpenProvider opened; call it when done. Errors about
// the setting are *funcd.ConfigError, as the host reports them.
func OpenProvider(ctx context.Context, cfg Config, connection string) (*binding.Provider, io.Closer, error) {
	if cfg.ScriptRoot == "" {
		return nil, nil, errors.New("host: Config.ScriptRoot is empty")
	}
	root, err := filepath.Abs(cfg.ScriptRoot)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot resolve script root: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.StateDir == "" {
		loc, err := findStateDir(root)
		if err != nil {
			return nil, nil, err
		}
		loc.keepLegacy(cfg.Logger)
		cfg.StateDir = loc.dir
	}
	local, err := appconfig.ReadLocalSettings(os.DirFS(root), "local.settings.json")
	if err != nil {
		return nil, nil, err
	}
	settings, _ := appconfig.Environ(cfg.Environ, local)
	c := &connector{
		settings: settings, local: local, backends: defaultBackends(), clock: cfg.Clock, log: cfg.Logger, cache: &connCache{},
	}
	_, value, err := c.resolve(connection)
	if err != nil {
		return nil, nil, err
	}
	var closer io.Closer = nopCloser{}
	if isDevelopmentStorage(value) {
		st, choice, owned, err := openConfiguredStore(ctx, cfg, c.backends, settings, local)
		if err != nil {
			return nil, nil, err
		}
		c.store, c.storeKind, c.storeDir = st, choice.kind, choice.where()
		if owned {
			closer = st
		}
	}
	p, err := c.Connect(connection)
	if err != nil {
		_ = closer.Close()
		return nil, nil, err
	}
	if p.Name == "azure" {
		c.log.Info(fmt.Sprintf("%s: using the Azure Storage account of its connection string.", connectionName(connection)))
	}
	return p, closer, nil
}

// connectionName is the setting a binding's connection names.
func connectionName(connection string) string {
	if connection == "" {
		return DefaultConnection
	}
	return connection
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// openConfiguredStore opens cfg.Store, else the store FUNCD_STORE chooses
// (nil in a build without its backend); owned reports whether the caller
// must close it.
func openConfiguredStore(ctx context.Context, cfg Config, be backends, settings map[string]string, local *funcd.LocalSettings) (st storage.Store, choice storeChoice, owned bool, err error) {
	if cfg.Store != nil {
		return cfg.Store, storeChoice{kind: "embedded", dir: "(provided by the caller)"}, false, nil
	}
	if choice, err = chooseStore(settings, local, cfg.StateDir); err != nil {
		return nil, choice, false, err
	}
	st, err = openChosenStore(ctx, choice, be, cfg.Clock, cfg.Logger)
	return st, choice, st != nil, err
}
