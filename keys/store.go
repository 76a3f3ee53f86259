package keys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// Store persists secrets. A missing host or function secrets file reads as
// (nil, nil); what a read returns belongs to the caller, and a write must
// not keep or modify what it is given. Function names are case-insensitive.
// Implementations must be safe for concurrent use; a Manager serializes its
// own writes.
type Store interface {
	ReadHostSecrets(ctx context.Context) (*HostSecrets, error)
	WriteHostSecrets(ctx context.Context, s *HostSecrets) error
	ReadFunctionSecrets(ctx context.Context, function string) (*FunctionSecrets, error)
	WriteFunctionSecrets(ctx context.Context, function string, s *FunctionSecrets) error
	// DeleteFunctionSecrets removes a function's secrets; deleting secrets
	// that do not exist is not an error.
	DeleteFunctionSecrets(ctx context.Context, function string) error
}

// FileStore is the real host's file secrets repository: host secrets in
// Dir/host.json, a function's in Dir/<function name lowercased>.json, both
// in the V1 JSON shape (V0 files are read too).
//
// Writes replace a file atomically (a temporary file renamed over it) with
// 0600 permissions, creating Dir with 0700 if needed. A file that is not
// valid secrets JSON is reported as an error naming the file; it is never
// overwritten by a read. A FileStore is safe for concurrent use.
type FileStore struct {
	Dir string
}

const hostFile = "host.json"

// ReadHostSecrets reads Dir/host.json.
func (s FileStore) ReadHostSecrets(ctx context.Context) (*HostSecrets, error) {
	data, path, err := s.read(ctx, hostFile)
	if data == nil || err != nil {
		return nil, err
	}
	hs, err := parseHostSecrets(data)
	if err != nil {
		return nil, fmt.Errorf("keys: host secrets file %s: %w", path, err)
	}
	return hs, nil
}

// WriteHostSecrets replaces Dir/host.json.
func (s FileStore) WriteHostSecrets(ctx context.Context, hs *HostSecrets) error {
	data, err := encodeHostSecrets(hs)
	if err != nil {
		return err
	}
	return s.write(ctx, hostFile, data)
}

// CreateHostSecrets writes Dir/host.json only if it does not exist, and
// returns the secrets stored: hs, or those another process stored first.
func (s FileStore) CreateHostSecrets(ctx context.Context, hs *HostSecrets) (*HostSecrets, error) {
	data, err := encodeHostSecrets(hs)
	if err != nil {
		return nil, err
	}
	created, err := s.create(ctx, hostFile, data)
	if err != nil || created {
		return hs, err
	}
	return s.ReadHostSecrets(ctx)
}

// ReadFunctionSecrets reads Dir/<function>.json. An invalid function name
// is a *funcd.Error with code EINVALID.
func (s FileStore) ReadFunctionSecrets(ctx context.Context, function string) (*FunctionSecrets, error) {
	name, err := functionFile(function)
	if err != nil {
		return nil, err
	}
	data, path, err := s.read(ctx, name)
	if data == nil || err != nil {
		return nil, err
	}
	secrets, err := parseFunctionSecrets(data)
	if err != nil {
		return nil, fmt.Errorf("keys: secrets file of function %s, %s: %w", function, path, err)
	}
	return secrets, nil
}

// WriteFunctionSecrets replaces Dir/<function>.json.
func (s FileStore) WriteFunctionSecrets(ctx context.Context, function string, secrets *FunctionSecrets) error {
	name, err := functionFile(function)
	if err != nil {
		return err
	}
	data, err := encodeFunctionSecrets(secrets)
	if err != nil {
		return err
	}
	return s.write(ctx, name, data)
}

// CreateFunctionSecrets writes Dir/<function>.json only if it does not
// exist, and returns the secrets stored: secrets, or those another process
// stored first.
func (s FileStore) CreateFunctionSecrets(ctx context.Context, function string, secrets *FunctionSecrets) (*FunctionSecrets, error) {
	name, err := functionFile(function)
	if err != nil {
		return nil, err
	}
	data, err := encodeFunctionSecrets(secrets)
	if err != nil {
		return nil, err
	}
	created, err := s.create(ctx, name, data)
	if err != nil || created {
		return secrets, err
	}
	return s.ReadFunctionSecrets(ctx, function)
}

// DeleteFunctionSecrets removes Dir/<function>.json if it exists.
func (s FileStore) DeleteFunctionSecrets(ctx context.Context, function string) error {
	name, err := functionFile(function)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(s.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keys: %w", err)
	}
	return nil
}

