package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
)

// Message encodings of host.json extensions.queues.messageEncoding.
const (
	EncodingBase64 = "base64"
	EncodingNone   = "none"
)

// developmentMaxPollingInterval is the real host's polling cap when
// AZURE_FUNCTIONS_ENVIRONMENT is Development.
const developmentMaxPollingInterval = 2 * time.Second

// Options are host.json's extensions.queues settings.
type Options struct {
	BatchSize          int
	NewBatchThreshold  int
	MaxDequeueCount    int
	MaxPollingInterval time.Duration
	VisibilityTimeout  time.Duration
	// MessageEncoding is EncodingBase64 or EncodingNone.
	MessageEncoding string
}

// DefaultOptions are the real host's QueuesOptions defaults: a batch of 16,
// a new batch when half a batch per processor is left, five tries, a poll
// at least every minute (two seconds in development), failed messages
// visible again at once, base64 bodies.
func DefaultOptions(development bool) Options {
	o := Options{
		BatchSize:          DefaultBatchSize,
		NewBatchThreshold:  -1,
		MaxDequeueCount:    DefaultMaxDequeueCount,
		MaxPollingInterval: DefaultMaxPollingInterval,
		MessageEncoding:    EncodingBase64,
	}
	if development {
		o.MaxPollingInterval = developmentMaxPollingInterval
	}
	return o
}

// ParseOptions reads host.json's extensions.queues section (nil or empty
// for none) over the defaults. Keys are matched case-insensitively, as the
// real host's configuration binder does; numbers may be JSON numbers or
// numeric strings, intervals .NET TimeSpan strings ("00:00:02").
func ParseOptions(raw json.RawMessage, development bool) (Options, error) {
	o := DefaultOptions(development)
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		o.NewBatchThreshold = defaultNewBatchThreshold(o.BatchSize)
		return o, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return o, optionError("", "extensions.queues must be an object", "")
	}
	for key, val := range fields {
		var err error
		switch strings.ToLower(key) {
		case "batchsize":
			o.BatchSize, err = intOption(val)
			if err == nil && (o.BatchSize < 1 || o.BatchSize > MaxBatchSize) {
				err = fmt.Errorf("must be from 1 to %d, not %d", MaxBatchSize, o.BatchSize)
			}
		case "newbatchthreshold":
			o.NewBatchThreshold, err = intOption(val)
			if err == nil && o.NewBatchThreshold < 0 {
				err = fmt.Errorf("must be zero or more, not %d", o.NewBatchThreshold)
			}
		case "maxdequeuecount":
			o.MaxDequeueCount, err = intOption(val)
			if err == nil && o.MaxDequeueCount < 1 {
				err = realError("MaxDequeueCount must not be less than 1.")
			}
		case "maxpollinginterval":
			o.MaxPollingInterval, err = timeSpanOption(val)
			if err == nil && o.MaxPollingInterval < minPollingInterval {
				err = realError(fmt.Sprintf("MaxPollingInterval must not be less than %s.", funcd.TimeSpan(minPollingInterval)))
			}
		case "visibilitytimeout":
			o.VisibilityTimeout, err = timeSpanOption(val)
			if err == nil && o.VisibilityTimeout < 0 {
				err = fmt.Errorf("must not be negative")
			}
		case "messageencoding":
			var s string
			if json.Unmarshal(val, &s) != nil || !(strings.EqualFold(s, EncodingBase64) || strings.EqualFold(s, EncodingNone)) {
				err = fmt.Errorf(`must be "base64" or "none", not %s`, val)
			}
			o.MessageEncoding = strings.ToLower(s)
		default:
			continue // other keys of the real host (maxBatchSize in older schemas) are ignored, as it does
		}
		if err != nil {
			return o, optionError(key, err.Error(), "")
		}
	}
	if o.NewBatchThreshold < 0 {
		o.NewBatchThreshold = defaultNewBatchThreshold(o.BatchSize)
	}
	return o, nil
}

