package keys

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/funcd/funcd"
)

// Key names and scopes of the admin API.
const (
	// MasterKeyName is the master key's name in the admin API. Authenticate
	// reports the master key as "master", its name in the secrets file.
	MasterKeyName = "_master"

	ScopeFunctionKeys = "functionkeys" // host function keys; "keys" is an alias
	ScopeSystemKeys   = "systemkeys"   // host system keys
)

// Options configure a Manager.
type Options struct {
	// Logger receives key creation and regeneration events (never key
	// values). nil discards them.
	Logger *slog.Logger
	// HostName and InstanceID are written into secrets files as "hostName"
	// and "instanceId" (the real host writes WEBSITE_HOSTNAME and
	// WEBSITE_INSTANCE_ID). Empty values are written as null.
	HostName, InstanceID string
	// RefreshInterval bounds how often a key that matches nothing reloads
	// the secrets from the Store; default one minute.
	RefreshInterval time.Duration
	// Now tells the time; default time.Now.
	Now func() time.Time
}

// Manager holds an app's keys: it loads secrets from a Store on first use,
// creates them when they do not exist (host secrets: a master key and a
// "default" function key; a function's secrets: a "default" key), caches
// them, and writes every change through to the Store before it returns.
//
// A Manager is safe for concurrent use. Reads are served from the cache;
// writes are serialized and read the Store afresh, so edits made to the
// files while funcd runs are kept. Reload drops the cache.
//
// Errors a caller acts on are *funcd.Error values: EINVALID for a bad scope,
// key name or function name, ENOTFOUND for a missing key. Whether a function
// exists is the caller's business: the Manager creates secrets for any valid
// function name. Store failures (including a secrets file that is not valid
// JSON) are returned as they are.
type Manager struct {
	store Store
	log   *slog.Logger
	opts  Options

	mu sync.RWMutex
	// The cached secrets are never modified in place: writers replace them,
	// so readers may keep using what they got under the read lock.
	host  *HostSecrets                // nil until loaded
	funcs map[string]*FunctionSecrets // by lower-cased function name

	refreshMu   sync.Mutex
	lastRefresh time.Time // when a failed match last reloaded the secrets
}

// NewManager returns a Manager over store. It does no I/O.
func NewManager(store Store, opts Options) *Manager {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Manager{store: store, log: log, opts: opts, funcs: map[string]*FunctionSecrets{}}
}

// Reload drops the cached secrets; the next call reads the Store again.
func (m *Manager) Reload() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.host = nil
	clear(m.funcs)
}

// Authenticate returns the level a presented key grants and the key's name.
// The key is compared, in constant time, with every candidate: the master
// key (level AuthAdmin, name "master"), the host system keys (AuthSystem),
// the host function keys (AuthFunction) and, unless function is "", that
// function's own keys (AuthFunction); the first match in that order wins.
// No match, or an empty key, gives AuthAnonymous and no name.
//
// When no key matches, the Manager drops its cache and tries once more, at
// most once per RefreshInterval, as the real host does: keys an operator
// edits into the secrets files (or sets with `funcd keys`) are picked up
// without a restart.
func (m *Manager) Authenticate(ctx context.Context, function, key string) (level funcd.AuthLevel, keyName string, err error) {
	if key == "" {
		return funcd.AuthAnonymous, "", nil
	}
	level, keyName, err = m.match(ctx, function, key)
	if err != nil || level != funcd.AuthAnonymous || !m.refreshDue() {
		return level, keyName, err
	}
	m.Reload()
	return m.match(ctx, function, key)
}

// refreshDue reports whether a failed match may reload the secrets, and if
// so records that it did.
func (m *Manager) refreshDue() bool {
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()
	now := m.opts.Now()
	if !m.lastRefresh.IsZero() && now.Sub(m.lastRefresh) < m.opts.RefreshInterval {
		return false
	}
	m.lastRefresh = now
	return true
}

