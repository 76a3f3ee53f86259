package appconfig

import (
	"strconv"
	"strings"
)

// Locate returns the line and column (1-based) of the value at field in a
// JSON document such as function.json: field is a JSON path as ConfigError
// writes it ("bindings[0].queueName"), property names matching in any case.
// The nearest enclosing value that exists is located when field does not;
// zeros mean the document does not parse.
func Locate(data []byte, field string) (line, col int) {
	root, err := parseJSON(data)
	if err != nil {
		return 0, 0
	}
	n := root
	for field != "" {
		var part string
		part, field, _ = strings.Cut(field, ".")
		name, index, hasIndex := strings.Cut(part, "[")
		if name != "" {
			m := n.getFold(name)
			if m == nil {
				break
			}
			n = m.value
		}
		if hasIndex {
			i, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
			if err != nil || n.kind != kindArray || i < 0 || i >= len(n.items) {
				break
			}
			n = n.items[i]
		}
	}
	return n.pos.line, n.pos.col
}
