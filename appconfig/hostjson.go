package appconfig

import (
	"errors"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

const (
	hostFile = "host.json"

	// defaultMaxRequestBodySize is Kestrel's limit the host keeps (100 MB).
	defaultMaxRequestBodySize = 104857600

	// Default extension bundle the host configures when host.json is missing.
	defaultBundleID      = "Microsoft.Azure.Functions.ExtensionBundle"
	defaultBundleVersion = "[4.*, 5.0.0)"

	hostJSONDocs = "https://aka.ms/functions-hostjson"
)

// defaultFunctionTimeout applies on every plan but Consumption; funcd is
// never a Consumption plan.
const defaultFunctionTimeout = 30 * time.Minute

// minFunctionTimeout and maxFunctionTimeout bound functionTimeout on plans
// that allow unbounded timeouts.
var (
	minFunctionTimeout = timeSpan(ticksPerSecond)
	maxFunctionTimeout = timeSpan(math.MaxInt64) // TimeSpan.MaxValue
	unboundedTimeout   = timeSpan(-ticksPerDay)  // "-1" parses as minus one day
)

// knownHostProperties are the top-level host.json properties the v4 host (or
// one of its extensions) reads; others draw a warning.
var knownHostProperties = []string{
	"version", "functionTimeout", "retry", "functions", "http", "watchDirectories", "watchFiles",
	"queues", "serviceBus", "eventHub", "singleton", "logging", "aggregator", "healthMonitor",
	"extensionBundle", "managedDependency", "managedDependencies", "customHandler", "httpWorker",
	"extensions", "concurrency", "sendCanceledInvocationsToWorker", "telemetryMode",
	"metadataProviderTimeout", "isDefaultHostConfig", "fileWatchingEnabled", "languageWorkers", "scale",
}

func defaultHostConfig() funcd.HostConfig {
	return funcd.HostConfig{
		Version:         "2.0",
		FunctionTimeout: defaultFunctionTimeout,
		HTTP: funcd.HTTPOptions{
			RoutePrefix:            "api",
			MaxConcurrentRequests:  -1,
			MaxOutstandingRequests: -1,
			MaxRequestBodySize:     defaultMaxRequestBodySize,
		},
		Logging:   funcd.Logging{FileLoggingMode: "debugOnly"},
		Singleton: funcd.SingletonOptions{ListenerLockPeriod: funcd.DefaultListenerLockPeriod},
	}
}

// loadHost reads host.json and the AzureFunctionsJobHost__* overrides into
// App.Host.
func (l *loader) loadHost() {
	l.cfg = newConfig()
	if root := l.readHostJSON(); root != nil {
		l.checkVersion(root)
		l.warnUnknownProperties(root)
		l.cfg.addJSON(root)
	}
	l.cfg.addEnv(l.opts.Env)

	l.bindFunctionTimeout()
	l.bindRetry()
	l.bindAllowList()
	l.bindHTTP()
	l.bindSingleton()
	l.bindLogging()
	l.bindExtensionBundle()
	l.bindExtensions()
	l.loadCustomHandler()
}

// readHostJSON reads and parses host.json. It returns nil when the file is
// missing (defaults apply) or broken (a fatal error is recorded).
func (l *loader) readHostJSON() *node {
	path := l.hostPath(hostFile)
	data, err := fs.ReadFile(l.fsys, hostFile)
	if errors.Is(err, fs.ErrNotExist) {
		l.app.Host.ExtensionBundle = &funcd.ExtensionBundle{ID: defaultBundleID, Version: defaultBundleVersion}
		l.warn(&funcd.ConfigError{
			File: hostFile,
			Msg:  "No host configuration file found. Using the default configuration.",
			Hint: `Create host.json with {"version": "2.0"} so that the app behaves the same everywhere; the real host writes one with an extension bundle.`,
		})
		return nil
	}
	if err != nil {
		l.hostError(&funcd.ConfigError{
			File: hostFile,
			Msg:  "Unable to read host configuration file '" + path + "'. " + err.Error(),
			Hint: "Check that host.json is a readable file.",
		})
		return nil
	}
	root, serr := parseJSON(data)
	if serr == nil && root.kind != kindObject {
		serr = &syntaxError{pos: root.pos, msg: notAnObject(root)}
	}
	if serr != nil {
		l.hostError(&funcd.ConfigError{
			File: hostFile, Line: serr.pos.line, Column: serr.pos.col,
			Msg:  "Unable to parse host configuration file '" + path + "'. " + serr.msg,
			Hint: `host.json must be one JSON object such as {"version": "2.0"}; fix the syntax at the position shown.`,
		})
		return nil
	}
	l.app.Host.Raw = rawJSON(data, root)
	if len(root.fields) == 0 {
		// The host treats an empty object as {"version": "2.0"}.
		return nil
	}
	return root
}

// notAnObject is Json.NET's message when a file holds JSON that is not an
// object.
func notAnObject(n *node) string {
	token := map[kind]string{
		kindNull: "Null", kindBool: "Boolean", kindNumber: "Integer", kindString: "String", kindArray: "StartArray",
	}[n.kind]
	if n.kind == kindNumber && strings.ContainsAny(n.text, ".eE") {
		token = "Float"
	}
	return "Error reading JObject from JsonReader. Current JsonReader item is not an object: " + token + "."
}

// checkVersion requires "version": "2.0". The host reads the property with a
// case-sensitive lookup, so "Version" does not count.
func (l *loader) checkVersion(root *node) {
	f := root.get("version")
	at := root.pos
	version := ""
	if f != nil {
		at = f.value.pos
		switch {
		case f.value.scalar():
			version = f.value.dotnetString()
		default:
			l.hostError(&funcd.ConfigError{
				File: hostFile, Line: at.line, Column: at.col, Field: "version",
				Msg:  "Cannot cast Newtonsoft.Json.Linq." + jtokenType(f.value) + " to Newtonsoft.Json.Linq.JToken.",
				Hint: `Set "version": "2.0".`,
			})
			return
		}
	}
	if version == "" {
		hint := `Add "version": "2.0"; v1 host.json files need migrating.`
		if other := root.getFold("version"); f == nil && other != nil {
			at, hint = other.keyPos, `The host reads "version" case-sensitively: rename "`+other.key+`" to "version".`
		}
		l.hostError(&funcd.ConfigError{
			File: hostFile, Line: at.line, Column: at.col, Field: "version",
			Msg:  "The host.json file is missing the required 'version' property. See " + hostJSONDocs + " for steps to migrate the configuration file.",
			Hint: hint,
		})
		return
	}
	if version == "2.0" {
		l.app.Host.Version = version
		return
	}
	msg := "'" + version + "' is an invalid value for host.json 'version' property. We recommend you set the 'version' property to '2.0'. "
	if strings.HasPrefix(strings.ToLower(version), "3") {
		msg += "This does not correspond to the function runtime version, only to the schema version of the host.json file. "
	}
	msg += "See " + hostJSONDocs + " for more information on this configuration file."
	l.hostError(&funcd.ConfigError{
		File: hostFile, Line: at.line, Column: at.col, Field: "version",
		Msg:  msg,
		Hint: `"version" is the host.json schema version, which is "2.0" for Functions v2 and later.`,
	})
}

// jtokenType names the Json.NET class of a value.
func jtokenType(n *node) string {
	switch n.kind {
	case kindObject:
		return "JObject"
	case kindArray:
		return "JArray"
	}
	return "JValue"
}

// warnUnknownProperties warns about top-level properties the host ignores.
func (l *loader) warnUnknownProperties(root *node) {
	for _, f := range root.fields {
		if slices.ContainsFunc(knownHostProperties, func(k string) bool { return strings.EqualFold(k, f.key) }) {
			continue
		}
		l.warn(&funcd.ConfigError{
			File: hostFile, Line: f.keyPos.line, Column: f.keyPos.col, Field: f.key,
			Msg:  "'" + f.key + "' is not a known host.json property; it is ignored.",
			Hint: "Check the spelling against " + hostJSONDocs + "; extension settings go under \"extensions\", and v1 properties such as \"id\" are not used.",
		})
	}
}

// bindFunctionTimeout reads functionTimeout with the rules of plans other
// than Consumption: "-1" means no limit, otherwise at least one second.
func (l *loader) bindFunctionTimeout() {
	const key = "functionTimeout"
	e := l.cfg.get(key)
	if e == nil || e.value == "" { // null binds to a null TimeSpan?: the default
		return
	}
	ts, ok := parseTimeSpan(e.value)
	if !ok {
		l.hostError(e.configError(bindError(key, typeNullableTimeSpan),
			`Write the timeout as a TimeSpan "hh:mm:ss" (for example "00:10:00"), or "-1" for no limit.`))
		return
	}
	if ts == unboundedTimeout {
		l.app.Host.FunctionTimeout = 0
		return
	}
	if ts < minFunctionTimeout || ts > maxFunctionTimeout {
		l.hostError(e.configError(
			"FunctionTimeout must be greater than "+minFunctionTimeout.String()+" and less than "+maxFunctionTimeout.String()+".",
			`Use a timeout of at least one second ("00:00:01"), or "-1" for no limit.`))
		return
	}
	l.app.Host.FunctionTimeout = ts.duration()
}

// bindAllowList reads the "functions" allow list, which --functions
// replaces.
func (l *loader) bindAllowList() {
	if len(l.opts.AllowList) > 0 {
		l.app.Host.Functions = slices.Clone(l.opts.AllowList)
		return
	}
	l.app.Host.Functions = l.cfg.stringList("functions")
}

// stringList binds a list of strings from the children of key.
func (c *config) stringList(key string) []string {
	var out []string
	for _, child := range c.children(key) {
		if e := c.get(key + ":" + child); e != nil {
			out = append(out, e.value)
		}
	}
	return out
}

// bindHTTP reads extensions.http and the request body limit.
func (l *loader) bindHTTP() {
	h := &l.app.Host.HTTP
	if e := l.cfg.get("extensions:http:routePrefix"); e != nil {
		h.RoutePrefix = strings.Trim(e.value, "/")
	}
	l.bindInt("extensions:http:maxConcurrentRequests", &h.MaxConcurrentRequests)
	l.bindInt("extensions:http:maxOutstandingRequests", &h.MaxOutstandingRequests)
	l.bindBool("extensions:http:dynamicThrottlesEnabled", &h.DynamicThrottlesEnabled)
	for _, name := range l.cfg.children("extensions:http:customHeaders") {
		if e := l.cfg.get("extensions:http:customHeaders:" + name); e != nil {
			if h.CustomHeaders == nil {
				h.CustomHeaders = map[string]string{}
			}
			h.CustomHeaders[name] = e.value
		}
	}
	l.bindBodySizeLimit()
}

// bindBodySizeLimit reads FUNCTIONS_REQUEST_BODY_SIZE_LIMIT; the host
// ignores a value that is not a whole number.
func (l *loader) bindBodySizeLimit() {
	const name = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
	v, ok := l.opts.Env[name]
	if !ok {
		return
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(v), "+"), 10, 64)
	if err != nil || n < 0 {
		l.warn(&funcd.ConfigError{
			Field: name,
			Msg:   "'" + v + "' is not a valid request body size limit; the default of " + strconv.Itoa(defaultMaxRequestBodySize) + " bytes applies.",
			Hint:  "Set " + name + " to a number of bytes.",
		})
		return
	}
	l.app.Host.HTTP.MaxRequestBodySize = n
}

