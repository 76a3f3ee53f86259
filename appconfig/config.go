package appconfig

import (
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// This file models .NET configuration as the real host sees host.json: every
// leaf value flattened under a ':'-separated, case-insensitive path, with
// AzureFunctionsJobHost__a__b environment variables laid over it. Options are
// then bound from the flattened keys, which is what makes `"customHandler":
// {}` absent, arrays merge by index, and keys match in any case.

// jobHostPrefix is the configuration section host.json is read into.
const jobHostPrefix = "AzureFunctionsJobHost"

// entry is one configuration value.
type entry struct {
	key   string // path as written, ':'-separated ("extensions:http:routePrefix")
	value string // the value as .NET configuration holds it
	// source is "host.json" or the environment variable that set it.
	source string
	at     pos    // position in host.json; zero for the environment
	field  string // JSON path in host.json ("extensions.http.routePrefix")
}

// config is the flattened AzureFunctionsJobHost section.
type config struct {
	entries map[string]*entry // by foldKey(key)
	// containers holds the position and JSON path of every object and array
	// in host.json, by lower-cased key, to locate errors about a section.
	containers map[string]*entry
}

func newConfig() *config {
	return &config{entries: map[string]*entry{}, containers: map[string]*entry{}}
}

// addJSON flattens a host.json object into the configuration.
func (c *config) addJSON(root *node) {
	c.flatten(root, "", "")
}

func (c *config) flatten(n *node, key, field string) {
	switch n.kind {
	case kindObject:
		if key != "" {
			c.containers[foldKey(key)] = &entry{key: key, source: hostFile, at: n.pos, field: field}
		}
		for _, f := range n.fields {
			c.flatten(f.value, joinKey(key, f.key), joinField(field, f.key))
		}
	case kindArray:
		c.containers[foldKey(key)] = &entry{key: key, source: hostFile, at: n.pos, field: field}
		for i, item := range n.items {
			c.flatten(item, joinKey(key, strconv.Itoa(i)), field+"["+strconv.Itoa(i)+"]")
		}
	default:
		c.entries[foldKey(key)] = &entry{key: key, value: n.dotnetString(), source: hostFile, at: n.pos, field: field}
	}
}

func joinKey(a, b string) string {
	if a == "" {
		return b
	}
	return a + ":" + b
}

func joinField(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// addEnv lays AzureFunctionsJobHost__* (or AzureFunctionsJobHost:*)
// variables over the configuration, as the environment-variables provider
// added after host.json does. It returns the variables used, sorted.
func (c *config) addEnv(env map[string]string) []string {
	var used []string
	for name := range env {
		if _, ok := envConfigKey(name); ok {
			used = append(used, name)
		}
	}
	// Sorted so that, of two spellings of one key, the result is stable.
	slices.Sort(used)
	for _, name := range used {
		key, _ := envConfigKey(name)
		c.entries[foldKey(key)] = &entry{key: key, value: env[name], source: name}
	}
	return used
}

// envConfigKey maps an environment variable name to its configuration key
// under AzureFunctionsJobHost, if it is one.
func envConfigKey(name string) (string, bool) {
	key := strings.ReplaceAll(name, "__", ":")
	prefix := jobHostPrefix + ":"
	if len(key) <= len(prefix) || !strings.EqualFold(key[:len(prefix)], prefix) {
		return "", false
	}
	return key[len(prefix):], true
}

// get returns the value at key, or nil.
func (c *config) get(key string) *entry {
	return c.entries[foldKey(key)]
}

// exists reports whether the section at key has a value or children, as
// IConfigurationSection.Exists does.
func (c *config) exists(key string) bool {
	return c.get(key) != nil || len(c.children(key)) > 0
}

// children returns the names of the direct children of the section at key,
// in the order IConfiguration.GetChildren gives them (numbers first, in
// numeric order, then names case-insensitively).
func (c *config) children(key string) []string {
	parent := strings.Split(key, ":")
	seen := map[string]string{}
	for _, e := range c.entries {
		parts := strings.Split(e.key, ":")
		if len(parts) <= len(parent) || !foldEqualParts(parts[:len(parent)], parent) {
			continue
		}
		child := parts[len(parent)]
		if prev, ok := seen[foldKey(child)]; !ok || child < prev {
			seen[foldKey(child)] = child
		}
	}
	names := make([]string, 0, len(seen))
	for _, n := range seen {
		names = append(names, n)
	}
	slices.SortFunc(names, compareConfigKeys)
	return names
}

// foldKey is the map key of a configuration key: keys compare as .NET's
// OrdinalIgnoreCase does, by their upper-case form.
func foldKey(key string) string { return strings.ToUpper(key) }

func foldEqualParts(a, b []string) bool {
	for i := range a {
		if foldKey(a[i]) != foldKey(b[i]) {
			return false
		}
	}
	return true
}

// compareConfigKeys orders keys as ConfigurationKeyComparer does.
func compareConfigKeys(a, b string) int {
	ai, aerr := strconv.Atoi(a)
	bi, berr := strconv.Atoi(b)
	switch {
	case aerr == nil && berr == nil:
		return ai - bi
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// locate returns where the section or value at key came from, for errors:
// its own entry, else its container in host.json, else its first child.
func (c *config) locate(key string) *entry {
	if e := c.get(key); e != nil {
		return e
	}
	if e := c.containers[foldKey(key)]; e != nil {
		return e
	}
	if children := c.children(key); len(children) > 0 {
		return c.locate(key + ":" + children[0])
	}
	return nil
}

// errorAt builds a ConfigError about the value or section at key. A key
// that is not set is located at the nearest section that is.
func (c *config) errorAt(key, msg, hint string) *funcd.ConfigError {
	if e := c.locate(key); e != nil {
		return e.configError(msg, hint)
	}
	parts := strings.Split(key, ":")
	for i := len(parts) - 1; i > 0; i-- {
		p := c.locate(strings.Join(parts[:i], ":"))
		if p == nil {
			continue
		}
		ce := p.configError(msg, hint)
		if p.source == hostFile {
			ce.Field = joinField(p.field, strings.Join(parts[i:], "."))
		}
		return ce
	}
	return &funcd.ConfigError{File: hostFile, Field: strings.ReplaceAll(key, ":", "."), Msg: msg, Hint: hint}
}

// configError locates a ConfigError at the entry: in host.json with its
// position and JSON path, or on the environment variable that set it.
func (e *entry) configError(msg, hint string) *funcd.ConfigError {
	if e.source != hostFile {
		return &funcd.ConfigError{Field: e.source, Msg: msg, Hint: hint}
	}
	return &funcd.ConfigError{File: hostFile, Line: e.at.line, Column: e.at.col, Field: e.field, Msg: msg, Hint: hint}
}

// bindError is the message .NET's ConfigurationBinder gives when a value does
// not convert to the option's type.
func bindError(key, typeName string) string {
	return "Failed to convert configuration value at '" + jobHostPrefix + ":" + key + "' to type '" + typeName + "'."
}