// snapshot copies a secrets file ("" for the host's) to
// <name>.snapshot.<UTC time>.json next to it, as the host does before it
// replaces keys it cannot decrypt.
func (s FileStore) snapshot(ctx context.Context, function string) error {
	name := hostFile
	if function != "" {
		var err error
		if name, err = functionFile(function); err != nil {
			return err
		}
	}
	data, _, err := s.read(ctx, name)
	if data == nil || err != nil {
		return err
	}
	stamp := time.Now().UTC().Format("2006-01-02 15.04.05.000000")
	return s.write(ctx, strings.TrimSuffix(name, ".json")+".snapshot."+stamp+".json", data)
}

// read returns a file's content, nil if it does not exist.
func (s FileStore) read(ctx context.Context, name string) ([]byte, string, error) {
	path := filepath.Join(s.Dir, name)
	if err := ctx.Err(); err != nil {
		return nil, path, err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, path, nil
	case err != nil:
		return nil, path, fmt.Errorf("keys: %w", err)
	}
	return data, path, nil
}

// write replaces a file atomically: the data goes to a temporary file in the
// same folder, which is then renamed over the target.
func (s FileStore) write(ctx context.Context, name string, data []byte) error {
	return s.put(ctx, name, data, func(tmp, target string) error { return os.Rename(tmp, target) })
}

// create writes a file only if it does not exist: the temporary file is
// linked to the target, which fails if the target is there, so that the
// first of two writers wins whole and the other sees its file complete. It
// reports whether this call created the file.
func (s FileStore) create(ctx context.Context, name string, data []byte) (created bool, err error) {
	err = s.put(ctx, name, data, func(tmp, target string) error {
		err := os.Link(tmp, target)
		os.Remove(tmp)
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

// put writes data to a temporary file in the folder and hands it to place,
// which moves it to the target.
func (s FileStore) put(ctx context.Context, name string, data []byte, place func(tmp, target string) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("keys: writing %s: %w", filepath.Join(s.Dir, name), err)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return place(tmp.Name(), filepath.Join(s.Dir, name))
}

// functionFile returns a function's secrets file name. Function names
// follow the host's rule (a letter, then up to 127 letters, digits, '_' or
// '-'; never "host"), which also keeps the name inside the folder.
func functionFile(function string) (string, error) {
	if !validFunctionName(function) {
		return "", funcd.Errorf(funcd.EINVALID, "invalid function name %q", function)
	}
	return strings.ToLower(function) + ".json", nil
}

func validFunctionName(name string) bool {
	if len(name) == 0 || len(name) > 128 || strings.EqualFold(name, "host") {
		return false
	}
	for i, c := range name {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
	}
	return true
}

// Settings that choose the secrets store.
const (
	SettingSecretStorageType = "AzureWebJobsSecretStorageType"
	SettingSecretsPath       = "FUNCTIONS_SECRETS_PATH"
	settingSecretStorageSas  = "AzureWebJobsSecretStorageSas"
)

// Open returns the Store the app settings ask for. AzureWebJobsSecretStorageType
// "files" (any case) means a FileStore in FUNCTIONS_SECRETS_PATH, or in
// <stateDir>/secrets when that is unset. Without the setting funcd also uses
// <stateDir>/secrets (the real host would pick blob storage). The host's
// other stores ("keyvault", "kubernetes", "containerapps", blob through
// AzureWebJobsSecretStorageSas or AzureWebJobsStorage) are not supported:
// Open logs a warning and uses <stateDir>/secrets. It fails only when no
// folder can be determined. log may be nil.
func Open(settings map[string]string, stateDir string, log *slog.Logger) (Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var dir string
	if stateDir != "" {
		dir = filepath.Join(stateDir, "secrets")
	}
	kind, set := settings[SettingSecretStorageType]
	switch {
	case set && strings.EqualFold(kind, "files"):
		if p := settings[SettingSecretsPath]; p != "" {
			dir = p
		}
	case set:
		log.Warn("funcd does not support this secret storage yet; keys are kept in files",
			"setting", SettingSecretStorageType, "value", kind, "dir", dir)
	case settings[settingSecretStorageSas] != "":
		log.Warn("funcd does not support blob secret storage yet; keys are kept in files",
			"setting", settingSecretStorageSas, "dir", dir)
	}
	if dir == "" {
		return nil, errors.New("keys: no folder for secrets: the state folder is not set")
	}
	return FileStore{Dir: dir}, nil
}