// bindInt binds an Int32 option, leaving *dst alone when key is not set.
func (l *loader) bindInt(key string, dst *int) {
	e := l.cfg.get(key)
	if e == nil {
		return
	}
	v, ok := parseInt32(e.value)
	if !ok {
		l.hostError(e.configError(bindError(key, typeInt32), "Use a whole number (-1 means unbounded)."))
		return
	}
	*dst = v
}

// bindBool binds a Boolean option, leaving *dst alone when key is not set.
func (l *loader) bindBool(key string, dst *bool) {
	e := l.cfg.get(key)
	if e == nil {
		return
	}
	v, ok := parseBool(e.value)
	if !ok {
		l.hostError(e.configError(bindError(key, typeBoolean), "Use true or false."))
		return
	}
	*dst = v
}

// bindTimeSpan binds a (non-nullable) TimeSpan option.
func (l *loader) bindTimeSpan(key string, dst *time.Duration) {
	e := l.cfg.get(key)
	if e == nil {
		return
	}
	ts, ok := parseTimeSpan(e.value)
	if !ok {
		l.hostError(e.configError(bindError(key, typeTimeSpan), `Write the duration as a TimeSpan "hh:mm:ss", for example "00:00:30".`))
		return
	}
	*dst = ts.duration()
}

// bindSingleton reads singleton.listenerLockPeriod, which the real host
// refuses outside 15 to 60 seconds (the limits of an Azure Storage blob
// lease). The other singleton settings concern [Singleton] functions and
// the blob lease recovery poll, which funcd does not have.
func (l *loader) bindSingleton() {
	const key = "singleton:listenerLockPeriod"
	e := l.cfg.get(key)
	if e == nil || e.value == "" { // null: the default
		return
	}
	hint := `Write the period as a TimeSpan from "00:00:15" to "00:01:00" (the default), for example "00:00:30".`
	ts, ok := parseTimeSpan(e.value)
	if !ok {
		l.hostError(e.configError(bindError(key, typeTimeSpan), hint))
		return
	}
	d := ts.duration()
	if d < funcd.MinListenerLockPeriod || d > funcd.MaxListenerLockPeriod {
		value := "'" + e.value + "'"
		if strings.TrimSpace(e.value) != ts.String() {
			value += " (" + ts.String() + ")"
		}
		l.hostError(e.configError(
			"host.json singleton.listenerLockPeriod is "+value+"; it must be from "+
				formatDuration(funcd.MinListenerLockPeriod)+" to "+formatDuration(funcd.MaxListenerLockPeriod)+
				", the limits of the storage lease the host holds for a singleton listener.",
			hint))
		return
	}
	l.app.Host.Singleton.ListenerLockPeriod = d
}

