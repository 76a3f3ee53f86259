package workerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// FileName is the name of a worker's description file, in its folder.
const FileName = "worker.config.json"

// Config is one worker.config.json.
type Config struct {
	// File is where the description was read from ("" for a built-in one).
	File string
	// Dir is the worker's folder: relative paths in the description are
	// relative to it.
	Dir string
	// Description is the "description" object.
	Description Description
	// Profiles are the "profiles", in file order; the first whose
	// conditions all hold replaces parts of Description.
	Profiles []Profile
	// ProcessOptions is the "processOptions" object, with the host's
	// defaults for what it leaves out.
	ProcessOptions ProcessOptions
}

// Description is a worker's "description": what it runs and how to start it.
// Field names are matched as Json.NET matches them: exactly, else ignoring
// case.
type Description struct {
	// Language is the FUNCTIONS_WORKER_RUNTIME value the worker serves
	// ("node", "python", "java", "powershell", "dotnet-isolated", "golang").
	Language string
	// Extensions are the script file extensions of the worker's functions.
	Extensions []string
	// DefaultExecutablePath is the program to start ("node", "python",
	// "%JAVA_HOME%/bin/java", "{AzureWebJobsScriptRoot}/app").
	DefaultExecutablePath string
	// DefaultWorkerPath is the worker's entry file, given to the executable
	// after Arguments; relative to the worker's folder. It may hold {os},
	// {architecture} and %FUNCTIONS_WORKER_RUNTIME_VERSION%.
	DefaultWorkerPath string
	// ExecutableWorkingDirectory is the worker's working directory ("" for
	// the app's folder); {workerDirectoryPath} is the worker's folder.
	ExecutableWorkingDirectory string
	// Arguments go between the executable and the worker path. An entry may
	// hold several arguments separated by spaces: the host joins the command
	// line into one string and splits it again.
	Arguments []string
	// WorkerArguments are read but not used for a language worker, as in
	// the host (it passes them to custom handlers only).
	WorkerArguments []string
	// WorkerIndexing is "true" when the worker indexes the app's functions
	// itself (FunctionsMetadataRequest) instead of the host reading
	// function.json files.
	WorkerIndexing string
	// DefaultRuntimeName and DefaultRuntimeVersion name the language
	// runtime; FUNCTIONS_WORKER_RUNTIME_VERSION replaces the version.
	DefaultRuntimeName    string
	DefaultRuntimeVersion string
	// MinimumSupportedRuntimeVersion only leads to a warning in the host.
	MinimumSupportedRuntimeVersion string
	// SanitizeRuntimeVersionRegex picks the version out of
	// FUNCTIONS_WORKER_RUNTIME_VERSION ("3.11.2" to "3.11").
	SanitizeRuntimeVersionRegex string
	// SupportedRuntimeVersions, SupportedOperatingSystems ("LINUX", "OSX",
	// "WINDOWS") and SupportedArchitectures ("X64", "X86", "Arm64") are
	// checked only when DefaultWorkerPath holds the matching placeholder.
	SupportedRuntimeVersions  []string
	SupportedOperatingSystems []string
	SupportedArchitectures    []string
	// IsDisabled leaves the worker out.
	IsDisabled bool
	// UseStdErrorStreamForErrorsOnly logs every stderr line as an error.
	UseStdErrorStreamForErrorsOnly bool
}

// Indexing reports whether the worker indexes functions itself: the host
// compares WorkerIndexing with "true", ignoring case.
func (d *Description) Indexing() bool { return strings.EqualFold(d.WorkerIndexing, "true") }

// Profile is one entry of "profiles": a description that applies when all
// its conditions hold.
type Profile struct {
	Name        string
	Conditions  []Condition
	Description Description
	// set records which string and list fields the profile gives.
	set map[string]bool
}

// Condition is one condition of a profile. Type "environment" matches the
// environment variable Name against the regular expression Expression;
// "hostProperty" matches a host property (Sku, Platform, HostVersion). A
// condition of another type never holds, as in the host.
type Condition struct {
	Type       string
	Name       string
	Expression string
}

