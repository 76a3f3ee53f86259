package workerconfig

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// locateError sets e's line and column to where its field is in data: the
// field's value, or the nearest enclosing value the file has (the object a
// missing field belongs in).
func locateError(data []byte, e *funcd.ConfigError) {
	if e.Line > 0 || e.Field == "" {
		return
	}
	path := splitField(e.Field)
	for n := len(path); n > 0; n-- {
		if off, ok := locate(data, path[:n]); ok {
			e.Line, e.Column = position(data, off+1)
			return
		}
	}
}

// splitField splits "profiles[0].conditions[1].conditionType" into
// "profiles", "[0]", "conditions", "[1]", "conditionType".
func splitField(field string) []string {
	var out []string
	for _, part := range strings.Split(field, ".") {
		for part != "" {
			i := strings.IndexByte(part, '[')
			switch {
			case i < 0:
				out, part = append(out, part), ""
			case i > 0:
				out, part = append(out, part[:i]), part[i:]
			default:
				j := strings.IndexByte(part, ']')
				if j < 0 {
					return append(out, part)
				}
				out, part = append(out, part[:j+1]), part[j+1:]
			}
		}
	}
	return out
}

// locate returns the offset of the value at path in data (valid JSON).
func locate(data []byte, path []string) (int64, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for _, step := range path {
		tok, err := dec.Token()
		if err != nil {
			return 0, false
		}
		if strings.HasPrefix(step, "[") {
			n, err := strconv.Atoi(strings.Trim(step, "[]"))
			if tok != json.Delim('[') || err != nil {
				return 0, false
			}
			for i := 0; i < n; i++ {
				if !dec.More() || skip(dec) != nil {
					return 0, false
				}
			}
			if !dec.More() {
				return 0, false
			}
			continue
		}
		if tok != json.Delim('{') {
			return 0, false
		}
		found := false
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return 0, false
			}
			if key == step {
				found = true
				break
			}
			if skip(dec) != nil {
				return 0, false
			}
		}
		if !found {
			return 0, false
		}
	}
	// The value starts after the separators and spaces that follow the
	// decoder's offset.
	off := dec.InputOffset()
	for off < int64(len(data)) && bytes.IndexByte([]byte(" \t\r\n:,"), data[off]) >= 0 {
		off++
	}
	return off, off < int64(len(data))
}

// skip consumes one value.
func skip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