// fileLoggingModes are FileLoggingMode's names in enum order.
var fileLoggingModes = []string{"never", "always", "debugOnly"}

// logLevels are Microsoft.Extensions.Logging.LogLevel's names in enum order.
var logLevels = []string{"Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"}

// bindLogging reads logging.fileLoggingMode and logging.logLevel.
func (l *loader) bindLogging() {
	if e := l.cfg.get("logging:fileLoggingMode"); e != nil && e.value != "" {
		i, ok := parseEnum(e.value, fileLoggingModes)
		if !ok {
			l.hostError(e.configError(bindError("logging:fileLoggingMode", "System.Nullable`1[Microsoft.Azure.WebJobs.Script.FileLoggingMode]"),
				"Use never, always or debugOnly."))
		} else {
			l.app.Host.Logging.FileLoggingMode = fileLoggingModes[i]
		}
	}
	for _, category := range l.cfg.children("logging:logLevel") {
		e := l.cfg.get("logging:logLevel:" + category)
		if e == nil || e.value == "" {
			continue
		}
		if _, ok := parseEnum(e.value, logLevels); !ok {
			l.hostError(e.configError("Configuration value '"+e.value+"' is not supported.",
				"Use one of "+strings.Join(logLevels, ", ")+"."))
			continue
		}
		if l.app.Host.Logging.LogLevel == nil {
			l.app.Host.Logging.LogLevel = map[string]string{}
		}
		l.app.Host.Logging.LogLevel[category] = e.value
	}
}