// ProcessOptions is "processOptions": how many worker processes and the
// timeouts of their start. Durations are .NET TimeSpans in the file
// ("00:02:00").
type ProcessOptions struct {
	SetProcessCountToNumberOfCpuCores bool
	ProcessCount                      int
	MaxProcessCount                   int
	ProcessStartupInterval            time.Duration
	// ProcessStartupTimeout runs from the start of the process to its
	// StartStream message.
	ProcessStartupTimeout time.Duration
	// InitializationTimeout runs from WorkerInitRequest to its response.
	InitializationTimeout time.Duration
	// EnvironmentReloadTimeout runs from FunctionEnvironmentReloadRequest to
	// its response.
	EnvironmentReloadTimeout time.Duration
	ProcessRestartInterval   time.Duration
	ProcessShutdownTimeout   time.Duration
}

// DefaultProcessOptions are the host's defaults (WorkerProcessCountOptions).
func DefaultProcessOptions() ProcessOptions {
	return ProcessOptions{
		ProcessCount:             1,
		MaxProcessCount:          10,
		ProcessStartupInterval:   10 * time.Second,
		ProcessStartupTimeout:    60 * time.Second,
		InitializationTimeout:    10 * time.Second,
		EnvironmentReloadTimeout: 30 * time.Second,
		ProcessRestartInterval:   10 * time.Second,
		ProcessShutdownTimeout:   10 * time.Second,
	}
}

// parser reads one file, keeping its name for errors.
type parser struct {
	file string
	data []byte
}

