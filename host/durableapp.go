package host

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/appconfig"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/durable"
)

// DurableApp is an app's task hub opened without running the app: what
// `funcd durable` works on. Close it when done.
type DurableApp struct {
	// App is the app as read from its folder (function.json functions
	// only: a language worker that indexes its functions itself is not
	// started).
	App *funcd.App
	// Hub is the task hub funcd start would run: host.json
	// extensions.durableTask.hubName, else WEBSITE_SITE_NAME, else
	// durable.DefaultHub.
	Hub string
	// Options are the engine options host.json gives funcd start's engine
	// (Hub, Reuse, the concurrency caps); a client made with them starts
	// and replaces instances as that engine does.
	Options durable.Options
	// Backend is the store's Durable Functions state.
	Backend durable.Backend
	// Functions are the app's enabled durable functions; Uses reports
	// whether any function uses Durable Functions (a durable trigger or a
	// durableClient binding).
	Functions durable.Functions
	Uses      bool
	// Indexed is false when the app has no function folders: its language
	// worker indexes the functions when the host starts, so which ones
	// are durable is unknown here.
	Indexed bool
	// Store says which store holds the hub, for messages.
	Store string

	closer io.Closer
}

// Close closes the store.
func (d *DurableApp) Close() error {
	if d.closer == nil {
		return nil
	}
	return d.closer.Close()
}

// OpenDurable reads the app in cfg.ScriptRoot and opens its store as funcd
// start would (cfg.Store, else what FUNCD_STORE chooses, in cfg.StateDir),
// without starting the app or its worker. storeSetting, when not empty,
// is the app setting to read the store's connection string from instead
// of FUNCD_STORE; UseDevelopmentStorage=true there means the embedded
// store.
func OpenDurable(ctx context.Context, cfg Config, storeSetting string) (*DurableApp, error) {
	if cfg.ScriptRoot == "" {
		return nil, errors.New("host: Config.ScriptRoot is empty")
	}
	root, err := filepath.Abs(cfg.ScriptRoot)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve script root: %w", err)
	}
	cfg.ScriptRoot = root
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StateDir == "" {
		loc, err := findStateDir(root)
		if err != nil {
			return nil, err
		}
		loc.keepLegacy(cfg.Logger)
		cfg.StateDir = loc.dir
	}
	fsys := os.DirFS(root)
	local, err := appconfig.ReadLocalSettings(fsys, "local.settings.json")
	if err != nil {
		return nil, err
	}
	env, _ := appconfig.Environ(cfg.Environ, local)
	app, err := appconfig.Load(fsys, appconfig.Options{Root: root, Env: env, KnownBindings: cfg.KnownBindings})
	if ce, ok := errors.AsType[*funcd.ConfigError](err); ok && strings.EqualFold(ce.File, "host.json") {
		// The hub's name comes from host.json.
		return nil, err
	}
	opts, err := durableConfig(app)
	if err != nil {
		return nil, err
	}
	settings := app.Settings
	if storeSetting != "" && !strings.EqualFold(storeSetting, SettingStore) {
		v, _, ok := lookupSetting(settings, local, storeSetting)
		if !ok {
			return nil, &funcd.ConfigError{Field: storeSetting, Msg: fmt.Sprintf("the setting %s is not set in local.settings.json Values or the environment", storeSetting)}
		}
		settings = maps.Clone(settings)
		if isDevelopmentStorage(v) {
			v = ""
		}
		settings[SettingStore] = v
	}
	st, choice, owned, err := openConfiguredStore(ctx, cfg, defaultBackends(), settings, local)
	if err != nil {
		return nil, err
	}
	backend, ok := st.(durable.Backend)
	if st == nil || !ok {
		if owned {
			_ = st.Close()
		}
		return nil, fmt.Errorf("%s does not keep Durable Functions state", choice.describe())
	}
	d := &DurableApp{App: app, Hub: opts.Hub, Options: opts, Backend: backend, Store: choice.describe()}
	if owned {
		d.closer = st
	}
	var fns []*funcd.Function
	for _, f := range app.Functions {
		if f.Excluded || f.NotAllowed || !f.OK() {
			continue
		}
		fns = append(fns, f)
	}
	d.Functions, d.Uses = durableFunctions(fns)
	d.Indexed = len(app.Functions) > 0
	return d, nil
}
