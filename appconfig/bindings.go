package appconfig

import (
	"strconv"
	"strings"

	"github.com/funcd/funcd"
)

// .NET types of BindingMetadata properties, named in conversion errors.
const (
	typeBindingDirection = "Microsoft.Azure.WebJobs.Script.Description.BindingDirection"
	typeDataType         = "System.Nullable`1[Microsoft.Azure.WebJobs.Script.Description.DataType]"
	typeCardinality      = "System.Nullable`1[Microsoft.Azure.WebJobs.Script.Description.Cardinality]"
)

// Enum names in declaration order (the numeric value is the index).
var (
	directionNames   = []string{"in", "out", "inout"}
	dataTypeNames    = []string{"string", "binary", "stream"}
	cardinalityNames = []string{"one", "many"}
	authLevelNames   = []string{"anonymous", "user", "function", "system", "admin"}
)

// readBinding converts one binding object as BindingMetadata.Create does
// (Json.NET, property names case-insensitive). It records at most one error,
// the one the host would throw.
func (fl *fnLoader) readBinding(field string, n *node) (funcd.Binding, bool) {
	b := funcd.Binding{Direction: funcd.In, Properties: properties(n)}
	if !fl.readDirection(field, n, &b) {
		return b, false
	}
	// The serializer visits properties in file order and stops at the first
	// that does not convert; a repeated property keeps its last value.
	for i := range n.fields {
		f := &n.fields[i]
		ok := true
		switch strings.ToLower(f.key) {
		case "name":
			b.Name, ok = fl.readString(field, f)
		case "type":
			b.Type, ok = fl.readString(field, f)
		case "connection":
			_, ok = fl.readString(field, f)
		case "datatype":
			var dt int
			if dt, ok = fl.readEnum(field, f, dataTypeNames, typeDataType); ok && dt >= 0 {
				b.DataType = dataTypeNames[dt]
			}
		case "cardinality":
			_, ok = fl.readEnum(field, f, cardinalityNames, typeCardinality)
		}
		if !ok {
			return b, false
		}
	}
	if strings.EqualFold(b.Type, "httpTrigger") {
		b.AuthLevel = funcd.AuthFunction // the default, until readHTTPTrigger reads authLevel
	}
	return b, true
}

// properties converts every property of a binding, as written.
func properties(n *node) map[string]any {
	props := make(map[string]any, len(n.fields))
	for _, f := range n.fields {
		props[f.key] = toAny(f.value)
	}
	return props
}

// toAny converts a JSON value to the types encoding/json produces.
func toAny(n *node) any {
	switch n.kind {
	case kindBool:
		return n.text == "true"
	case kindNumber:
		f, _ := strconv.ParseFloat(n.text, 64)
		return f
	case kindString:
		return n.text
	case kindObject:
		m := make(map[string]any, len(n.fields))
		for _, f := range n.fields {
			m[f.key] = toAny(f.value)
		}
		return m
	case kindArray:
		a := make([]any, len(n.items))
		for i, item := range n.items {
			a[i] = toAny(item)
		}
		return a
	}
	return nil
}

// readDirection converts "direction" (default "in"). When it does not
// convert, the host looks at raw["direction"] (a case-sensitive lookup) to
// phrase the error.
func (fl *fnLoader) readDirection(field string, n *node, b *funcd.Binding) bool {
	var df *member
	for i := range n.fields {
		if strings.EqualFold(n.fields[i].key, "direction") {
			df = &n.fields[i]
		}
	}
	if df == nil {
		return true
	}
	i, msg := convertEnum(df.value, df.key, directionNames, typeBindingDirection, false)
	if msg == "" {
		b.Direction = funcd.Direction(directionNames[i])
		return true
	}
	if exact := n.get("direction"); exact != nil {
		v := exact.value
		if !v.scalar() {
			msg = "Can not convert " + containerName(v) + " to String."
		} else if s := v.dotnetString(); s != "" {
			if _, ok := parseEnum(s, directionNames); !ok {
				msg = "'" + s + "' is not a valid binding direction."
			}
		}
	}
	fl.errorAt(df.value.pos, field+".direction", msg, `Use "in", "out" or "inout".`)
	return false
}

// readString converts a string property as the serializer does: any scalar
// is its text (null is ""), an object or array fails.
func (fl *fnLoader) readString(field string, f *member) (string, bool) {
	if f.value.scalar() {
		return f.value.dotnetString(), true
	}
	fl.errorAt(f.value.pos, field+"."+f.key,
		"Error reading string. Unexpected token: "+tokenType(f.value)+". Path '"+f.key+"'.", "Use a string.")
	return "", false
}

// readEnum converts a nullable enum property; the index is -1 for null or
// "".
func (fl *fnLoader) readEnum(field string, f *member, names []string, typeName string) (int, bool) {
	i, msg := convertEnum(f.value, f.key, names, typeName, true)
	if msg != "" {
		fl.errorAt(f.value.pos, field+"."+f.key, msg, "Use one of: "+strings.Join(names, ", ")+".")
		return 0, false
	}
	return i, true
}