// defaultNewBatchThreshold is QueuesOptions' default: half a batch per
// processor (ProcessorCount is 1 only on the Consumption plan).
func defaultNewBatchThreshold(batch int) int { return batch / 2 * runtime.NumCPU() }

func optionError(key, msg, hint string) *funcd.ConfigError {
	field := "extensions.queues"
	if key != "" {
		field += "." + key
	}
	return &funcd.ConfigError{File: "host.json", Field: field, Msg: msg, Hint: hint}
}

func intOption(val json.RawMessage) (int, error) {
	var n json.Number
	if err := json.Unmarshal(val, &n); err == nil {
		if i, err := strconv.Atoi(string(n)); err == nil {
			return i, nil
		}
	}
	var s string
	if json.Unmarshal(val, &s) == nil {
		if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return i, nil
		}
	}
	return 0, fmt.Errorf("must be a whole number, not %s", val)
}

func timeSpanOption(val json.RawMessage) (time.Duration, error) {
	var s string
	if json.Unmarshal(val, &s) != nil {
		var n json.Number
		if json.Unmarshal(val, &n) != nil {
			return 0, fmt.Errorf("must be a TimeSpan string such as \"00:00:30\", not %s", val)
		}
		s = string(n)
	}
	d, ok := ParseTimeSpan(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a TimeSpan; write [d.]hh:mm[:ss[.fffffff]], such as \"00:00:30\"", s)
	}
	return d, nil
}

// ParseTimeSpan parses .NET's TimeSpan.Parse forms: "d", "hh:mm",
// "hh:mm:ss", "d.hh:mm:ss", "d:hh:mm:ss", each with an optional "-" and
// ".fffffff" seconds fraction (up to seven digits).
func ParseTimeSpan(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var days, h, m, sec, frac int64
	parts := strings.Split(s, ":")
	num := func(p string, maxValue int64) (int64, bool) {
		if p == "" || len(p) > 10 {
			return 0, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err := strconv.ParseInt(p, 10, 64)
		return v, err == nil && v <= maxValue
	}
	ok := true
	// The last part may carry a fraction; with one part, "d" alone.
	last := parts[len(parts)-1]
	if i := strings.IndexByte(last, '.'); i >= 0 && len(parts) >= 3 {
		f := last[i+1:]
		if f == "" || len(f) > 7 {
			return 0, false
		}
		var fo bool
		frac, fo = num(f, 9999999)
		ok = ok && fo
		frac *= int64Pow10(7 - len(f))
		parts[len(parts)-1] = last[:i]
	}
	first := parts[0]
	if len(parts) == 3 || len(parts) == 2 {
		if i := strings.IndexByte(first, '.'); i >= 0 && len(parts) == 3 {
			var dok bool
			days, dok = num(first[:i], 10675199)
			ok = ok && dok
			parts[0] = first[i+1:]
		}
	}
	var a, b, c, d bool
	switch len(parts) {
	case 1:
		days, a = num(parts[0], 10675199)
		ok = ok && a
	case 2:
		h, a = num(parts[0], 23)
		m, b = num(parts[1], 59)
		ok = ok && a && b
	case 3:
		h, a = num(parts[0], 23)
		m, b = num(parts[1], 59)
		sec, c = num(parts[2], 59)
		ok = ok && a && b && c
	case 4:
		days, a = num(parts[0], 10675199)
		h, b = num(parts[1], 23)
		m, c = num(parts[2], 59)
		sec, d = num(parts[3], 59)
		ok = ok && a && b && c && d
	default:
		return 0, false
	}
	if !ok {
		return 0, false
	}
	total := (((days*24+h)*60+m)*60+sec)*int64(time.Second) + frac*100
	if total < 0 || days > 106751 { // beyond time.Duration
		return 0, false
	}
	if neg {
		total = -total
	}
	return time.Duration(total), true
}

func int64Pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
