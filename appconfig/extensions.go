package appconfig

import (
	"bytes"
	"encoding/json"
	"strings"
)

// bindExtensions gives the bindings host.json's "extensions" sections with
// the AzureFunctionsJobHost__extensions__* variables laid over them, as the
// real host's options binding sees them: an override replaces the value at
// its path (keys matched case-insensitively) with a string, which is how
// .NET configuration holds every value.
func (l *loader) bindExtensions() {
	out := map[string]json.RawMessage{}
	var root map[string]json.RawMessage
	if json.Unmarshal(l.app.Host.Raw, &root) == nil {
		for k, v := range root {
			if strings.EqualFold(k, "extensions") {
				var ext map[string]json.RawMessage
				_ = json.Unmarshal(v, &ext)
				for name, body := range ext {
					out[strings.ToLower(name)] = body
				}
			}
		}
	}
	overridden := map[string]map[string]any{}
	for _, e := range l.cfg.entries {
		parts := strings.Split(e.key, ":")
		if e.source == hostFile || len(parts) < 3 || !strings.EqualFold(parts[0], "extensions") {
			continue
		}
		name := strings.ToLower(parts[1])
		section := overridden[name]
		if section == nil {
			d := json.NewDecoder(bytes.NewReader(out[name]))
			d.UseNumber() // numbers stay as written
			if d.Decode(&section) != nil || section == nil {
				section = map[string]any{} // the variables make it an object
			}
			overridden[name] = section
		}
		setPath(section, parts[2:], e.value)
	}
	for name, section := range overridden {
		if b, err := json.Marshal(section); err == nil {
			out[name] = b
		}
	}
	l.app.Host.Extensions = out
}

// setPath sets the value at path in m, matching keys case-insensitively and
// making objects on the way; a value in the way is replaced by an object.
func setPath(m map[string]any, path []string, value string) {
	key := path[0]
	for k := range m {
		if strings.EqualFold(k, key) {
			key = k
			break
		}
	}
	if len(path) == 1 {
		m[key] = value
		return
	}
	child, ok := m[key].(map[string]any)
	if !ok {
		child = map[string]any{}
		m[key] = child
	}
	setPath(child, path[1:], value)
}
