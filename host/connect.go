package host

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
	"github.com/funcd/funcd/clock"
	"github.com/funcd/funcd/storage"
)

// DefaultConnection is the setting a binding without "connection" uses.
const DefaultConnection = "AzureWebJobsStorage"

// SettingDevelopmentStorage chooses what UseDevelopmentStorage=true means:
// "auto" (the default: Azurite when it answers, else the embedded store),
// "embedded" or "azurite".
const SettingDevelopmentStorage = "FUNCD_DEVELOPMENT_STORAGE"

// DevelopmentStorage is the connection string of the storage emulator.
const DevelopmentStorage = "UseDevelopmentStorage=true"

// missingStorage is Core Tools' message for an app with triggers that need
// storage and no AzureWebJobsStorage.
const missingStorage = "Missing value for AzureWebJobsStorage in local.settings.json. This is required for all triggers other than httptrigger, kafkatrigger, rabbitmqtrigger, orchestrationTrigger, activityTrigger, entityTrigger. You can run 'func azure functionapp fetch-app-settings <functionAppName>' or specify a connection string in local.settings.json."

// backends are the store and storage backends funcd is built with (see
// bindings.go); a nil one is not available in this build.
type backends struct {
	// sqlite opens the embedded store in dir.
	sqlite func(dir string, clk clock.Clock, log *slog.Logger) (storage.Store, error)
	// postgres opens the shared store at a PostgreSQL connection string.
	postgres func(ctx context.Context, conn string, clk clock.Clock, log *slog.Logger) (storage.Store, error)
	// azure opens the Azure Storage account of a connection string
	// (UseDevelopmentStorage=true included).
	azure func(conn string, clk clock.Clock, log *slog.Logger) (*binding.Provider, error)
	// azurite reports whether Azurite answers at the development storage
	// endpoints, and where.
	azurite func(ctx context.Context) (ok bool, where string)
}

// connector resolves bindings' connection settings to providers, one
// provider per connection value.
type connector struct {
	settings  map[string]string
	local     *funcd.LocalSettings
	store     storage.Store
	storeKind string // "embedded" or "postgres"
	storeDir  string
	backends  backends
	clock     clock.Clock
	log       *slog.Logger

	cache *connCache
	// dry resolves settings without opening anything (funcd doctor): the
	// provider has no Queues or Blobs.
	dry bool
}

// connCache holds a host's storage providers across generations, one per
// connection value.
type connCache struct {
	mu        sync.Mutex
	providers map[string]*binding.Provider
	devLogged bool // how UseDevelopmentStorage=true was resolved was logged
}

// lookupSetting finds a connection setting as the WebJobs SDK does: the
// name prefixed with AzureWebJobs, then the name itself, each first as a
// connection string (ConnectionStrings:<x>) and then as an app setting;
// names compare case-insensitively, as .NET configuration keys do. found
// names the key that held the value.
func lookupSetting(settings map[string]string, local *funcd.LocalSettings, name string) (value, found string, ok bool) {
	for _, n := range []string{"AzureWebJobs" + name, name} {
		if local != nil {
			if v, k, ok := getFold(local.ConnectionStrings, n); ok {
				return v, "ConnectionStrings:" + k, true
			}
		}
		for _, cs := range []string{"ConnectionStrings:" + n, "ConnectionStrings__" + n} {
			if v, k, ok := getFold(settings, cs); ok {
				return v, k, true
			}
		}
		if v, k, ok := getFold(settings, n); ok {
			return v, k, true
		}
	}
	return "", "", false
}

// getFold looks key up exactly, then case-insensitively.
func getFold(m map[string]string, key string) (value, found string, ok bool) {
	if v, ok := m[key]; ok {
		return v, key, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, k, true
		}
	}
	return "", "", false
}

// identitySetting reports the identity-based connection setting
// (name__serviceUri and its kin) the app has for name, if any.
func identitySetting(settings map[string]string, name string) (string, bool) {
	for _, n := range []string{name, "AzureWebJobs" + name} {
		for _, suffix := range []string{"__serviceUri", "__queueServiceUri", "__blobServiceUri", "__accountName", ":serviceUri", ":queueServiceUri", ":blobServiceUri", ":accountName"} {
			if _, k, ok := getFold(settings, n+suffix); ok {
				return k, true
			}
		}
	}
	return "", false
}