// parseEnum parses an enum value as Enum.Parse with ignoreCase does: a name
// in any case or a defined number. It returns the index in names.
func parseEnum(s string, names []string) (int, bool) {
	s = strings.TrimSpace(s)
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i, true
		}
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(names) {
		return i, true
	}
	return 0, false
}

// bindExtensionBundle reads extensionBundle, which the host validates even
// though funcd needs no bundle.
func (l *loader) bindExtensionBundle() {
	const key = "extensionBundle"
	if !l.cfg.exists(key) {
		return
	}
	b := &funcd.ExtensionBundle{}
	if e := l.cfg.get(key + ":version"); e != nil {
		b.Version = e.value
	}
	if e := l.cfg.get(key + ":id"); e != nil {
		b.ID = e.value
	}
	if !validVersionRange(b.Version) {
		l.hostError(l.cfg.errorAt(key+":version",
			"The value of version property in extensionBundle section of host.json file is invalid or missing. See "+hostJSONDocs+" for more information",
			`Use a NuGet version range such as "[4.*, 5.0.0)".`))
	}
	if !validPackageID(b.ID) {
		l.hostError(l.cfg.errorAt(key+":id",
			"The value of id property in extensionBundle section of host.json file is invalid or missing. See "+hostJSONDocs+" for more information",
			`Use "`+defaultBundleID+`".`))
	} else if validVersionRange(b.Version) && strings.EqualFold(b.ID, defaultBundleID) && belowMinimumBundle(b.Version) {
		// The host resolves the range to the newest published bundle in it
		// and refuses to start when that is older than its minimum.
		l.hostError(l.cfg.errorAt(key+":version",
			"Referenced bundle "+b.ID+" of version "+b.Version+" does not meet the required minimum version of "+minimumBundleVersion+
				". Update your extension bundle reference in host.json to reference "+minimumBundleVersion+" or later. For more information see https://aka.ms/func-min-bundle-versions.",
			`Use "`+defaultBundleVersion+`", the range Core Tools writes (bundle 1.x and 2.x before `+minimumBundleVersion+` do not run on Functions v4).`))
	}
	l.app.Host.ExtensionBundle = b
}

