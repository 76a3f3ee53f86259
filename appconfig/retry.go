package appconfig

import (
	"strings"

	"github.com/funcd/funcd"
)

// Retry policies ("retry" in host.json and function.json) are read into
// the real host's RetryOptions and checked as Utility.ValidateRetryOptions
// does: maxRetryCount is required and at least -1 (RetryAttribute); a
// fixedDelay needs delayInterval, an exponentialBackoff minimumInterval and
// maximumInterval, the minimum not above the maximum. A missing strategy is
// the enum's first value, exponentialBackoff.

const retryHint = `A retry policy is {"strategy": "fixedDelay", "maxRetryCount": 3, "delayInterval": "00:00:10"} or {"strategy": "exponentialBackoff", "maxRetryCount": 5, "minimumInterval": "00:00:04", "maximumInterval": "00:15:00"}; maxRetryCount -1 retries forever.`

// retryValue is one property of a retry section, wherever it was read.
type retryValue struct {
	text    string
	present bool
	err     func(msg string) *funcd.ConfigError // locates an error at the value
}

// readRetry converts a retry section; get looks a property up
// case-insensitively, and at locates an error about the whole section.
func readRetry(get func(name string) retryValue, at func(msg string) *funcd.ConfigError) (*funcd.RetryPolicy, *funcd.ConfigError) {
	p := &funcd.RetryPolicy{Strategy: funcd.ExponentialBackoff}
	fail := func(e *funcd.ConfigError) (*funcd.RetryPolicy, *funcd.ConfigError) {
		e.Hint = retryHint
		return nil, e
	}
	if v := get("strategy"); v.present {
		switch {
		case strings.EqualFold(v.text, funcd.FixedDelay):
			p.Strategy = funcd.FixedDelay
		case strings.EqualFold(v.text, funcd.ExponentialBackoff):
			p.Strategy = funcd.ExponentialBackoff
		default:
			return fail(v.err("Error converting value \"" + v.text + "\" to type 'Microsoft.Azure.WebJobs.Script.RetryStrategy'. Expected fixedDelay or exponentialBackoff."))
		}
	}
	v := get("maxRetryCount")
	if !v.present || v.text == "" {
		return fail(at("Value cannot be null. (Parameter 'MaxRetryCount')"))
	}
	n, ok := parseInt32(v.text)
	if !ok {
		return fail(v.err("Could not convert '" + v.text + "' to an integer for maxRetryCount."))
	}
	if n < -1 {
		return fail(v.err("Specified argument was out of the range of valid values. (Parameter 'maxRetryCount')"))
	}
	p.MaxRetryCount = n
	interval := func(name, param string) (ok bool, e *funcd.ConfigError) {
		v := get(name)
		if !v.present || v.text == "" {
			return false, at("Value cannot be null. (Parameter '" + param + "')")
		}
		ts, ok := parseTimeSpan(v.text)
		if !ok || ts < 0 {
			return false, v.err("Specified argument was out of the range of valid values. (Parameter '" + name + "')")
		}
		switch name {
		case "delayInterval":
			p.DelayInterval = ts.duration()
		case "minimumInterval":
			p.MinimumInterval = ts.duration()
		default:
			p.MaximumInterval = ts.duration()
		}
		return true, nil
	}
	if p.Strategy == funcd.FixedDelay {
		if ok, e := interval("delayInterval", "DelayInterval"); !ok {
			return fail(e)
		}
		return p, nil
	}
	if ok, e := interval("minimumInterval", "MinimumInterval"); !ok {
		return fail(e)
	}
	if ok, e := interval("maximumInterval", "MaximumInterval"); !ok {
		return fail(e)
	}
	if p.MinimumInterval > p.MaximumInterval {
		return fail(get("maximumInterval").err("The 'maximumInterval' value must be greater than or equal to the 'minimumInterval' value."))
	}
	return p, nil
}

// bindRetry reads host.json "retry" (and its AzureFunctionsJobHost__retry__*
// overrides). An invalid policy is a host error; functions then have no
// default policy.
func (l *loader) bindRetry() {
	if !l.cfg.exists("retry") {
		return
	}
	get := func(name string) retryValue {
		key := "retry:" + name
		e := l.cfg.get(key)
		if e == nil {
			return retryValue{}
		}
		return retryValue{text: e.value, present: true, err: func(msg string) *funcd.ConfigError { return e.configError(msg, "") }}
	}
	p, err := readRetry(get, func(msg string) *funcd.ConfigError { return l.cfg.errorAt("retry", msg, "") })
	if err != nil {
		l.hostError(err)
		return
	}
	l.app.Host.Retry = p
}

// readRetry reads function.json "retry" (a case-sensitive lookup, as the
// host's JObject.Property; the properties inside match in any case).
func (fl *fnLoader) readRetry() {
	f := fl.root.get("retry")
	if f == nil || f.value.kind == kindNull {
		return
	}
	section := f.value
	if section.kind != kindObject {
		fl.errorAt(section.pos, "retry", "Error converting value to type 'Microsoft.Azure.WebJobs.Script.RetryOptions': the retry section must be an object.", retryHint)
		return
	}
	get := func(name string) retryValue {
		m := section.getFold(name)
		if m == nil || m.value.kind == kindNull {
			return retryValue{}
		}
		field, at := "retry."+m.key, m.value.pos
		text := m.value.text
		if !m.value.scalar() {
			text = "<" + m.value.kind.String() + ">"
		}
		return retryValue{text: text, present: true, err: func(msg string) *funcd.ConfigError {
			return &funcd.ConfigError{File: fl.fn.ConfigFile, Line: at.line, Column: at.col, Field: field, Msg: msg}
		}}
	}
	p, err := readRetry(get, func(msg string) *funcd.ConfigError {
		return &funcd.ConfigError{File: fl.fn.ConfigFile, Line: section.pos.line, Column: section.pos.col, Field: "retry", Msg: msg}
	})
	if err != nil {
		fl.fn.Errors = append(fl.fn.Errors, err)
		return
	}
	fl.fn.Retry = p
}