// settingError is the ConfigError for a connection setting that is
// missing or cannot be used: located at the setting in
// local.settings.json when it is there, else at the binding's
// "connection" property (the host adds the binding and the file).
func (c *connector) settingError(name, msg string) *funcd.ConfigError {
	e := &funcd.ConfigError{Field: "connection", Msg: msg}
	if c.local != nil {
		if _, _, ok := getFold(c.local.Values, name); ok {
			e.File, e.Field = "local.settings.json", "Values."+name
		}
	}
	return e
}

// missingError explains a connection setting that has no value.
func (c *connector) missingError(name string, empty bool) *funcd.ConfigError {
	if k, ok := identitySetting(c.settings, name); ok {
		e := c.settingError(name, fmt.Sprintf("the connection '%s' is identity-based (%s): funcd cannot use managed identities, which only exist in Azure", name, k))
		e.Hint = fmt.Sprintf("Set %s to a storage connection string (local.settings.json Values or the environment), or to %s to use funcd's embedded store.", name, DevelopmentStorage)
		return e
	}
	what := "is not set"
	if empty {
		what = "is empty"
	}
	if strings.EqualFold(name, DefaultConnection) {
		e := c.settingError(name, missingStorage)
		e.Hint = fmt.Sprintf("AzureWebJobsStorage %s (it is read from local.settings.json Values, then the environment). Set it to %q to run queue, blob and timer triggers on funcd's embedded store (or Azurite, when it runs), or to an Azure Storage connection string.", what, DevelopmentStorage)
		return e
	}
	e := c.settingError(name, fmt.Sprintf("Cannot find value named '%s' in local.settings.json that matches the connection of this binding", name))
	e.Hint = fmt.Sprintf("The setting %s %s; funcd looked for AzureWebJobs%s and %s, as connection strings (local.settings.json ConnectionStrings) and as app settings (local.settings.json Values, then the environment). Set one to a storage connection string, or to %q for funcd's embedded store.", name, what, name, name, DevelopmentStorage)
	return e
}

// resolve checks a binding's connection without opening anything: the
// setting must exist and hold a value funcd can use.
func (c *connector) resolve(connection string) (name, value string, err error) {
	name = connection
	if name == "" {
		name = DefaultConnection
	}
	value, _, ok := lookupSetting(c.settings, c.local, name)
	if !ok || strings.TrimSpace(value) == "" {
		return name, "", c.missingError(name, ok)
	}
	return name, strings.TrimSpace(value), nil
}