// match compares key with every candidate; see Authenticate.
func (m *Manager) match(ctx context.Context, function, key string) (level funcd.AuthLevel, keyName string, err error) {
	hs, err := m.hostSecrets(ctx)
	if err != nil {
		return funcd.AuthAnonymous, "", err
	}
	var own []Key
	if function != "" {
		fs, err := m.functionSecrets(ctx, function)
		if err != nil {
			return funcd.AuthAnonymous, "", err
		}
		own = fs.Keys
	}
	level = funcd.AuthAnonymous
	try := func(l funcd.AuthLevel, name, value string) {
		if subtle.ConstantTimeCompare([]byte(value), []byte(key)) == 1 && level == funcd.AuthAnonymous {
			level, keyName = l, name
		}
	}
	try(funcd.AuthAdmin, masterKeyFileName, hs.MasterKey.Value)
	for _, k := range hs.SystemKeys {
		try(funcd.AuthSystem, k.Name, k.Value)
	}
	for _, k := range hs.FunctionKeys {
		try(funcd.AuthFunction, k.Name, k.Value)
	}
	for _, k := range own {
		try(funcd.AuthFunction, k.Name, k.Value)
	}
	return level, keyName, nil
}

// Authorized reports whether a granted level satisfies a required one, by
// the host's rule: an anonymous requirement is always met, the admin level
// meets every requirement, and otherwise the levels must be equal (a system
// key does not open a function-level function).
func Authorized(required, granted funcd.AuthLevel) bool {
	return required == funcd.AuthAnonymous || granted == funcd.AuthAdmin || granted == required
}

// MasterKey returns the master key's value.
func (m *Manager) MasterKey(ctx context.Context) (string, error) {
	hs, err := m.hostSecrets(ctx)
	if err != nil {
		return "", err
	}
	return hs.MasterKey.Value, nil
}

// HostKeys lists the keys of a host scope (ScopeFunctionKeys, "keys" or
// ScopeSystemKeys, any case) in file order, never nil. The master key is
// not listed.
func (m *Manager) HostKeys(ctx context.Context, scope string) ([]Key, error) {
	kind, err := parseScope(scope)
	if err != nil {
		return nil, err
	}
	hs, err := m.hostSecrets(ctx)
	if err != nil {
		return nil, err
	}
	return append([]Key{}, *hs.list(kind)...), nil
}

// HostKey returns one key of a host scope; names are case-insensitive. As
// in the host, MasterKeyName is found in ScopeSystemKeys only.
func (m *Manager) HostKey(ctx context.Context, scope, name string) (Key, error) {
	kind, err := parseScope(scope)
	if err != nil {
		return Key{}, err
	}
	hs, err := m.hostSecrets(ctx)
	if err != nil {
		return Key{}, err
	}
	if kind == System && isMaster(name) {
		return Key{Name: name, Value: hs.MasterKey.Value}, nil
	}
	return find(*hs.list(kind), name, "host")
}

// SetHostKey creates or replaces a key of a host scope and returns it;
// created says whether the key is new (201 rather than 200). An empty value
// is replaced by a generated one. A key replaced under another spelling of
// its name takes the new spelling and moves to the end of the list.
//
// MasterKeyName, in any host scope, sets the master key; as in the host,
// created is true when the value was generated and false when given.
func (m *Manager) SetHostKey(ctx context.Context, scope, name, value string) (key Key, created bool, err error) {
	kind, err := parseScope(scope)
	if err != nil {
		return Key{}, false, err
	}
	if name == "" {
		return Key{}, false, funcd.Errorf(funcd.EINVALID, "a key name is required")
	}
	generated := value == ""
	if generated {
		if isMaster(name) {
			value = Generate(Master)
		} else {
			value = Generate(kind)
		}
	}
	err = m.updateHost(ctx, func(hs *HostSecrets) error {
		if isMaster(name) {
			hs.MasterKey = Key{Name: masterKeyFileName, Value: value}
			created = generated
			return nil
		}
		l := hs.list(kind)
		*l, created = upsert(*l, name, value)
		return nil
	})
	if err != nil {
		return Key{}, false, err
	}
	m.log.Info("host key set", "scope", kind.String()+"keys", "name", name, "created", created)
	return Key{Name: name, Value: value}, created, nil
}

// DeleteHostKey deletes a key of a host scope. The master key cannot be
// deleted (EINVALID, "Cannot delete System Key."); a missing key is
// ENOTFOUND.
func (m *Manager) DeleteHostKey(ctx context.Context, scope, name string) error {
	kind, err := parseScope(scope)
	if err != nil {
		return err
	}
	if isMaster(name) {
		return errDeleteMaster()
	}
	err = m.updateHost(ctx, func(hs *HostSecrets) error {
		l := hs.list(kind)
		var ok bool
		*l, ok = remove(*l, name)
		if !ok {
			return notFound(name, "host")
		}
		return nil
	})
	if err == nil {
		m.log.Info("host key deleted", "scope", kind.String()+"keys", "name", name)
	}
	return err
}

