package appconfig

import (
	"errors"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// decryptError is Core Tools' message when it cannot decrypt
// local.settings.json.
const decryptError = "Failed to decrypt settings. Encrypted settings only be edited through 'func settings add'."

// ReadLocalSettings reads local.settings.json (name is its path in fsys) as
// Core Tools does. A missing file gives empty settings and a nil error.
//
// The file's top-level property names are case-sensitive ("Values",
// "IsEncrypted"); Values that are numbers or booleans become their .NET
// text ("True"), null Values are dropped. "IsEncrypted" defaults to true
// when absent, and an encrypted file with any value cannot be used: Core
// Tools decrypts with Windows DPAPI, which funcd cannot.
//
// Errors are *funcd.ConfigError values located in the file. With an error
// the settings returned hold no values: when the file does not parse or has
// a value of the wrong shape, that is what Core Tools falls back to (it
// warns and goes on); when it is encrypted, Core Tools stops, and only the
// unencrypted Host section is returned.
func ReadLocalSettings(fsys fs.FS, name string) (*funcd.LocalSettings, error) {
	ls := &funcd.LocalSettings{Values: map[string]string{}, ConnectionStrings: map[string]string{}}
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return ls, nil
	}
	if err != nil {
		return emptyEncrypted(), &funcd.ConfigError{File: name, Msg: "Unable to read " + name + ": " + err.Error(), Hint: "Check that the file is readable."}
	}
	root, serr := parseJSON(data)
	if serr == nil && root.kind != kindObject {
		serr = &syntaxError{pos: root.pos, msg: notAnObject(root)}
	}
	if serr != nil {
		return emptyEncrypted(), localError(name, serr.pos, "", invalidLocalSettings(name, serr.msg),
			"Fix the JSON syntax at the position shown; until then no local setting applies.")
	}
	r := &localReader{name: name, ls: ls}
	for _, read := range []func(*node) bool{r.isEncrypted, r.values, r.connectionStrings, r.host} {
		if !read(root) {
			return emptyEncrypted(), r.err
		}
	}
	if ls.IsEncrypted && (slices.ContainsFunc(sortedKeys(ls.Values), func(k string) bool { return ls.Values[k] != "" }) || len(ls.ConnectionStrings) > 0) {
		at := root.pos
		if f := root.get("IsEncrypted"); f != nil {
			at = f.value.pos
		}
		enc := emptyEncrypted()
		enc.Host = ls.Host
		return enc, localError(name, at, "IsEncrypted", decryptError,
			`Set "IsEncrypted": false and write the values in plain text (run "func settings decrypt" on the Windows machine that encrypted them). When IsEncrypted is absent Core Tools treats the file as encrypted.`)
	}
	return ls, nil
}

// emptyEncrypted is what Core Tools uses when it cannot read the file.
func emptyEncrypted() *funcd.LocalSettings {
	return &funcd.LocalSettings{IsEncrypted: true, Values: map[string]string{}, ConnectionStrings: map[string]string{}}
}

func invalidLocalSettings(name, detail string) string {
	return "Failed to read app settings file at '" + name + "'. Ensure it is a valid JSON file. " + detail
}

func localError(name string, at pos, field, msg, hint string) *funcd.ConfigError {
	return &funcd.ConfigError{File: name, Line: at.line, Column: at.col, Field: field, Msg: msg, Hint: hint}
}

// localReader reads the sections of local.settings.json; each method
// reports whether its section was usable and leaves the error in err.
type localReader struct {
	name string
	ls   *funcd.LocalSettings
	err  *funcd.ConfigError
}

func (r *localReader) fail(at pos, field, msg, hint string) bool {
	r.err = localError(r.name, at, field, msg, hint)
	return false
}

// isEncrypted reads "IsEncrypted" as a nullable Boolean, default true.
func (r *localReader) isEncrypted(root *node) bool {
	r.ls.IsEncrypted = true
	f := root.get("IsEncrypted")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	v := f.value
	switch v.kind {
	case kindBool:
		r.ls.IsEncrypted = v.text == "true"
		return true
	case kindNumber:
		f, _ := strconv.ParseFloat(v.text, 64)
		r.ls.IsEncrypted = f != 0
		return true
	case kindString:
		if b, ok := parseBool(v.text); ok {
			r.ls.IsEncrypted = b
			return true
		}
	}
	return r.fail(v.pos, "IsEncrypted", "'IsEncrypted' must be true or false.",
		`Use "IsEncrypted": false. Core Tools ignores the whole file when this value does not convert.`)
}

