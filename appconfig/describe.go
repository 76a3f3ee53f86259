package appconfig

import (
	"slices"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// Setting is one effective host setting and where its value came from.
type Setting struct {
	// Key is the host.json path ("extensions.http.routePrefix") or the name
	// of the app setting ("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT").
	Key   string
	Value string
	// Source is "host.json", "default", "--functions", "local.settings.json",
	// "function.json" or the environment variable that set the value
	// ("AzureFunctionsJobHost__extensions__http__routePrefix").
	Source string
}

// Describe lists the effective value of every host setting funcd uses and
// where it came from, for `funcd start --verbose`. It works from app alone
// (Host.Raw and Settings), so it describes any loaded app.
//
// The environment does not record which variables came from
// local.settings.json; pass the file's settings as local to attribute them
// (a variable whose value equals the file's is attributed to the file).
func Describe(app *funcd.App, local ...*funcd.LocalSettings) []Setting {
	d := &describer{app: app, cfg: newConfig()}
	if len(local) > 0 {
		d.local = local[0]
	}
	if app.Host.Raw != nil {
		if root, err := parseJSON(app.Host.Raw); err == nil && root.kind == kindObject {
			d.cfg.addJSON(root)
		}
	}
	d.cfg.addEnv(app.Settings)
	d.host()
	d.http()
	d.logging()
	d.singleton()
	d.bundle()
	d.customHandler()
	d.disabled()
	return d.out
}

// describer accumulates Describe's result.
type describer struct {
	app   *funcd.App
	cfg   *config
	local *funcd.LocalSettings
	out   []Setting
}

// add appends a setting whose value is bound from configuration key.
func (d *describer) add(key, value string) {
	d.out = append(d.out, Setting{Key: strings.ReplaceAll(key, ":", "."), Value: value, Source: d.source(key)})
}

// source says where the configuration value (or section) at key came from.
func (d *describer) source(key string) string {
	e := d.cfg.get(key)
	if e == nil {
		if children := d.cfg.children(key); len(children) > 0 {
			e = d.cfg.locate(key + ":" + children[0])
		}
	}
	switch {
	case e == nil:
		return "default"
	case e.source == hostFile:
		return hostFile
	}
	return d.envSource(e.source)
}

// envSource attributes an environment variable to local.settings.json when
// the file supplied its value.
func (d *describer) envSource(name string) string {
	if d.local != nil {
		if v, ok := d.local.Values[name]; ok && v == d.app.Settings[name] {
			return "local.settings.json"
		}
	}
	return name
}

func (d *describer) host() {
	h := &d.app.Host
	d.add("version", h.Version)
	timeout := "-1"
	if h.FunctionTimeout > 0 {
		timeout = formatDuration(h.FunctionTimeout)
	}
	d.add("functionTimeout", timeout)
	s := Setting{Key: "functions", Value: strings.Join(h.Functions, ", "), Source: d.source("functions")}
	if !slices.Equal(h.Functions, d.cfg.stringList("functions")) {
		s.Source = "--functions"
	}
	d.out = append(d.out, s)
}

func (d *describer) singleton() {
	d.add("singleton:listenerLockPeriod", formatDuration(d.app.Host.Singleton.ListenerLockPeriod))
}

func (d *describer) http() {
	h := &d.app.Host.HTTP
	d.add("extensions:http:routePrefix", h.RoutePrefix)
	d.add("extensions:http:maxConcurrentRequests", strconv.Itoa(h.MaxConcurrentRequests))
	d.add("extensions:http:maxOutstandingRequests", strconv.Itoa(h.MaxOutstandingRequests))
	d.add("extensions:http:dynamicThrottlesEnabled", strconv.FormatBool(h.DynamicThrottlesEnabled))
	for _, name := range sortedKeys(h.CustomHeaders) {
		d.add("extensions:http:customHeaders:"+name, h.CustomHeaders[name])
	}
	const limit = "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT"
	source := "default"
	if _, ok := d.app.Settings[limit]; ok && h.MaxRequestBodySize != defaultMaxRequestBodySize {
		source = d.envSource(limit)
	}
	d.out = append(d.out, Setting{Key: limit, Value: strconv.FormatInt(h.MaxRequestBodySize, 10), Source: source})
}

func (d *describer) logging() {
	lg := &d.app.Host.Logging
	d.add("logging:fileLoggingMode", lg.FileLoggingMode)
	for _, category := range sortedKeys(lg.LogLevel) {
		d.add("logging:logLevel:"+category, lg.LogLevel[category])
	}
}

func (d *describer) bundle() {
	if b := d.app.Host.ExtensionBundle; b != nil {
		d.add("extensionBundle:id", b.ID)
		d.add("extensionBundle:version", b.Version)
	}
}

func (d *describer) customHandler() {
	ch := d.app.Host.CustomHandler
	if ch == nil {
		return
	}
	section := "customHandler"
	if ch.Legacy {
		section = "httpWorker"
	}
	desc := section + ":description"
	d.add(desc+":defaultExecutablePath", ch.DefaultExecutablePath)
	d.add(desc+":workingDirectory", ch.WorkingDirectory)
	d.add(desc+":arguments", strings.Join(ch.Arguments, " "))
	if ch.DefaultWorkerPath != "" {
		d.add(desc+":defaultWorkerPath", ch.DefaultWorkerPath)
	}
	if len(ch.WorkerArguments) > 0 {
		d.add(desc+":workerArguments", strings.Join(ch.WorkerArguments, " "))
	}
	d.add(section+":enableForwardingHttpRequest", strconv.FormatBool(ch.EnableForwardingHttpRequest))
	d.add(section+":enableProxyingHttpRequest", strconv.FormatBool(ch.EnableProxyingHttpRequest))
	d.add(section+":initializationTimeout", formatDuration(ch.InitializationTimeout))
}

// disabled lists the disabled functions with the setting that disabled
// them.
func (d *describer) disabled() {
	for _, fn := range d.app.Functions {
		if !fn.Disabled {
			continue
		}
		s := Setting{Key: disabledSetting(fn.Name), Value: "true", Source: "function.json"}
		for _, name := range sortedKeys(d.app.Settings) {
			v := d.app.Settings[name]
			if (strings.EqualFold(name, disabledSetting(fn.Name)) || strings.EqualFold(name, disabledSettingLinux(fn.Name))) &&
				(v == "1" || strings.EqualFold(v, "true")) {
				s.Key, s.Source = name, d.envSource(name)
				break
			}
		}
		d.out = append(d.out, s)
	}
}
