package host

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// SettingStore is the app setting (or environment variable) that points
// funcd at a shared PostgreSQL store; unset, the store is embedded (SQLite
// in the state folder).
const SettingStore = "FUNCD_STORE"

// storeChoice is what FUNCD_STORE asks for.
type storeChoice struct {
	kind string // "embedded" or "postgres"
	conn string // PostgreSQL connection string
	dir  string // embedded store folder
}

// chooseStore reads FUNCD_STORE: empty means the embedded store in the
// state folder; a PostgreSQL URL (postgres://, postgresql://) or key=value
// connection string means PostgreSQL; anything else is an error.
func chooseStore(settings map[string]string, local *funcd.LocalSettings, stateDir string) (storeChoice, error) {
	v := strings.TrimSpace(settings[SettingStore])
	if v == "" {
		return storeChoice{kind: "embedded", dir: filepath.Join(stateDir, "store")}, nil
	}
	if isPostgresConn(v) {
		return storeChoice{kind: "postgres", conn: v}, nil
	}
	e := &funcd.ConfigError{
		Field: SettingStore,
		Msg:   fmt.Sprintf("%s is not a PostgreSQL connection string: %q", SettingStore, redactConn(v)),
		Hint:  "Set FUNCD_STORE to a PostgreSQL connection string (postgres://user:password@host:5432/db or host=... dbname=...), or remove it to use the embedded store in the state folder.",
	}
	if local != nil {
		if _, ok := local.Values[SettingStore]; ok {
			e.File, e.Field = "local.settings.json", "Values."+SettingStore
		}
	}
	return storeChoice{}, e
}

func isPostgresConn(v string) bool {
	lower := strings.ToLower(v)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return true
	}
	// key=value form: every word is key=value and one names a database
	// parameter libpq knows.
	words := strings.Fields(v)
	if len(words) == 0 {
		return false
	}
	known := false
	for _, w := range words {
		k, _, ok := strings.Cut(w, "=")
		if !ok {
			return false
		}
		switch strings.ToLower(k) {
		case "host", "hostaddr", "port", "dbname", "user", "password", "sslmode", "service":
			known = true
		}
	}
	return known
}

// redactConn hides the password of a connection string for logs.
func redactConn(v string) string {
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
		return u.Redacted()
	}
	words := strings.Fields(v)
	for i, w := range words {
		if k, _, ok := strings.Cut(w, "="); ok && strings.EqualFold(k, "password") {
			words[i] = k + "=REDACTED"
		}
	}
	if len(words) == 0 {
		return v
	}
	return strings.Join(words, " ")
}

// openStore opens the host's store once: Config.Store, else what
// FUNCD_STORE chooses. A build without the chosen backend has no store;
// bindings that need one then fail to load with a clear error.
func (h *Host) openStore(ctx context.Context, settings map[string]string, local *funcd.LocalSettings) error {
	h.mu.Lock()
	opened := h.storeOpened
	h.mu.Unlock()
	if opened {
		return nil
	}
	var (
		st     storage.Store
		choice storeChoice
		owned  bool
	)
	if h.cfg.Store != nil {
		st, choice = h.cfg.Store, storeChoice{kind: "embedded", dir: "(provided by the caller)"}
		h.log.Info("Using the store the host was configured with.")
	} else {
		var err error
		if choice, err = chooseStore(settings, local, h.cfg.StateDir); err != nil {
			return err
		}
		if st, err = openChosenStore(ctx, choice, h.cfg.backends, h.clock, h.log); err != nil {
			return err
		}
		if st != nil {
			h.log.Info("Using " + choice.describe() + ".")
		}
		if choice.kind == "postgres" && settings[SettingHostID] == "" && settings["WEBSITE_SITE_NAME"] == "" {
			h.log.Warn(fmt.Sprintf("The host id %s is derived from this machine's name and the app's folder, so funcd processes on other machines or folders sharing this store each run the app's timers. Set %s (or WEBSITE_SITE_NAME) to one value on every process serving this app.",
				hostID(settings, h.cfg.ScriptRoot), SettingHostID))
		}
		owned = st != nil
	}
	h.mu.Lock()
	h.store, h.storeChoice, h.storeOwned, h.storeOpened = st, choice, owned, true
	h.mu.Unlock()
	return nil
}

// openChosenStore opens the store FUNCD_STORE chose; a
// build without the chosen backend has none (nil, nil) for the embedded
// store, and an error for PostgreSQL.
func openChosenStore(ctx context.Context, choice storeChoice, be backends, clk clock.Clock, log *slog.Logger) (storage.Store, error) {
	switch choice.kind {
	case "postgres":
		if be.postgres == nil {
			return nil, &funcd.ConfigError{Field: SettingStore, Msg: "this build of funcd has no PostgreSQL store"}
		}
		st, err := be.postgres(ctx, choice.conn, clk, log)
		if err != nil {
			return nil, fmt.Errorf("cannot open the PostgreSQL store %s: %w", redactConn(choice.conn), funcd.RedactError(err))
		}
		return st, nil
	default:
		if be.sqlite == nil {
			return nil, nil
		}
		st, err := be.sqlite(choice.dir, clk, log)
		if err != nil {
			return nil, fmt.Errorf("cannot open the embedded store in %s: %w", choice.dir, err)
		}
		return st, nil
	}
}

// where says where the chosen store is, for logs.
func (c storeChoice) where() string {
	if c.kind == "postgres" {
		return redactConn(c.conn)
	}
	return c.dir
}

// describe names the chosen store for logs.
func (c storeChoice) describe() string {
	if c.kind == "postgres" {
		return "the shared PostgreSQL store at " + c.where()
	}
	return "the embedded store at " + c.where()
}

// Store returns the host's store (nil before Start, or in a build without
// one).
func (h *Host) Store() storage.Store {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.store
}

// closeStore closes a store the host opened itself.
func (h *Host) closeStore() error {
	h.mu.Lock()
	st, owned := h.store, h.storeOwned
	h.storeOwned = false
	h.mu.Unlock()
	if st == nil || !owned {
		return nil
	}
	return st.Close()
}