// values reads "Values" as string to string.
func (r *localReader) values(root *node) bool {
	f := root.get("Values")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	if f.value.kind != kindObject {
		return r.fail(f.value.pos, "Values", invalidLocalSettings(r.name, "Values must be an object of setting names and values."),
			`Write "Values": {"NAME": "value"}.`)
	}
	for _, m := range f.value.fields {
		switch v := m.value; {
		case v.kind == kindNull:
			delete(r.ls.Values, m.key) // Core Tools skips null values
		case v.scalar():
			r.ls.Values[m.key] = v.dotnetString()
		default:
			return r.fail(v.pos, "Values."+m.key,
				invalidLocalSettings(r.name, "Error reading string. Unexpected token: "+tokenType(v)+". Path 'Values."+m.key+"'."),
				"Every value in Values must be a string; Core Tools ignores the whole file otherwise.")
		}
	}
	return true
}

// connectionStrings reads "ConnectionStrings": each entry is a string or an
// object with "ConnectionString" (and "ProviderName").
func (r *localReader) connectionStrings(root *node) bool {
	f := root.get("ConnectionStrings")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	if f.value.kind != kindObject {
		return r.fail(f.value.pos, "ConnectionStrings", invalidLocalSettings(r.name, "ConnectionStrings must be an object."),
			`Write "ConnectionStrings": {"Name": "connection string"}.`)
	}
	for _, m := range f.value.fields {
		switch v := m.value; v.kind {
		case kindString:
			r.ls.ConnectionStrings[m.key] = v.text
		case kindObject:
			cs := ""
			if c := v.get("ConnectionString"); c != nil {
				cs = c.value.dotnetString()
				if !c.value.scalar() {
					cs = string(rawJSON(nil, c.value))
				}
			}
			r.ls.ConnectionStrings[m.key] = cs
		default:
			return r.fail(v.pos, "ConnectionStrings."+m.key, "Cannot access child value on Newtonsoft.Json.Linq.JValue.",
				`Use a string, or {"ConnectionString": "...", "ProviderName": "..."}.`)
		}
	}
	return true
}

// host reads the "Host" section; its property names are case-insensitive.
func (r *localReader) host(root *node) bool {
	f := root.get("Host")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	if f.value.kind != kindObject {
		return r.fail(f.value.pos, "Host", invalidLocalSettings(r.name, "Host must be an object."),
			`Write "Host": {"LocalHttpPort": 7071}.`)
	}
	h := &r.ls.Host
	for _, m := range f.value.fields {
		v, field := m.value, "Host."+m.key
		var ok bool
		switch strings.ToLower(m.key) {
		case "localhttpport":
			h.LocalHTTPPort, ok = localInt(v)
		case "localhttpaddress":
			h.LocalHTTPAddress, ok = v.dotnetString(), v.scalar()
		case "cors":
			h.CORS, ok = v.dotnetString(), v.scalar()
		case "corscredentials":
			h.CORSCredentials, ok = localBool(v)
		default:
			ok = true
		}
		if !ok {
			return r.fail(v.pos, field, invalidLocalSettings(r.name, "Could not convert the value of '"+field+"'."),
				"LocalHttpPort is a number, LocalHttpAddress and CORS are strings, CORSCredentials is true or false.")
		}
	}
	return true
}

// localInt converts as Json.NET reading an Int32: a whole number, or a
// string holding one; null is 0.
func localInt(v *node) (int, bool) {
	switch v.kind {
	case kindNull:
		return 0, true
	case kindNumber, kindString:
		return parseInt32(v.dotnetString())
	}
	return 0, false
}

// localBool converts as Json.NET reading a Boolean: true/false, or a string
// holding one; null is false.
func localBool(v *node) (bool, bool) {
	switch v.kind {
	case kindNull:
		return false, true
	case kindBool, kindString:
		return parseBool(v.dotnetString())
	}
	return false, false
}

// Environ merges the process environment (KEY=VALUE strings, as from
// os.Environ) with local.settings.json as Core Tools does before it starts
// the host: a variable the environment already has with a non-empty value
// wins, and its name is returned in skipped (Core Tools prints "Skipping
// '{key}' from local settings as it's already defined in current
// environment variables."). Other Values are added, empty ones included.
// Connection strings are added as "ConnectionStrings:<name>" under the same
// rule. ls may be nil.
func Environ(process []string, ls *funcd.LocalSettings) (env map[string]string, skipped []string) {
	env = make(map[string]string, len(process))
	for _, kv := range process {
		k, v, _ := strings.Cut(kv, "=")
		if k != "" {
			env[k] = v
		}
	}
	if ls == nil {
		return env, nil
	}
	add := func(k, v string) {
		if k == "" {
			return // Core Tools skips a local setting with an empty key
		}
		if env[k] != "" {
			skipped = append(skipped, k)
			return
		}
		env[k] = v
	}
	for _, k := range sortedKeys(ls.Values) {
		add(k, ls.Values[k])
	}
	for _, k := range sortedKeys(ls.ConnectionStrings) {
		add("ConnectionStrings:"+k, ls.ConnectionStrings[k])
	}
	return env, skipped
}