// convertEnum is Json.NET's StringEnumConverter: a name in any case or a
// defined number converts; it returns the index (-1 for a null nullable) or
// the message Json.NET gives.
func convertEnum(n *node, key string, names []string, typeName string, nullable bool) (int, string) {
	failed := func(value string) string {
		return "Error converting value " + value + " to type '" + typeName + "'. Path '" + key + "'."
	}
	switch n.kind {
	case kindNull:
		if nullable {
			return -1, ""
		}
		return 0, "Cannot convert null value to " + typeName + ". Path '" + key + "'."
	case kindString:
		if n.text == "" && nullable {
			return -1, ""
		}
		if i, ok := parseEnum(n.text, names); ok && strings.TrimSpace(n.text) == n.text {
			return i, ""
		}
		return 0, failed(strconv.Quote(n.text))
	case kindNumber:
		if i, err := strconv.Atoi(n.text); err == nil && i >= 0 && i < len(names) {
			return i, ""
		}
		if !strings.ContainsAny(n.text, ".eE") {
			return 0, failed(n.dotnetString())
		}
	}
	return 0, "Unexpected token " + tokenType(n) + " when parsing enum. Path '" + key + "'."
}

// tokenType is Json.NET's JsonToken name for a value.
func tokenType(n *node) string {
	switch n.kind {
	case kindNull:
		return "Null"
	case kindBool:
		return "Boolean"
	case kindNumber:
		if strings.ContainsAny(n.text, ".eE") {
			return "Float"
		}
		return "Integer"
	case kindString:
		return "String"
	case kindObject:
		return "StartObject"
	}
	return "StartArray"
}

// httpTrigger is what the route checks need to know about an HTTP function.
type httpTrigger struct {
	fn      *funcd.Function
	binding int
	// methods are as written: the host compares them case-sensitively when
	// it looks for conflicting routes.
	methods []string
	// routeAt locates the route (or the binding when the route defaulted to
	// the function name).
	routeAt    pos
	routeField string
}

// readHTTPTrigger reads an httpTrigger's authLevel, methods and route as
// the host's HttpScriptBinding does.
func (fl *fnLoader) readHTTPTrigger() {
	for i := range fl.fn.Bindings {
		b := &fl.fn.Bindings[i]
		if !isTriggerBinding(b) || !strings.EqualFold(b.Type, "httpTrigger") {
			continue
		}
		n, field := fl.bindingNodes[i], "bindings["+strconv.Itoa(i)+"]"
		t := &httpTrigger{fn: fl.fn, binding: i, routeAt: n.pos, routeField: field + ".route"}
		ok := fl.readAuthLevel(field, n, b)
		ok = fl.readMethods(field, n, b, t) && ok
		ok = fl.readRoute(field, n, b, t) && ok
		if ok {
			fl.l.httpTriggers = append(fl.l.httpTriggers, t)
		}
		return
	}
}

// metadataError is ScriptBindingContext's message for a property of the
// wrong JSON type.
func metadataError(name, typeName string) string {
	return "Error parsing function.json: Invalid value specified for binding property '" + name + "' of type " + typeName + "."
}

func (fl *fnLoader) readAuthLevel(field string, n *node, b *funcd.Binding) bool {
	b.AuthLevel = funcd.AuthFunction
	f := n.getFold("authLevel")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	hint := "Use anonymous, function or admin (user and system also exist)."
	if !f.value.scalar() {
		fl.errorAt(f.value.pos, field+"."+f.key, metadataError("authLevel", "String"), hint)
		return false
	}
	s := f.value.dotnetString()
	if s == "" {
		return true
	}
	i, ok := parseEnum(s, authLevelNames)
	if !ok {
		fl.errorAt(f.value.pos, field+"."+f.key,
			"Error parsing function.json: Invalid value specified for binding property 'authLevel' of enum type AuthorizationLevel.", hint)
		return false
	}
	b.AuthLevel = funcd.AuthLevel(i)
	return true
}

func (fl *fnLoader) readMethods(field string, n *node, b *funcd.Binding, t *httpTrigger) bool {
	f := n.getFold("methods")
	if f == nil || f.value.kind == kindNull {
		return true
	}
	if f.value.kind != kindArray {
		fl.errorAt(f.value.pos, field+"."+f.key, metadataError("methods", "JArray"), `Use an array of methods, for example ["get", "post"].`)
		return false
	}
	for j, item := range f.value.items {
		if !item.scalar() {
			fl.errorAt(item.pos, field+"."+f.key+"["+strconv.Itoa(j)+"]",
				"Cannot cast Newtonsoft.Json.Linq."+jtokenType(item)+" to Newtonsoft.Json.Linq.JToken.", `Each method is a string such as "get".`)
			return false
		}
		if item.kind == kindNull {
			continue
		}
		m := item.dotnetString()
		t.methods = append(t.methods, m)
		b.Methods = append(b.Methods, strings.ToUpper(m))
	}
	return true
}

func (fl *fnLoader) readRoute(field string, n *node, b *funcd.Binding, t *httpTrigger) bool {
	f := n.getFold("route")
	if f != nil {
		if !f.value.scalar() {
			fl.errorAt(f.value.pos, field+"."+f.key, metadataError("route", "String"), `Use a route template string such as "items/{id}".`)
			return false
		}
		b.Route = f.value.dotnetString()
		if strings.TrimSpace(b.Route) != "" {
			t.routeAt, t.routeField = f.value.pos, field+"."+f.key
		}
	}
	if strings.TrimSpace(b.Route) == "" {
		b.Route = fl.fn.Name // the host's default route
	}
	return true
}