// minimumBundleVersion is the oldest Microsoft.Azure.Functions.ExtensionBundle
// the v4 host runs (its extensionrequirements.json).
const minimumBundleVersion = "2.6.1"

// belowMinimumBundle reports whether every version a valid bundle version
// range admits is older than minimumBundleVersion, so that the host, which
// picks the newest published version in the range, refuses it. A range
// without an upper bound ("4.0.0" means 4.0.0 or later, "1.*" any 1.0.0 or
// later) admits the newest bundle.
func belowMinimumBundle(versionRange string) bool {
	s := strings.TrimSpace(versionRange)
	if s[0] != '[' && s[0] != '(' {
		return false
	}
	inner := s[1 : len(s)-1]
	hi, inclusive := inner, s[len(s)-1] == ']'
	if _, after, found := strings.Cut(inner, ","); found {
		hi = after
	}
	hi = strings.TrimSpace(hi)
	if hi == "" {
		return false
	}
	core, label, _ := strings.Cut(hi, "-")
	switch c := compareVersions(core, minimumBundleVersion); {
	case c < 0:
		return true
	case c == 0:
		// Up to 2.6.1 excluded, or up to a prerelease of it.
		return !inclusive || label != ""
	}
	return false
}

// compareVersions compares two dotted numeric versions, missing parts
// counting as 0.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// validPackageID checks a NuGet package id: word characters in runs
// separated by '.', '-' or '_', at most 100 characters.
func validPackageID(id string) bool {
	if strings.TrimSpace(id) == "" || len(id) > 100 {
		return false
	}
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '.' || r == '-' }) {
		if part == "" || strings.IndexFunc(part, func(r rune) bool { return !isWordChar(r) }) >= 0 {
			return false
		}
	}
	return !strings.HasPrefix(id, ".") && !strings.HasPrefix(id, "-") &&
		!strings.HasSuffix(id, ".") && !strings.HasSuffix(id, "-") &&
		!strings.Contains(id, "..") && !strings.Contains(id, "--") && !strings.Contains(id, ".-") && !strings.Contains(id, "-.")
}

func isWordChar(r rune) bool {
	return r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r > 127
}

// validVersionRange accepts what NuGet's VersionRange.TryParse with floating
// versions does for the forms bundles use: "4.0.0", "4.*", "[4.0.0]",
// "[4.*, 5.0.0)", "(,5.0.0)".
func validVersionRange(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	if s[0] != '[' && s[0] != '(' {
		return validNuGetVersion(s, true)
	}
	last := s[len(s)-1]
	if len(s) < 3 || (last != ']' && last != ')') {
		return false
	}
	parts := strings.Split(s[1:len(s)-1], ",")
	switch len(parts) {
	case 1: // "[1.0]" is an exact version
		return s[0] == '[' && last == ']' && validNuGetVersion(strings.TrimSpace(parts[0]), false)
	case 2:
		lo, hi := strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1])
		if lo == "" && hi == "" {
			return false
		}
		return (lo == "" || validNuGetVersion(lo, true)) && (hi == "" || validNuGetVersion(hi, false))
	}
	return false
}

// validNuGetVersion accepts 1 to 4 numeric parts with an optional
// prerelease label; floating allows "*" for the last part or label.
func validNuGetVersion(s string, floating bool) bool {
	if floating && s == "*" {
		return true
	}
	core, label, hasLabel := strings.Cut(s, "-")
	if hasLabel && (label == "" || (!floating && strings.Contains(label, "*"))) {
		return false
	}
	parts := strings.Split(core, ".")
	if len(parts) > 4 {
		return false
	}
	for i, p := range parts {
		if floating && p == "*" && i == len(parts)-1 && i > 0 && !hasLabel {
			continue
		}
		if _, ok := timeSpanNumber(p, math.MaxInt32); !ok {
			return false
		}
	}
	return true
}