// Connect is binding.Env.Connect.
func (c *connector) Connect(connection string) (*binding.Provider, error) {
	name, value, err := c.resolve(connection)
	if err != nil {
		return nil, err
	}
	if c.dry {
		return c.dryProvider(name, value)
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	if p, ok := c.cache.providers[value]; ok {
		return p, nil
	}
	var p *binding.Provider
	if isDevelopmentStorage(value) {
		p, err = c.developmentStorage(name)
	} else {
		p, err = c.azureStorage(name, value)
	}
	if err != nil {
		return nil, err
	}
	if c.cache.providers == nil {
		c.cache.providers = map[string]*binding.Provider{}
	}
	c.cache.providers[value] = p
	return p, nil
}

func isDevelopmentStorage(v string) bool {
	return strings.EqualFold(strings.ReplaceAll(strings.TrimRight(v, ";"), " ", ""), DevelopmentStorage)
}

// ownStore is funcd's store as a provider.
func (c *connector) ownStore(name string) (*binding.Provider, error) {
	if c.store == nil {
		return nil, c.settingError(name, "funcd has no store in this build to run "+name+" on")
	}
	return &binding.Provider{Name: c.storeKind, Queues: c.store, Blobs: c.store, Feed: c.store}, nil
}

// developmentStorage resolves UseDevelopmentStorage=true: Azurite when it
// answers (or FUNCD_DEVELOPMENT_STORAGE=azurite), else funcd's own store.
// With a shared store (FUNCD_STORE) the choice was made already: funcd's
// store, unless FUNCD_DEVELOPMENT_STORAGE=azurite asks for Azurite, so that
// an Azurite someone starts on the machine never takes work away from the
// hosts sharing the store.
func (c *connector) developmentStorage(name string) (*binding.Provider, error) {
	mode := strings.ToLower(strings.TrimSpace(c.settings[SettingDevelopmentStorage]))
	switch mode {
	case "", "auto", "embedded", "azurite":
	default:
		return nil, c.devModeError()
	}
	useAzurite, why := false, ""
	switch mode {
	case "embedded":
		why = SettingDevelopmentStorage + "=embedded"
	case "azurite":
		useAzurite, why = true, SettingDevelopmentStorage+"=azurite"
	default:
		if c.storeKind == "postgres" {
			why = "FUNCD_STORE names a shared PostgreSQL store"
			break
		}
		if c.backends.azurite != nil && c.backends.azure != nil {
			ok, where := c.backends.azurite(context.Background())
			if ok {
				useAzurite, why = true, "Azurite answers on "+where
			} else {
				why = "no Azurite on " + where
			}
		} else {
			why = "this build has no Azure Storage client"
		}
	}
	var p *binding.Provider
	var err error
	if useAzurite {
		if c.backends.azure == nil {
			return nil, c.settingError(SettingDevelopmentStorage, "this build of funcd has no Azure Storage client to reach Azurite with")
		}
		p, err = c.backends.azure(DevelopmentStorage, c.clock, c.log)
		if err == nil {
			p.Name = "azurite"
		}
	} else {
		p, err = c.ownStore(name)
	}
	if err != nil {
		return nil, err
	}
	if !c.cache.devLogged {
		c.cache.devLogged = true
		if useAzurite {
			c.log.Info(fmt.Sprintf("%s=%s: using Azurite (%s).", name, DevelopmentStorage, why))
		} else {
			c.log.Info(fmt.Sprintf("%s=%s: %s: using the %s store at %s.", name, DevelopmentStorage, why, c.storeKind, c.storeDir))
		}
	}
	return p, nil
}

// azureStorage opens an Azure Storage account's connection string.
func (c *connector) azureStorage(name, value string) (*binding.Provider, error) {
	if c.backends.azure == nil {
		e := c.settingError(name, "this build of funcd cannot connect to Azure Storage")
		e.Hint = fmt.Sprintf("Set %s to %q to use funcd's embedded store.", name, DevelopmentStorage)
		return nil, e
	}
	p, err := c.backends.azure(value, c.clock, c.log)
	if err != nil {
		e := c.settingError(name, fmt.Sprintf("the value of %s is not a storage connection string funcd can use: %v", name, funcd.RedactError(err)))
		e.Hint = "Use a connection string such as DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;EndpointSuffix=core.windows.net, or " + DevelopmentStorage + "."
		return nil, e
	}
	return p, nil
}

// dryProvider checks what Connect would open, without opening it.
func (c *connector) dryProvider(name, value string) (*binding.Provider, error) {
	if !isDevelopmentStorage(value) {
		return &binding.Provider{Name: "azure"}, nil
	}
	switch mode := strings.ToLower(strings.TrimSpace(c.settings[SettingDevelopmentStorage])); mode {
	case "", "auto", "embedded":
		return &binding.Provider{Name: "embedded"}, nil
	case "azurite":
		return &binding.Provider{Name: "azurite"}, nil
	}
	return nil, c.devModeError()
}

// devModeError reports a FUNCD_DEVELOPMENT_STORAGE value that is not one
// of its three.
func (c *connector) devModeError() *funcd.ConfigError {
	e := c.settingError(SettingDevelopmentStorage, fmt.Sprintf("the value %q is not auto, embedded or azurite", c.settings[SettingDevelopmentStorage]))
	e.Hint = "Set it to auto (Azurite when it runs, else funcd's store; the default), embedded or azurite."
	return e
}