// ExtensionKey returns the system key of an extension's webhook, named
// "<extension>_extension" in lower case, creating it if it does not exist.
func (m *Manager) ExtensionKey(ctx context.Context, extension string) (string, error) {
	name := strings.ToLower(extension + "_extension")
	if k, err := m.HostKey(ctx, ScopeSystemKeys, name); err == nil || funcd.ErrorCode(err) != funcd.ENOTFOUND {
		return k.Value, err
	}
	var value string
	err := m.updateHost(ctx, func(hs *HostSecrets) error {
		if k, err := find(hs.SystemKeys, name, "host"); err == nil {
			value = k.Value
			return errUnchanged
		}
		value = Generate(System)
		hs.SystemKeys = append(hs.SystemKeys, Key{Name: name, Value: value})
		return nil
	})
	return value, err
}

// FunctionKeys lists a function's own keys in file order, never nil,
// creating the function's secrets if they do not exist.
func (m *Manager) FunctionKeys(ctx context.Context, function string) ([]Key, error) {
	fs, err := m.functionSecrets(ctx, function)
	if err != nil {
		return nil, err
	}
	return append([]Key{}, fs.Keys...), nil
}

// FunctionKey returns one of a function's keys; names are case-insensitive.
func (m *Manager) FunctionKey(ctx context.Context, function, name string) (Key, error) {
	fs, err := m.functionSecrets(ctx, function)
	if err != nil {
		return Key{}, err
	}
	return find(fs.Keys, name, function)
}

// SetFunctionKey creates or replaces one of a function's keys, as
// SetHostKey does. As in the host, setting a key of a function that has no
// secrets yet creates them with that key only (no "default" key).
func (m *Manager) SetFunctionKey(ctx context.Context, function, name, value string) (key Key, created bool, err error) {
	if name == "" {
		return Key{}, false, funcd.Errorf(funcd.EINVALID, "a key name is required")
	}
	if value == "" {
		value = Generate(Function)
	}
	err = m.updateFunction(ctx, function, func(fs *FunctionSecrets) error {
		fs.Keys, created = upsert(fs.Keys, name, value)
		return nil
	})
	if err != nil {
		return Key{}, false, err
	}
	m.log.Info("function key set", "function", function, "name", name, "created", created)
	return Key{Name: name, Value: value}, created, nil
}

// DeleteFunctionKey deletes one of a function's keys: ENOTFOUND if it does
// not exist, EINVALID for MasterKeyName (the host refuses it in every
// scope).
func (m *Manager) DeleteFunctionKey(ctx context.Context, function, name string) error {
	if isMaster(name) {
		return errDeleteMaster()
	}
	err := m.updateFunction(ctx, function, func(fs *FunctionSecrets) error {
		var ok bool
		fs.Keys, ok = remove(fs.Keys, name)
		if !ok {
			return notFound(name, function)
		}
		return nil
	})
	if err == nil {
		m.log.Info("function key deleted", "function", function, "name", name)
	}
	return err
}

