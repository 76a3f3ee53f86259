package doctor

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"

	"github.com/funcd/funcd"
)

// disabled explains why a function is disabled: which setting says so and
// where it was set.
func (c *checker) disabled(fn *funcd.Function) Finding {
	f := Finding{Severity: Warning, Function: fn.Name}
	name, value, ok := c.envSetting(disabledSettings(fn.Name))
	switch {
	case ok:
		f.Problem = fmt.Sprintf("disabled by the setting %s=%s in the environment; it answers only callers with the master key", name, value)
		f.Fix = fmt.Sprintf("unset %s (or set it to false) to enable the function", name)
	case c.localSetting(fn.Name, &f):
	default:
		line, col := position(c.functionRaw(fn), "disabled")
		f.File, f.Line, f.Column, f.Field = fn.ConfigFile, line, col, "disabled"
		f.Problem = "disabled by function.json; it answers only callers with the master key"
		f.Fix = `remove "disabled" from function.json to enable the function`
	}
	return f
}

// disabledSettings are the names of the settings that disable a function,
// AzureWebJobs.<name>.Disabled and the form environment variables can
// carry, AzureWebJobs_<name>_Disabled.
func disabledSettings(function string) []string {
	return []string{"AzureWebJobs." + function + ".Disabled", "AzureWebJobs_" + function + "_Disabled"}
}

// envSetting finds the first of names (case-insensitively) set to a true
// value in the process environment.
func (c *checker) envSetting(names []string) (name, value string, ok bool) {
	for _, kv := range c.environ {
		k, v, _ := strings.Cut(kv, "=")
		for _, n := range names {
			if strings.EqualFold(k, n) && enabled(v) {
				return k, v, true
			}
		}
	}
	return "", "", false
}

// localSetting fills f in if local.settings.json disables the function and
// reports whether it does.
func (c *checker) localSetting(function string, f *Finding) bool {
	if c.local == nil {
		return false
	}
	for _, k := range slices.Sorted(maps.Keys(c.local.Values)) {
		v := c.local.Values[k]
		for _, n := range disabledSettings(function) {
			if !strings.EqualFold(k, n) || !enabled(v) {
				continue
			}
			line, col := position(c.localRaw, "Values", k)
			f.File, f.Line, f.Column, f.Field = localFile, line, col, "Values."+k
			f.Problem = fmt.Sprintf("disabled by the setting %s=%s in %s; it answers only callers with the master key", k, v, localFile)
			f.Fix = fmt.Sprintf("remove %s from %s (or set it to \"false\") to enable the function", k, localFile)
			return true
		}
	}
	return false
}

// enabled reports whether a setting value turns a switch on: "1" or "true"
// in any case.
func enabled(v string) bool {
	return v == "1" || strings.EqualFold(v, "true")
}

// readFile returns a file of the app, or nil.
func readFile(fsys fs.FS, name string) []byte {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil
	}
	return data
}
