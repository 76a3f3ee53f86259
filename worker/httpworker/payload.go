package httpworker

import (
	"bytes"
	"encoding/json"
	"mime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/funcd/funcd"
)

// The request payload of the default protocol is built here, as
// ScriptInvocationContextExtensions.ToHttpScriptInvocationContext and
// HttpRequestExtensions.GetRequestAsJObject build it, and serialized as
// Json.NET serializes it: compact, keys in insertion order.

// Claims identity properties Json.NET writes for a ClaimsIdentity.
const (
	claimIssuer     = "LOCAL AUTHORITY"
	claimValueType  = "http://www.w3.org/2001/XMLSchema#string"
	nameClaimType   = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name"
	roleClaimType   = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	defaultHTTPName = "req"
)

// payloadEnv is what a payload needs besides the invocation.
type payloadEnv struct {
	now  time.Time
	guid string // sys.RandGuid
}

// httpParts is what the payload takes from an HTTP request, worked out
// once.
type httpParts struct {
	query   []queryParam
	headers []string // names, sorted
	params  []string // route parameter names, in template order
	text    []byte   // the body as text: UTF-8, without a byte order mark
	stream  bool     // large values from the body become pieces
}

func newHTTPParts(inv *funcd.Invocation, stream bool) *httpParts {
	if inv.HTTP == nil {
		return nil
	}
	return &httpParts{
		query:   parseQuery(inv.HTTP.RawQuery),
		headers: headerNames(inv.HTTP),
		params:  paramNames(inv),
		text:    requestText(inv.HTTP),
		stream:  stream,
	}
}

// piece reports whether a value of n bytes from the body is sent as a
// piece rather than copied into the payload.
func (p *httpParts) piece(n int) bool { return p.stream && n >= pieceMin }

// appendPayload appends {"Data":{...},"Metadata":{...}} for inv, whole.
func appendPayload(dst []byte, inv *funcd.Invocation, env payloadEnv) ([]byte, error) {
	dst, _, err := buildPayload(dst, inv, env, false)
	return dst, err
}

// buildPayload appends {"Data":{...},"Metadata":{...}} for inv. With
// stream, the large values taken from the request body (the body itself,
// the strings of its top-level properties) are not encoded into dst but
// returned as pieces, which a payloadReader encodes as it is read: the
// payload is then never held whole.
func buildPayload(dst []byte, inv *funcd.Invocation, env payloadEnv, stream bool) ([]byte, []piece, error) {
	parts := newHTTPParts(inv, stream)
	var pieces []piece
	dst = append(dst, `{"Data":{`...)
	dst, err := appendData(dst, inv, parts, &pieces)
	if err != nil {
		return nil, nil, err
	}
	dst = append(dst, `},"Metadata":`...)
	md, err := invocationMetadata(inv, env, parts)
	if err != nil {
		return nil, nil, err
	}
	dst = md.appendTo(dst, &pieces)
	return append(dst, '}'), pieces, nil
}

// appendData appends the members of Data: the trigger's value, then the
// other inputs in function.json order.
func appendData(dst []byte, inv *funcd.Invocation, parts *httpParts, pieces *[]piece) ([]byte, error) {
	fn := inv.Function
	n := 0
	member := func(name string) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = appendString(dst, name)
		dst = append(dst, ':')
	}
	var err error
	if inv.HTTP != nil {
		member(httpTriggerName(fn))
		dst = appendHTTPRequest(dst, inv, parts, pieces)
	} else if t := fn.Trigger(); t != nil {
		member(t.Name)
		if dst, err = appendDataValue(dst, inv.Trigger); err != nil {
			return nil, bindingError(inv, t.Name, err)
		}
	}
	for _, name := range inputNames(inv) {
		member(name)
		if dst, err = appendDataValue(dst, inv.Inputs[name]); err != nil {
			return nil, bindingError(inv, name, err)
		}
	}
	return dst, nil
}

func httpTriggerName(fn *funcd.Function) string {
	if t := fn.HTTPTrigger(); t != nil && t.Name != "" {
		return t.Name
	}
	return defaultHTTPName
}

