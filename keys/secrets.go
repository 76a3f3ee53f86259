package keys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Key is one named key as a secrets file stores it.
type Key struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Encrypted says Value is protected with ASP.NET DataProtection, which
	// funcd cannot undo; a Manager replaces such values when it loads them.
	Encrypted bool `json:"encrypted"`
}

// Metadata is the trailer the host writes into every secrets file.
type Metadata struct {
	HostName        string // "hostName"; empty is written as null
	InstanceID      string // "instanceId"; empty is written as null
	Source          string // "source"; the host writes "runtime"
	DecryptionKeyID string // "decryptionKeyId"; always written, "" without encryption
}

// HostSecrets is the host secrets file (host.json in the secrets folder).
type HostSecrets struct {
	MasterKey    Key
	FunctionKeys []Key
	SystemKeys   []Key
	Metadata
}

// FunctionSecrets is one function's secrets file (<function>.json).
type FunctionSecrets struct {
	Keys []Key
	Metadata
}

// Names the real host gives keys it creates or reads from V0 files.
const (
	masterKeyFileName = "master"  // the master key's name in host.json
	defaultKeyName    = "default" // the first host and function key
)

// wireMeta is Metadata as written: field names, order and nulls as the
// host's serializer (Newtonsoft.Json, indented) produces them.
type wireMeta struct {
	HostName        *string `json:"hostName"`
	InstanceID      *string `json:"instanceId"`
	Source          *string `json:"source"`
	DecryptionKeyID *string `json:"decryptionKeyId"`
}

type wireHost struct {
	MasterKey    *Key  `json:"masterKey"`
	FunctionKeys []Key `json:"functionKeys"`
	SystemKeys   []Key `json:"systemKeys"`
	wireMeta
}

type wireFunction struct {
	Keys []Key `json:"keys"`
	wireMeta
}

// The shapes a reader accepts, for error messages.
const (
	hostShapes = `expected a V1 host secrets object {"masterKey":{"name":..,"value":..,"encrypted":..},"functionKeys":[...],...}` +
		` or a V0 one {"masterKey":"..","functionKey":".."}`
	functionShapes = `expected a V1 function secrets object {"keys":[{"name":..,"value":..,"encrypted":..}],...}` +
		` or a V0 one {"key":".."}`
)

// errFormat marks a secrets file that is not in a shape the host reads.
var errFormat = errors.New("invalid secrets file format")

// parseHostSecrets reads a host secrets file, V1 or V0. Empty content (or
// only a byte order mark and white space) means no secrets: (nil, nil).
func parseHostSecrets(data []byte) (*HostSecrets, error) {
	data = trim(data)
	obj, err := parseObject(data, hostShapes)
	if obj == nil || err != nil {
		return nil, err
	}
	switch {
	case jsonKind(obj["masterKey"]) == '"': // V0
		s := &HostSecrets{MasterKey: Key{Name: masterKeyFileName}}
		if err := json.Unmarshal(obj["masterKey"], &s.MasterKey.Value); err != nil {
			return nil, fmt.Errorf("%w: masterKey: %v", errFormat, err)
		}
		s.FunctionKeys, err = parseV0Key(obj, "functionKey")
		return s, err
	case jsonKind(obj["masterKey"]) == '{' && jsonKind(obj["functionKeys"]) == '[': // V1
		var w wireHost
		if err := json.Unmarshal(data, &w); err != nil {
			return nil, fmt.Errorf("%w: %v", errFormat, err)
		}
		s := &HostSecrets{MasterKey: *w.MasterKey, FunctionKeys: w.FunctionKeys, SystemKeys: w.SystemKeys, Metadata: w.metadata()}
		for _, c := range []struct {
			field string
			keys  []Key
		}{{"functionKeys", s.FunctionKeys}, {"systemKeys", s.SystemKeys}} {
			if err := checkNames(c.field, c.keys); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	return nil, fmt.Errorf("%w: %s", errFormat, hostShapes)
}

// parseFunctionSecrets reads a function secrets file, V1 or V0. Empty
// content means no secrets: (nil, nil).
func parseFunctionSecrets(data []byte) (*FunctionSecrets, error) {
	data = trim(data)
	obj, err := parseObject(data, functionShapes)
	if obj == nil || err != nil {
		return nil, err
	}
	switch jsonKind(obj["key"]) {
	case '"', 'n': // V0; "key": null is a V0 file without keys
		keys, err := parseV0Key(obj, "key")
		return &FunctionSecrets{Keys: keys}, err
	}
	if jsonKind(obj["keys"]) != '[' {
		return nil, fmt.Errorf("%w: %s", errFormat, functionShapes)
	}
	var w wireFunction
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", errFormat, err)
	}
	if err := checkNames("keys", w.Keys); err != nil {
		return nil, err
	}
	return &FunctionSecrets{Keys: w.Keys, Metadata: w.metadata()}, nil
}

// trim drops a UTF-8 byte order mark (the host writes one) and surrounding
// white space.
func trim(data []byte) []byte {
	return bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\uFEFF")))
}

// parseObject decodes trimmed data as a JSON object, property by property.
// It returns nil without error for empty content.
func parseObject(data []byte, shapes string) (map[string]json.RawMessage, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if jsonKind(data) != '{' {
		return nil, fmt.Errorf("%w: not a JSON object; %s", errFormat, shapes)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("%w: %v; %s", errFormat, err, shapes)
	}
	return obj, nil
}

// parseV0Key reads a V0 key property: a string becomes the "default" key,
// null or absence means none.
func parseV0Key(obj map[string]json.RawMessage, field string) ([]Key, error) {
	raw, ok := obj[field]
	if !ok || jsonKind(raw) == 'n' {
		return nil, nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %s: expected a string", errFormat, field)
	}
	return []Key{{Name: defaultKeyName, Value: v}}, nil
}

// checkNames rejects keys the host could not load either: unnamed ones and
// duplicate names.
func checkNames(field string, keys []Key) error {
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		switch {
		case k.Name == "":
			return fmt.Errorf("%w: %s[%d]: key without a name", errFormat, field, i)
		case seen[k.Name]:
			return fmt.Errorf("%w: %s[%d]: duplicate key name %q", errFormat, field, i, k.Name)
		}
		seen[k.Name] = true
	}
	return nil
}

// jsonKind returns the first byte of a JSON value: '{', '[', '"', 'n' for
// null, and so on; 0 for an absent value.
func jsonKind(raw json.RawMessage) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func (w wireMeta) metadata() Metadata {
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return Metadata{deref(w.HostName), deref(w.InstanceID), deref(w.Source), deref(w.DecryptionKeyID)}
}

func (m Metadata) wire() wireMeta {
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	id := m.DecryptionKeyID
	return wireMeta{orNull(m.HostName), orNull(m.InstanceID), orNull(m.Source), &id}
}

// encodeHostSecrets writes s in the V1 shape, byte for byte as the host's
// serializer does: two-space indentation, no trailing newline (the host
// also writes a UTF-8 byte order mark, which funcd leaves out).
func encodeHostSecrets(s *HostSecrets) ([]byte, error) {
	master := s.MasterKey
	return encode(wireHost{&master, nonNil(s.FunctionKeys), nonNil(s.SystemKeys), s.Metadata.wire()})
}

// encodeFunctionSecrets writes s in the V1 shape.
func encodeFunctionSecrets(s *FunctionSecrets) ([]byte, error) {
	return encode(wireFunction{nonNil(s.Keys), s.Metadata.wire()})
}

func encode(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func nonNil(keys []Key) []Key {
	if keys == nil {
		return []Key{}
	}
	return keys
}