func (p *parser) errorf(field, format string, args ...any) *funcd.ConfigError {
	return &funcd.ConfigError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Parse reads a worker.config.json. file names it in errors, dir is the
// worker's folder. Every error is a *funcd.ConfigError.
//
// As in the host: a UTF-8 byte order mark is skipped; the top-level names
// ("description", "profiles", "processOptions") are matched exactly and the
// fields within them ignoring case; a null is the same as a missing field.
// Parse checks what the host's validation checks (a language and an
// executable), not the paths: Resolve does that.
func Parse(file, dir string, data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	cfg, err := parse(file, dir, data)
	if e, ok := err.(*funcd.ConfigError); ok {
		locateError(data, e)
	}
	return cfg, err
}

func parse(file, dir string, data []byte) (*Config, error) {
	p := &parser{file: file, data: data}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &funcd.ConfigError{File: file, Msg: "the file is empty; expected a JSON object with a \"description\""}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, p.syntaxError(data, err)
	}
	if top == nil {
		return nil, &funcd.ConfigError{File: file, Msg: "expected a JSON object with a \"description\", got null"}
	}
	cfg := &Config{File: file, Dir: dir, ProcessOptions: DefaultProcessOptions()}
	raw, ok := top["description"]
	if !ok || isNull(raw) {
		return nil, p.errorf("description", "is missing; expected an object with \"language\" and \"defaultExecutablePath\"")
	}
	d, _, err := p.description("description", raw)
	if err != nil {
		return nil, err
	}
	cfg.Description = d
	if raw, ok := top["profiles"]; ok && !isNull(raw) {
		if cfg.Profiles, err = p.profiles(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["processOptions"]; ok && !isNull(raw) {
		if err := p.processOptions(raw, &cfg.ProcessOptions); err != nil {
			return nil, err
		}
	}
	if err := validate(&cfg.Description); err != nil {
		err.File = file
		return nil, err
	}
	return cfg, nil
}

// validate is the host's ApplyDefaultsAndValidate, in its words.
func validate(d *Description) *funcd.ConfigError {
	if d.Language == "" {
		return &funcd.ConfigError{Field: "description.language", Msg: "WorkerDescription Language cannot be empty"}
	}
	if d.DefaultExecutablePath == "" {
		return &funcd.ConfigError{Field: "description.defaultExecutablePath", Msg: "WorkerDescription DefaultExecutablePath cannot be empty"}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// syntaxError locates a JSON syntax error in the file.
func (p *parser) syntaxError(data []byte, err error) *funcd.ConfigError {
	e := &funcd.ConfigError{File: p.file}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		e.Line, e.Column = position(data, se.Offset)
		e.Msg = "invalid JSON: " + se.Error()
	case errors.As(err, &te):
		e.Msg = "expected a JSON object with a \"description\", got " + jsonKind(te.Value)
	default:
		e.Msg = "invalid JSON: " + err.Error()
	}
	return e
}

// position turns a byte offset into a 1-based line and column (in
// characters).
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off > 0 {
		off-- // the offset is just past the offending byte
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = len([]rune(string(before[bytes.LastIndexByte(before, '\n')+1:]))) + 1
	return line, col
}

func jsonKind(v string) string {
	switch v {
	case "array":
		return "an array"
	case "object":
		return "an object"
	case "":
		return "another value"
	}
	return "a " + v
}

// object decodes raw as an object whose keys are matched as Json.NET does.
type object map[string]json.RawMessage

func (p *parser) object(field string, raw json.RawMessage) (object, error) {
	var o map[string]json.RawMessage
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return nil, p.errorf(field, "expected an object, got %s", kindOf(raw))
	}
	return o, nil
}

// get finds key exactly, else ignoring case (the first such key in sorted
// order, so the choice does not depend on map order). A null is absent.
func (o object) get(key string) (json.RawMessage, string, bool) {
	if v, ok := o[key]; ok {
		return v, key, !isNull(v)
	}
	var keys []string
	for k := range o {
		if strings.EqualFold(k, key) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, "", false
	}
	sort.Strings(keys)
	v := o[keys[0]]
	return v, keys[0], !isNull(v)
}

func kindOf(raw json.RawMessage) string {
	s := bytes.TrimSpace(raw)
	if len(s) == 0 {
		return "nothing"
	}
	switch s[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// str reads a string field. Like Json.NET, it takes a number or a boolean
// as its text ("true" for true: Json.NET writes "True", which the host
// compares ignoring case).
func (p *parser) str(o object, prefix, key string) (string, bool, error) {
	raw, name, ok := o.get(key)
	if !ok {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b), true, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String(), true, nil
	}
	return "", false, p.errorf(prefix+"."+name, "expected a string, got %s", kindOf(raw))
}

// list reads an array of strings.
func (p *parser) list(o object, prefix, key string) ([]string, bool, error) {
	raw, name, ok := o.get(key)
	if !ok {
		return nil, false, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, false, p.errorf(prefix+"."+name, "expected an array of strings, got %s", kindOf(raw))
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			return nil, false, p.errorf(fmt.Sprintf("%s.%s[%d]", prefix, name, i), "expected a string, got %s", kindOf(item))
		}
		out = append(out, s)
	}
	return out, true, nil
}

// boolean reads a boolean; Json.NET also takes the strings "true" and
// "false".
func (p *parser) boolean(o object, prefix, key string) (bool, bool, error) {
	raw, name, ok := o.get(key)
	if !ok {
		return false, false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, true, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		switch t := strings.TrimSpace(s); {
		case strings.EqualFold(t, "true"):
			return true, true, nil
		case strings.EqualFold(t, "false"):
			return false, true, nil
		}
	}
	return false, false, p.errorf(prefix+"."+name, "expected true or false, got %s", kindOf(raw))
}

// description reads a description object; set records the string and list
// fields it gives (profiles apply only those).
func (p *parser) description(field string, raw json.RawMessage) (Description, map[string]bool, error) {
	var d Description
	set := map[string]bool{}
	o, err := p.object(field, raw)
	if err != nil {
		return d, nil, err
	}
	strs := []struct {
		key string
		dst *string
	}{
		{"language", &d.Language},
		{"defaultExecutablePath", &d.DefaultExecutablePath},
		{"defaultWorkerPath", &d.DefaultWorkerPath},
		{"executableWorkingDirectory", &d.ExecutableWorkingDirectory},
		{"workerIndexing", &d.WorkerIndexing},
		{"defaultRuntimeName", &d.DefaultRuntimeName},
		{"defaultRuntimeVersion", &d.DefaultRuntimeVersion},
		{"minimumSupportedRuntimeVersion", &d.MinimumSupportedRuntimeVersion},
		{"sanitizeRuntimeVersionRegex", &d.SanitizeRuntimeVersionRegex},
	}
	for _, f := range strs {
		v, ok, err := p.str(o, field, f.key)
		if err != nil {
			return d, nil, err
		}
		*f.dst, set[f.key] = v, ok && v != ""
	}
	lists := []struct {
		key string
		dst *[]string
	}{
		{"extensions", &d.Extensions},
		{"arguments", &d.Arguments},
		{"workerArguments", &d.WorkerArguments},
		{"supportedRuntimeVersions", &d.SupportedRuntimeVersions},
		{"supportedOperatingSystems", &d.SupportedOperatingSystems},
		{"supportedArchitectures", &d.SupportedArchitectures},
	}
	for _, f := range lists {
		v, ok, err := p.list(o, field, f.key)
		if err != nil {
			return d, nil, err
		}
		*f.dst, set[f.key] = v, ok && len(v) > 0
	}
	bools := []struct {
		key string
		dst *bool
	}{
		{"isDisabled", &d.IsDisabled},
		{"useStdErrorStreamForErrorsOnly", &d.UseStdErrorStreamForErrorsOnly},
	}
	for _, f := range bools {
		v, ok, err := p.boolean(o, field, f.key)
		if err != nil {
			return d, nil, err
		}
		*f.dst, set[f.key] = v, ok
	}
	if d.Extensions == nil {
		d.Extensions = []string{}
	}
	return d, set, nil
}

// profiles reads "profiles": an array of {profileName, conditions,
// description}.
func (p *parser) profiles(raw json.RawMessage) ([]Profile, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, p.errorf("profiles", "expected an array of profiles, got %s", kindOf(raw))
	}
	var out []Profile
	for i, item := range items {
		field := fmt.Sprintf("profiles[%d]", i)
		o, err := p.object(field, item)
		if err != nil {
			return nil, err
		}
		var pr Profile
		if pr.Name, _, err = p.str(o, field, "profileName"); err != nil {
			return nil, err
		}
		if pr.Name == "" {
			return nil, p.errorf(field+".profileName", "WorkerDescriptionProfile Name cannot be empty")
		}
		conds, _, ok := o.get("conditions")
		var craw []json.RawMessage
		if ok {
			if err := json.Unmarshal(conds, &craw); err != nil {
				return nil, p.errorf(field+".conditions", "expected an array of conditions, got %s", kindOf(conds))
			}
		}
		if len(craw) == 0 {
			return nil, p.errorf(field+".conditions", "WorkerDescriptionProfile Conditions cannot be empty")
		}
		for j, c := range craw {
			cf := fmt.Sprintf("%s.conditions[%d]", field, j)
			co, err := p.object(cf, c)
			if err != nil {
				return nil, err
			}
			var cond Condition
			// conditionType is required; the other two are extension data,
			// matched exactly.
			if cond.Type, _, err = p.str(co, cf, "conditionType"); err != nil {
				return nil, err
			}
			if cond.Type == "" {
				return nil, p.errorf(cf+".conditionType", "is missing; expected \"environment\" or \"hostProperty\"")
			}
			cond.Name = exactString(co, "conditionName")
			cond.Expression = exactString(co, "conditionExpression")
			pr.Conditions = append(pr.Conditions, cond)
		}
		draw, _, ok := o.get("description")
		if !ok {
			return nil, p.errorf(field+".description", "WorkerDescriptionProfile ProfileDescription cannot be null")
		}
		if pr.Description, pr.set, err = p.description(field+".description", draw); err != nil {
			return nil, err
		}
		out = append(out, pr)
	}
	return out, nil
}

// exactString reads an extension-data property: matched exactly, any value
// as its JSON text (a string unquoted).
func exactString(o object, key string) string {
	raw, ok := o[key]
	if !ok || isNull(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

// processOptions reads "processOptions" over the defaults, then checks them
// as the host does.
func (p *parser) processOptions(raw json.RawMessage, po *ProcessOptions) error {
	const field = "processOptions"
	o, err := p.object(field, raw)
	if err != nil {
		return err
	}
	if v, ok, err := p.boolean(o, field, "setProcessCountToNumberOfCpuCores"); err != nil {
		return err
	} else if ok {
		po.SetProcessCountToNumberOfCpuCores = v
	}
	for _, f := range []struct {
		key string
		dst *int
	}{{"processCount", &po.ProcessCount}, {"maxProcessCount", &po.MaxProcessCount}} {
		raw, name, ok := o.get(f.key)
		if !ok {
			continue
		}
		var n int32
		if err := json.Unmarshal(raw, &n); err != nil {
			return p.errorf(field+"."+name, "expected a whole number, got %s", kindOf(raw))
		}
		*f.dst = int(n)
	}
	for _, f := range []struct {
		key string
		dst *time.Duration
	}{
		{"processStartupInterval", &po.ProcessStartupInterval},
		{"processStartupTimeout", &po.ProcessStartupTimeout},
		{"initializationTimeout", &po.InitializationTimeout},
		{"environmentReloadTimeout", &po.EnvironmentReloadTimeout},
		{"processRestartInterval", &po.ProcessRestartInterval},
		{"processShutdownTimeout", &po.ProcessShutdownTimeout},
	} {
		raw, name, ok := o.get(f.key)
		if !ok {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return p.errorf(field+"."+name, "expected a TimeSpan string such as \"00:02:00\", got %s", kindOf(raw))
		}
		d, ok := parseTimeSpan(s)
		if !ok {
			return p.errorf(field+"."+name, "%q is not a TimeSpan; expected [d.]hh:mm[:ss[.fffffff]], such as \"00:02:00\"", s)
		}
		*f.dst = d
	}
	if err := po.check(); err != nil {
		err.File = p.file
		return err
	}
	return nil
}

// check is the host's validation of the process count options.
func (po *ProcessOptions) check() *funcd.ConfigError {
	switch {
	case po.ProcessCount <= 0:
		return &funcd.ConfigError{Field: "processOptions.processCount", Msg: "ProcessCount must be greater than 0."}
	case po.ProcessCount > po.MaxProcessCount:
		return &funcd.ConfigError{Field: "processOptions.processCount", Msg: "ProcessCount must not be greater than MaxProcessCount"}
	case po.ProcessStartupInterval < 0:
		return &funcd.ConfigError{Field: "processOptions.processStartupInterval", Msg: "The TimeSpan must not be negative."}
	}
	return nil
}

// parseTimeSpan reads .NET's invariant TimeSpan forms: "d", "hh:mm",
// "hh:mm:ss", "d.hh:mm:ss" and either with ".fffffff", with an optional
// leading '-'.
func parseTimeSpan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return 0, false
	}
	num := func(t string, max int64) (int64, bool) {
		if t == "" || len(t) > 8 {
			return 0, false
		}
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil || n < 0 || n > max {
			return 0, false
		}
		return n, true
	}
	if !strings.Contains(s, ":") {
		days, ok := num(s, 10675199)
		if !ok {
			return 0, false
		}
		d := time.Duration(days) * 24 * time.Hour
		if neg {
			d = -d
		}
		return d, true
	}
	var days int64
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s, ':') {
		var ok bool
		if days, ok = num(s[:i], 10675199); !ok {
			return 0, false
		}
		s = s[i+1:]
	}
	var frac string
	parts := strings.Split(s, ":")
	if len(parts) == 3 {
		if i := strings.IndexByte(parts[2], '.'); i >= 0 {
			parts[2], frac = parts[2][:i], parts[2][i+1:]
			if frac == "" || len(frac) > 7 {
				return 0, false
			}
		}
	}
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, ok1 := num(parts[0], 23)
	m, ok2 := num(parts[1], 59)
	var sec int64
	ok3 := true
	if len(parts) == 3 {
		sec, ok3 = num(parts[2], 59)
	}
	if !ok1 || !ok2 || !ok3 {
		return 0, false
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
	if frac != "" {
		f, err := strconv.ParseInt((frac + "0000000")[:7], 10, 64)
		if err != nil || f < 0 {
			return 0, false
		}
		d += time.Duration(f) * 100
	}
	if neg {
		d = -d
	}
	return d, true
}
