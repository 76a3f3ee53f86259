package doctor

import (
	"bytes"
	"encoding/json"
	"strings"
)

// position returns the 1-based line and column of the property at path in
// the JSON document data (property names compared case-insensitively, as
// the host reads them), or zeros if data does not parse that far or has no
// such property.
func position(data []byte, path ...string) (line, col int) {
	dec := json.NewDecoder(bytes.NewReader(data))
	offset, ok := find(dec, data, path)
	if !ok {
		return 0, 0
	}
	return lineCol(data, offset)
}

// find reads the value at the decoder's position and looks for path in it,
// returning the byte offset of the last property name of path.
func find(dec *json.Decoder, data []byte, path []string) (int64, bool) {
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return 0, false
	}
	for dec.More() {
		start := nextQuote(data, dec.InputOffset())
		key, err := dec.Token()
		if err != nil {
			return 0, false
		}
		if name, _ := key.(string); strings.EqualFold(name, path[0]) {
			if len(path) == 1 {
				return start, true
			}
			return find(dec, data, path[1:])
		}
		if skip(dec) != nil {
			return 0, false
		}
	}
	return 0, false
}

// skip reads one whole value.
func skip(dec *json.Decoder) error {
	var v json.RawMessage
	return dec.Decode(&v)
}

// nextQuote returns the offset of the first '"' at or after offset: the
// start of the next property name.
func nextQuote(data []byte, offset int64) int64 {
	if i := bytes.IndexByte(data[offset:], '"'); i >= 0 {
		return offset + int64(i)
	}
	return offset
}

// lineCol turns a byte offset into a 1-based line and column (in bytes).
func lineCol(data []byte, offset int64) (line, col int) {
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