// DeleteFunctionSecrets deletes a function's secrets, for a function that
// no longer exists. Deleting secrets that do not exist is not an error.
func (m *Manager) DeleteFunctionSecrets(ctx context.Context, function string) error {
	if !validFunctionName(function) {
		return funcd.Errorf(funcd.EINVALID, "invalid function name %q", function)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.store.DeleteFunctionSecrets(ctx, function); err != nil {
		return err
	}
	delete(m.funcs, strings.ToLower(function))
	return nil
}

// hostSecrets returns the cached host secrets, loading or creating them.
func (m *Manager) hostSecrets(ctx context.Context) (*HostSecrets, error) {
	m.mu.RLock()
	hs := m.host
	m.mu.RUnlock()
	if hs != nil {
		return hs, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.host != nil {
		return m.host, nil
	}
	hs, err := m.loadHost(ctx)
	if err != nil || hs != nil {
		return hs, err
	}
	hs = &HostSecrets{
		MasterKey:    Key{Name: masterKeyFileName, Value: Generate(Master)},
		FunctionKeys: []Key{{Name: defaultKeyName, Value: Generate(Function)}},
	}
	m.log.Debug("creating host secrets")
	if cs, ok := m.store.(creatingStore); ok {
		m.stamp(&hs.Metadata)
		stored, err := cs.CreateHostSecrets(ctx, hs)
		if err != nil {
			return nil, err
		}
		if stored == nil {
			return nil, errors.New("keys: the host secrets vanished while they were created")
		}
		m.host = stored
		return stored, nil
	}
	return hs, m.writeHost(ctx, hs)
}

// A creatingStore stores first secrets only where there are none, so that
// two processes making them at once (funcd start and funcd keys list run
// together, say) end with one set: the later one gets the earlier one's.
type creatingStore interface {
	CreateHostSecrets(ctx context.Context, hs *HostSecrets) (*HostSecrets, error)
	CreateFunctionSecrets(ctx context.Context, function string, fs *FunctionSecrets) (*FunctionSecrets, error)
}

// functionSecrets returns a function's cached secrets, loading or creating
// them.
func (m *Manager) functionSecrets(ctx context.Context, function string) (*FunctionSecrets, error) {
	if !validFunctionName(function) {
		return nil, funcd.Errorf(funcd.EINVALID, "invalid function name %q", function)
	}
	id := strings.ToLower(function)
	m.mu.RLock()
	fs := m.funcs[id]
	m.mu.RUnlock()
	if fs != nil {
		return fs, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if fs := m.funcs[id]; fs != nil {
		return fs, nil
	}
	fs, err := m.loadFunction(ctx, function)
	if err != nil || fs != nil {
		return fs, err
	}
	fs = &FunctionSecrets{Keys: []Key{{Name: defaultKeyName, Value: Generate(Function)}}}
	m.log.Debug("creating function secrets", "function", function)
	if cs, ok := m.store.(creatingStore); ok {
		m.stamp(&fs.Metadata)
		stored, err := cs.CreateFunctionSecrets(ctx, function, fs)
		if err != nil {
			return nil, err
		}
		if stored == nil {
			return nil, fmt.Errorf("keys: the secrets of function %s vanished while they were created", function)
		}
		m.funcs[id] = stored
		return stored, nil
	}
	return fs, m.writeFunction(ctx, function, fs)
}

// errUnchanged, returned by a change function, ends an update without
// writing anything.
var errUnchanged = errors.New("unchanged")

// updateHost applies change to a copy of the host secrets as stored
// (generated ones if there are none) and writes and caches the result.
func (m *Manager) updateHost(ctx context.Context, change func(*HostSecrets) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	hs, err := m.loadHost(ctx)
	if err != nil {
		return err
	}
	if hs == nil {
		hs = &HostSecrets{
			MasterKey:    Key{Name: masterKeyFileName, Value: Generate(Master)},
			FunctionKeys: []Key{{Name: defaultKeyName, Value: Generate(Function)}},
		}
	} else {
		hs = &HostSecrets{hs.MasterKey, slices.Clone(hs.FunctionKeys), slices.Clone(hs.SystemKeys), hs.Metadata}
	}
	if err := change(hs); err != nil {
		if err == errUnchanged {
			return nil
		}
		return err
	}
	return m.writeHost(ctx, hs)
}

// updateFunction applies change to a copy of a function's secrets as
// stored (empty ones if there are none) and writes and caches the result.
func (m *Manager) updateFunction(ctx context.Context, function string, change func(*FunctionSecrets) error) error {
	if !validFunctionName(function) {
		return funcd.Errorf(funcd.EINVALID, "invalid function name %q", function)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	fs, err := m.loadFunction(ctx, function)
	if err != nil {
		return err
	}
	if fs == nil {
		fs = &FunctionSecrets{}
	} else {
		fs = &FunctionSecrets{slices.Clone(fs.Keys), fs.Metadata}
	}
	if err := change(fs); err != nil {
		return err
	}
	return m.writeFunction(ctx, function, fs)
}

// loadHost reads the host secrets from the store, replacing encrypted keys
// (see regenerate). It returns nil if there are none. m.mu must be held.
func (m *Manager) loadHost(ctx context.Context) (*HostSecrets, error) {
	hs, err := m.store.ReadHostSecrets(ctx)
	if hs == nil || err != nil {
		return nil, err
	}
	master := []Key{hs.MasterKey}
	names := append(regenerate(master, Master), regenerate(hs.FunctionKeys, Function)...)
	names = append(names, regenerate(hs.SystemKeys, System)...)
	hs.MasterKey = master[0]
	if hs.MasterKey.Value == "" {
		m.log.Warn("the master key in the host secrets is empty: no key grants the admin level")
	}
	if len(names) == 0 {
		m.host = hs
		return hs, nil
	}
	m.logRegenerated(ctx, "", names)
	return hs, m.writeHost(ctx, hs)
}

// loadFunction is loadHost for a function's secrets.
func (m *Manager) loadFunction(ctx context.Context, function string) (*FunctionSecrets, error) {
	fs, err := m.store.ReadFunctionSecrets(ctx, function)
	if fs == nil || err != nil {
		return nil, err
	}
	names := regenerate(fs.Keys, Function)
	if len(names) == 0 {
		m.funcs[strings.ToLower(function)] = fs
		return fs, nil
	}
	m.logRegenerated(ctx, function, names)
	return fs, m.writeFunction(ctx, function, fs)
}

// regenerate gives every encrypted key a new value of the given kind: the
// values are protected with ASP.NET DataProtection, which funcd cannot
// decrypt, and the real host does the same when decryption fails. It
// returns the names of the keys it changed.
func regenerate(keys []Key, kind Kind) []string {
	var names []string
	for i, k := range keys {
		if k.Encrypted {
			keys[i] = Key{Name: k.Name, Value: Generate(kind)}
			names = append(names, k.Name)
		}
	}
	return names
}

// logRegenerated keeps a snapshot of the file whose keys were regenerated,
// when the store can, and says so.
func (m *Manager) logRegenerated(ctx context.Context, function string, names []string) {
	attrs := []any{"keys", names}
	if function != "" {
		attrs = append(attrs, "function", function)
	}
	if s, ok := m.store.(interface {
		snapshot(context.Context, string) error
	}); ok {
		if err := s.snapshot(ctx, function); err != nil {
			attrs = append(attrs, "snapshot_error", err)
		}
	}
	m.log.Warn("encrypted keys cannot be decrypted by funcd; they were given new values", attrs...)
}

// writeHost stamps, stores and caches host secrets. m.mu must be held.
func (m *Manager) writeHost(ctx context.Context, hs *HostSecrets) error {
	m.stamp(&hs.Metadata)
	if err := m.store.WriteHostSecrets(ctx, hs); err != nil {
		return err
	}
	m.host = hs
	return nil
}

// writeFunction stamps, stores and caches a function's secrets. m.mu must
// be held.
func (m *Manager) writeFunction(ctx context.Context, function string, fs *FunctionSecrets) error {
	m.stamp(&fs.Metadata)
	if err := m.store.WriteFunctionSecrets(ctx, function, fs); err != nil {
		return err
	}
	m.funcs[strings.ToLower(function)] = fs
	return nil
}

// stamp sets the metadata the host sets on every write.
func (m *Manager) stamp(md *Metadata) {
	md.HostName = m.opts.HostName
	if md.InstanceID == "" {
		md.InstanceID = m.opts.InstanceID
	}
	if md.Source == "" {
		md.Source = "runtime"
	}
	md.DecryptionKeyID = ""
}

// list returns the host key list of a kind (Function or System).
func (hs *HostSecrets) list(kind Kind) *[]Key {
	if kind == System {
		return &hs.SystemKeys
	}
	return &hs.FunctionKeys
}

func parseScope(scope string) (Kind, error) {
	switch strings.ToLower(scope) {
	case ScopeFunctionKeys, "keys":
		return Function, nil
	case ScopeSystemKeys:
		return System, nil
	}
	return 0, funcd.Errorf(funcd.EINVALID, "unknown host key scope %q (want functionkeys, keys or systemkeys)", scope)
}

func isMaster(name string) bool { return strings.EqualFold(name, MasterKeyName) }

func errDeleteMaster() error { return funcd.Errorf(funcd.EINVALID, "Cannot delete System Key.") }

func notFound(name, owner string) error {
	return funcd.Errorf(funcd.ENOTFOUND, "no %s key named %q", owner, name)
}

func find(keys []Key, name, owner string) (Key, error) {
	for _, k := range keys {
		if strings.EqualFold(k.Name, name) {
			return k, nil
		}
	}
	return Key{}, notFound(name, owner)
}

// upsert replaces the key with the same name (case-insensitively) or adds
// one; either way the key ends up last, as in the host.
func upsert(keys []Key, name, value string) ([]Key, bool) {
	keys, existed := remove(keys, name)
	return append(keys, Key{Name: name, Value: value}), !existed
}

func remove(keys []Key, name string) ([]Key, bool) {
	i := slices.IndexFunc(keys, func(k Key) bool { return strings.EqualFold(k.Name, name) })
	if i < 0 {
		return keys, false
	}
	return slices.Delete(keys, i, i+1), true
}