// inputNames orders inv.Inputs: declared input bindings first, in
// function.json order, then any others by name.
func inputNames(inv *funcd.Invocation) []string {
	if len(inv.Inputs) == 0 {
		return nil
	}
	names := make([]string, 0, len(inv.Inputs))
	for _, b := range inv.Function.Bindings {
		if _, ok := inv.Inputs[b.Name]; ok && !b.IsTrigger() {
			names = append(names, b.Name)
		}
	}
	var rest []string
	for name := range inv.Inputs {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// appendHTTPRequest appends the HTTP trigger's request object: Url, Method,
// Query (values comma-joined), Headers (arrays), Params (null for an
// optional parameter the URL left out), Identities, and Body when the
// request has one (base64 for octet-stream and multipart content).
func appendHTTPRequest(dst []byte, inv *funcd.Invocation, parts *httpParts, pieces *[]piece) []byte {
	r := inv.HTTP
	dst = append(dst, `{"Url":`...)
	dst = appendString(dst, r.URL)
	dst = append(dst, `,"Method":`...)
	dst = appendString(dst, r.Method)
	dst = append(dst, `,"Query":{`...)
	for i, p := range parts.query {
		dst = appendMemberSep(dst, i)
		dst = appendString(dst, p.key)
		dst = append(dst, ':')
		dst = appendString(dst, strings.Join(p.values, ","))
	}
	dst = append(dst, `},"Headers":{`...)
	for i, name := range parts.headers {
		dst = appendMemberSep(dst, i)
		dst = appendString(dst, name)
		dst = append(dst, ":["...)
		for j, v := range headerValues(r, name) {
			dst = appendMemberSep(dst, j)
			dst = appendString(dst, v)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `},"Params":{`...)
	for i, name := range parts.params {
		dst = appendMemberSep(dst, i)
		dst = appendString(dst, name)
		dst = append(dst, ':')
		if v := r.Params[name]; v != nil {
			dst = appendString(dst, *v)
		} else {
			dst = append(dst, "null"...)
		}
	}
	dst = append(dst, `},"Identities":[`...)
	for i, id := range r.Identities {
		dst = appendMemberSep(dst, i)
		dst = appendIdentity(dst, id)
	}
	dst = append(dst, ']')
	if len(r.Body) > 0 {
		dst = append(dst, `,"Body":`...)
		switch binary := isOctetOrMultipart(firstHeader(r.Header, "Content-Type")); {
		case binary && parts.piece(len(r.Body)):
			*pieces = append(*pieces, piece{at: len(dst), kind: pieceBase64, src: r.Body})
		case binary:
			dst = appendBase64(dst, r.Body)
		case parts.piece(len(parts.text)):
			*pieces = append(*pieces, piece{at: len(dst), kind: pieceText, src: parts.text})
		default:
			dst = appendString(dst, string(parts.text))
		}
	}
	return append(dst, '}')
}

func appendMemberSep(dst []byte, i int) []byte {
	if i > 0 {
		return append(dst, ',')
	}
	return dst
}

func appendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64Append(dst, b)
	return append(dst, '"')
}

// headerNames returns the request's header names, sorted, with Host (which
// net/http keeps out of Header) taken from the URL when missing.
func headerNames(r *funcd.HTTPRequest) []string {
	names := make([]string, 0, len(r.Header)+1)
	for name := range r.Header {
		names = append(names, name)
	}
	if _, ok := r.Header["Host"]; !ok && urlHost(r.URL) != "" {
		names = append(names, "Host")
	}
	slices.Sort(names)
	return names
}

func headerValues(r *funcd.HTTPRequest, name string) []string {
	if vs, ok := r.Header[name]; ok {
		return vs
	}
	return []string{urlHost(r.URL)}
}

// urlHost returns the host[:port] of an absolute URL.
func urlHost(u string) string {
	_, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func firstHeader(h map[string][]string, name string) string {
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// isOctetOrMultipart is Utility.IsMediaTypeOctetOrMultipart.
func isOctetOrMultipart(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(contentType), ";")
		mt = strings.TrimSpace(mt)
	}
	return mt == "application/octet-stream" || strings.Contains(mt, "multipart/")
}

// requestText is a request body as text. A binary body (octet-stream,
// multipart) goes into the payload as base64 of its bytes, so its text
// serves only to find JSON properties, which a body that is not UTF-8 has
// none of: it is not copied to replace invalid bytes.
func requestText(r *funcd.HTTPRequest) []byte {
	if isOctetOrMultipart(firstHeader(r.Header, "Content-Type")) {
		return bytes.TrimPrefix(r.Body, []byte("\xef\xbb\xbf"))
	}
	return bodyText(r.Body)
}

// bodyText decodes a body as .NET's StreamReader does: UTF-8, a leading
// byte order mark dropped, each run of invalid bytes replaced. A valid
// body is not copied.
func bodyText(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\ufffd"))
}

// paramNames orders route parameters as the route template names them; any
// others follow by name.
func paramNames(inv *funcd.Invocation) []string {
	params := inv.HTTP.Params
	if len(params) == 0 {
		return nil
	}
	var names []string
	if t := inv.Function.HTTPTrigger(); t != nil {
		for _, name := range templateParams(t.Route) {
			if _, ok := params[name]; ok && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	var rest []string
	for name := range params {
		if !slices.Contains(names, name) {
			rest = append(rest, name)
		}
	}
	slices.Sort(rest)
	return append(names, rest...)
}

// templateParams returns the parameter names of a route template
// ("{id:int}/{*rest}" -> id, rest).
func templateParams(route string) []string {
	var names []string
	for {
		i := strings.IndexByte(route, '{')
		if i < 0 {
			return names
		}
		route = route[i+1:]
		if strings.HasPrefix(route, "{") { // "{{" is a literal brace
			route = route[1:]
			continue
		}
		end := strings.IndexAny(route, ":=?}")
		if end < 0 {
			return names
		}
		names = append(names, strings.TrimLeft(route[:end], "*"))
		route = route[end:]
	}
}

// appendIdentity appends a ClaimsIdentity the way Json.NET dumps one.
func appendIdentity(dst []byte, id funcd.Identity) []byte {
	dst = append(dst, `{"AuthenticationType":`...)
	dst = appendNullableString(dst, id.AuthenticationType)
	dst = append(dst, `,"IsAuthenticated":`...)
	if id.AuthenticationType != "" {
		dst = append(dst, "true"...)
	} else {
		dst = append(dst, "false"...)
	}
	dst = append(dst, `,"Actor":null,"BootstrapContext":null,"Claims":[`...)
	name := ""
	for i, c := range id.Claims {
		dst = appendMemberSep(dst, i)
		dst = append(dst, `{"Issuer":"`+claimIssuer+`","OriginalIssuer":"`+claimIssuer+`","Properties":{},"Type":`...)
		dst = appendString(dst, c.Type)
		dst = append(dst, `,"Value":`...)
		dst = appendString(dst, c.Value)
		dst = append(dst, `,"ValueType":"`+claimValueType+`"}`...)
		if c.Type == nameClaimType && name == "" {
			name = c.Value
		}
	}
	dst = append(dst, `],"Label":null,"Name":`...)
	dst = appendNullableString(dst, name)
	return append(dst, `,"NameClaimType":"`+nameClaimType+`","RoleClaimType":"`+roleClaimType+`"}`...)
}

func appendNullableString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

// metadata is the trigger's binding data: a dictionary with case-insensitive
// keys that keeps each key's first spelling and position, as the host's
// binding data dictionary does. Values are JSON held in one buffer; a null
// value is not sent.
type metadata struct {
	entries []mdEntry
	buf     []byte
}

type mdEntry struct {
	key        string
	start, end int    // the value is buf[start:end]; end < 0 for null
	token      []byte // or, when set, a JSON string of the body sent double-encoded as a piece
}

func (m *metadata) index(key string) int {
	for i, e := range m.entries {
		if strings.EqualFold(e.key, key) {
			return i
		}
	}
	return -1
}

// mark returns where the next value starts in buf; append the value to
// m.buf, then call set with the mark.
func (m *metadata) mark() int { return len(m.buf) }

// set gives key the value appended to m.buf since start, or null when
// start is negative.
func (m *metadata) set(key string, start int) {
	e := mdEntry{key: key, start: start, end: len(m.buf)}
	if start < 0 {
		e.end = -1
	}
	if i := m.index(key); i >= 0 {
		e.key = m.entries[i].key
		m.entries[i] = e
		return
	}
	m.entries = append(m.entries, e)
}

func (m *metadata) has(key string) bool { return m.index(key) >= 0 }

// setPiece gives key the JSON string token of the body, to be sent
// double-encoded as a piece.
func (m *metadata) setPiece(key string, token []byte) {
	m.set(key, m.mark())
	m.entries[m.index(key)].token = token
}

// appendTo appends the metadata as a JSON object, leaving out nulls and the
// keys ending in "trigger" (the trigger's value is in Data).
func (m *metadata) appendTo(dst []byte, pieces *[]piece) []byte {
	dst = append(dst, '{')
	n := 0
	for _, e := range m.entries {
		if e.end < 0 || hasSuffixFold(e.key, "trigger") {
			continue
		}
		dst = appendMemberSep(dst, n)
		n++
		dst = appendString(dst, e.key)
		dst = append(dst, ':')
		if e.token != nil {
			*pieces = append(*pieces, piece{at: len(dst), kind: pieceDoubleEncoded, src: e.token})
			continue
		}
		dst = append(dst, m.buf[e.start:e.end]...)
	}
	return append(dst, '}')
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// invocationMetadata builds Metadata: the HTTP binding data for an HTTP
// trigger, else the host's trigger metadata; then "sys".
func invocationMetadata(inv *funcd.Invocation, env payloadEnv, parts *httpParts) (*metadata, error) {
	md := &metadata{buf: make([]byte, 0, 512)}
	if inv.HTTP != nil {
		httpBindingData(md, inv, parts)
	}
	keys := make([]string, 0, len(inv.Metadata))
	for k := range inv.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := inv.Metadata[k]
		if len(v) == 0 || string(v) == "null" {
			md.set(k, -1)
			continue
		}
		start := md.mark()
		c, err := appendMetadataValue(md.buf, v)
		if err != nil {
			return nil, bindingError(inv, "metadata "+k, err)
		}
		md.buf = c
		md.set(k, start)
	}
	sys := "sys"
	if md.has(sys) {
		sys = "$sys" // user data keeps the name, as in the WebJobs SDK
	}
	start := md.mark()
	md.buf = appendSys(md.buf, inv.Function.Name, env)
	md.set(sys, start)
	if inv.Retry != nil {
		start := md.mark()
		md.buf = appendRetryContext(md.buf, inv.Function.Name, inv.Retry)
		md.set("RetryContext", start)
	}
	return md, nil
}

func appendSys(dst []byte, method string, env payloadEnv) []byte {
	dst = append(dst, `{"MethodName":`...)
	dst = appendString(dst, method)
	dst = append(dst, `,"UtcNow":"`...)
	dst = env.now.UTC().AppendFormat(dst, "2006-01-02T15:04:05.9999999Z07:00")
	dst = append(dst, `","RandGuid":"`...)
	dst = append(dst, env.guid...)
	return append(dst, `"}`...)
}

// httpBindingData adds what the HTTP trigger binding contributes, in its
// order: the top-level properties of a JSON object body, each query
// parameter but "code" (the last value), each route parameter, then "Query"
// and "Headers" unless a key of that name exists. Single values are sent as
// the real host sends them: JSON-encoded a second time ("\"value\"").
func httpBindingData(md *metadata, inv *funcd.Invocation, parts *httpParts) {
	r := inv.HTTP
	if len(r.Body) > 0 {
		bodyBindingData(md, parts)
	}
	for _, p := range parts.query {
		if !strings.EqualFold(p.key, "code") {
			start := md.mark()
			md.buf = appendDoubleEncoded(md.buf, p.values[len(p.values)-1])
			md.set(p.key, start)
		}
	}
	for _, name := range parts.params {
		if v := r.Params[name]; v != nil {
			start := md.mark()
			md.buf = appendDoubleEncoded(md.buf, *v)
			md.set(name, start)
		} else {
			md.set(name, -1)
		}
	}
	if !md.has("Query") {
		start := md.mark()
		md.buf = append(md.buf, '{')
		for i, p := range parts.query {
			md.buf = appendMemberSep(md.buf, i)
			md.buf = appendString(md.buf, p.key)
			md.buf = append(md.buf, ':')
			md.buf = appendString(md.buf, p.values[len(p.values)-1])
		}
		md.buf = append(md.buf, '}')
		md.set("Query", start)
	}
	if !md.has("Headers") {
		start := md.mark()
		md.buf = append(md.buf, '{')
		for i, name := range parts.headers {
			md.buf = appendMemberSep(md.buf, i)
			md.buf = appendString(md.buf, name)
			md.buf = append(md.buf, ':')
			md.buf = appendString(md.buf, strings.Join(headerValues(r, name), ","))
		}
		md.buf = append(md.buf, '}')
		md.set("Headers", start)
	}
}

// bodyBindingData adds the top-level properties of a JSON object body:
// objects as they are, arrays and nulls left out, other values as the
// string .NET makes of them. The body is read where it lies: a large string
// value becomes a piece rather than a copy.
func bodyBindingData(md *metadata, parts *httpParts) {
	t := bytes.TrimSpace(parts.text)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' || !json.Valid(t) {
		return
	}
	for _, m := range topLevelMembers(t) {
		start := md.mark()
		switch m.raw[0] {
		case '[', 'n':
			continue
		case '{':
			v, _ := parseJSON(m.raw)
			md.buf = appendJSON(md.buf, v, false, 0)
		case '"':
			if parts.piece(len(m.raw)) {
				md.setPiece(m.name, m.raw)
				continue
			}
			p := jparser{data: m.raw}
			md.buf = appendDoubleEncoded(md.buf, p.str())
		default:
			p := jparser{data: m.raw}
			s, _ := scalarString(p.value())
			md.buf = appendDoubleEncoded(md.buf, s)
		}
		md.set(m.name, start)
	}
}

// rawMember is a member of a JSON object with its value as it lies in the
// document.
type rawMember struct {
	name string
	raw  []byte
}

// topLevelMembers returns the members of the JSON object data (which
// json.Valid accepted), a repeated name keeping its first position and its
// last value, as Json.NET does, without decoding the values.
func topLevelMembers(data []byte) []rawMember {
	p := jparser{data: data}
	p.skipSpace()
	p.i++ // {
	var members []rawMember
	for {
		p.skipSpace()
		switch p.data[p.i] {
		case '}':
			return members
		case ',':
			p.i++
			p.skipSpace()
		}
		name := p.str()
		p.skipSpace()
		p.i++ // :
		p.skipSpace()
		start := p.i
		p.skipValue()
		m := rawMember{name: name, raw: p.data[start:p.i]}
		if i := slices.IndexFunc(members, func(o rawMember) bool { return o.name == name }); i >= 0 {
			members[i].raw = m.raw
			continue
		}
		members = append(members, m)
	}
}

// appendDoubleEncoded appends a string of binding data as the real host
// sends it: the JSON encoding of its JSON encoding. The inner encoding
// escapes every control and special character, so the outer one only has
// quotes and backslashes left to escape.
func appendDoubleEncoded(dst []byte, s string) []byte {
	var scratch [128]byte
	inner := appendString(scratch[:0], s)
	dst = append(dst, '"')
	for _, c := range inner {
		if c == '"' || c == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, c)
	}
	return append(dst, '"')
}

// bindingError reports a binding value of inv that is not valid JSON.
func bindingError(inv *funcd.Invocation, name string, err error) error {
	return funcd.Errorf(funcd.EINTERNAL, "function '%s': the value of %s is not valid JSON: %w", inv.Function.Name, name, err)
}
