package bindexpr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/binding"
)

// Sys is what the system expressions resolve to: {sys.UtcNow},
// {sys.RandGuid}, {sys.MethodName}, {DateTime} and {rand-guid}.
type Sys struct {
	// Now is the current time; it is formatted in UTC.
	Now time.Time
	// NewGUID returns a new GUID in its 36-character form; nil uses
	// NewGUID. Each {rand-guid} or {sys.RandGuid} calls it again.
	NewGUID func() string
	// MethodName is the function's name for {sys.MethodName}; when empty
	// it is read from the binding data's "sys" object, if any.
	MethodName string
}

// Bind evaluates the template against a trigger's binding data; see
// BindSys. {sys.MethodName} is read from data's "sys" object.
func (t *Template) Bind(data binding.Data, now time.Time, newGUID func() string) (string, error) {
	return t.BindSys(data, Sys{Now: now, NewGUID: newGUID})
}

// BindSys evaluates the template, as the real host's BindingTemplate.Bind
// does. Each expression's first part is looked up in data
// case-insensitively, and any further dotted parts walk into JSON objects
// (case-insensitively too). A JSON string gives its text, a number its
// digits, true and false "True" and "False" (as Newtonsoft prints them),
// null, objects and arrays nothing. A name missing from data falls back to
// the built-ins: {rand-guid} (a new GUID, formats N, D, B, P, X),
// {DateTime} (the current UTC time, default format yyyy-MM-ddTHH-mm-ssK,
// so 2024-05-06T07-08-09Z, or any .NET date format after a colon), and
// sys.UtcNow, sys.RandGuid and sys.MethodName. A name found nowhere is the
// real host's error "No value for named parameter 'x'.".
func (t *Template) BindSys(data binding.Data, sys Sys) (string, error) {
	if sys.NewGUID == nil {
		sys.NewGUID = NewGUID
	}
	var b strings.Builder
	for _, tk := range t.tokens {
		if tk.expr == nil {
			b.WriteString(tk.literal)
			continue
		}
		s, err := tk.expr.eval(data, &sys)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

func (e *expr) eval(data binding.Data, sys *Sys) (string, error) {
	name := e.parts[0]
	if strings.EqualFold(name, "sys") && len(e.parts) == 2 {
		switch {
		case strings.EqualFold(e.parts[1], "UtcNow"):
			return formatDateTime(sys.Now, e.format)
		case strings.EqualFold(e.parts[1], "RandGuid"):
			return formatGUID(sys.NewGUID(), e.format)
		case strings.EqualFold(e.parts[1], "MethodName") && sys.MethodName != "":
			return sys.MethodName, nil
		}
	}
	raw, ok := lookup(data, name)
	if !ok {
		switch e.builtin {
		case randGUID:
			return formatGUID(sys.NewGUID(), builtinFormat(name, randGUID))
		case dateTime:
			return formatDateTime(sys.Now, builtinFormat(name, dateTime))
		}
		return "", fmt.Errorf("No value for named parameter '%s'.", name) //lint:ignore ST1005 the real host's text
	}
	for _, prop := range e.parts[1:] {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
			return "", fmt.Errorf("Error while accessing '%s': property doesn't exist.", prop) //lint:ignore ST1005 the real host's text
		}
		if raw, ok = lookupObject(obj, prop); !ok {
			return "", fmt.Errorf("Error while accessing '%s': property doesn't exist.", prop) //lint:ignore ST1005 the real host's text
		}
	}
	return jsonText(raw), nil
}

// builtinFormat returns the format of a built-in written "name:format",
// "" for none; what follows the built-in's name without a colon is
// ignored, as the real host ignores it.
func builtinFormat(s string, b builtin) string {
	n := len(builtinNames[b])
	if len(s) > n && s[n] == ':' {
		return s[n+1:]
	}
	return ""
}

// lookup finds a binding data name: exactly, else case-insensitively.
func lookup(data binding.Data, name string) (json.RawMessage, bool) {
	if v, ok := data[name]; ok {
		return v, true
	}
	for k, v := range data {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

func lookupObject(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if v, ok := obj[name]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// jsonText converts a JSON value to the text an expression produces.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case 't':
		return "True"
	case 'f':
		return "False"
	case 'n', '{', '[':
		return ""
	}
	return numberText(string(raw))
}

// numberText prints a JSON number as .NET prints the Int64 or Double that
// Newtonsoft reads it as.
func numberText(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s // an integer beyond Int64: a BigInteger, printed in full
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-5 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.ToUpper(strconv.FormatFloat(f, 'e', -1, 64))
}

// NewGUID returns a random (version 4) GUID, lower-case with hyphens, as
// .NET's Guid.NewGuid().ToString() prints one.
func NewGUID() string { return funcd.NewGUID() }

// formatGUID prints a GUID with a .NET Guid format: "" or D (hyphens), N
// (32 digits), B ({D}), P ((D)), X ({0x........,0x....,0x....,{0x..,...}}).
func formatGUID(g, format string) (string, error) {
	hex := strings.ReplaceAll(strings.ToLower(g), "-", "")
	if len(hex) != 32 {
		return g, nil // not a GUID: nothing to reformat
	}
	d := hex[0:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:32]
	switch strings.TrimSpace(format) {
	case "", "D", "d":
		return d, nil
	case "N", "n":
		return hex, nil
	case "B", "b":
		return "{" + d + "}", nil
	case "P", "p":
		return "(" + d + ")", nil
	case "X", "x":
		var b strings.Builder
		fmt.Fprintf(&b, "{0x%s,0x%s,0x%s,{", hex[0:8], hex[8:12], hex[12:16])
		for i := 16; i < 32; i += 2 {
			if i > 16 {
				b.WriteByte(',')
			}
			b.WriteString("0x" + hex[i:i+2])
		}
		b.WriteString("}}")
		return b.String(), nil
	}
	return "", fmt.Errorf(`Format string can be only "D", "d", "N", "n", "P", "p", "B", "b", "X" or "x".`) //lint:ignore ST1005 .NET's text
}
