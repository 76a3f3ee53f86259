package langworker

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker/grpcworker/rpcpb"
)

// toRPCHTTP is r as the real host sends an HTTP trigger over gRPC
// (classic mode). Header names are lower-cased and repeated values
// comma-joined; query values likewise. The nullable maps replace the plain
// ones when the worker set UseNullableValueDictionaryForHttp. The body goes
// only when there is one: as bytes for RawHttpBodyBytes or binary content,
// else as a string, or with rawBody as well (no RpcHttpBodyOnly) as json
// for valid JSON content.
func toRPCHTTP(r *funcd.HTTPRequest, caps Capabilities) *rpcpb.RpcHttp {
	nullable := caps.Has(capNullableDictionaryForHTTP)
	h := &rpcpb.RpcHttp{Method: r.Method, Url: r.URL}
	query := parseQuery(r.RawQuery)
	if nullable {
		h.NullableHeaders = make(map[string]*rpcpb.NullableString, len(r.Header))
		h.NullableQuery = make(map[string]*rpcpb.NullableString, len(query))
		h.NullableParams = make(map[string]*rpcpb.NullableString, len(r.Params))
	} else {
		h.Headers = make(map[string]string, len(r.Header))
		h.Query = make(map[string]string, len(query))
		h.Params = make(map[string]string, len(r.Params))
	}
	ignoreEmpty := caps.Has(capIgnoreEmptyHeaders)
	for k, vs := range r.Header {
		v := joinValues(vs)
		name := lowerASCII(k)
		switch {
		case nullable:
			h.NullableHeaders[name] = nullableString(v)
		case v == "" && ignoreEmpty:
		default:
			h.Headers[name] = v
		}
	}
	for _, p := range query {
		v := joinValues(p.values)
		switch {
		case nullable:
			h.NullableQuery[p.key] = nullableString(v)
		case v != "":
			h.Query[p.key] = v
		}
	}
	for k, v := range r.Params {
		switch {
		case v == nil:
		case nullable:
			h.NullableParams[k] = nullableString(*v)
		default:
			h.Params[k] = *v
		}
	}
	for _, id := range r.Identities {
		rid := &rpcpb.RpcClaimsIdentity{Claims: make([]*rpcpb.RpcClaim, 0, len(id.Claims))}
		if id.AuthenticationType != "" {
			rid.AuthenticationType = nullableString(id.AuthenticationType)
		}
		for _, c := range id.Claims {
			rid.Claims = append(rid.Claims, &rpcpb.RpcClaim{Type: c.Type, Value: c.Value})
		}
		h.Identities = append(h.Identities, rid)
	}
	if len(r.Body) > 0 {
		setBody(h, r, caps)
	}
	return h
}

// setBody fills Body (and RawBody) as the real host's conversion does.
func setBody(h *rpcpb.RpcHttp, r *funcd.HTTPRequest, caps Capabilities) {
	rawBytes := caps.Has(capRawHTTPBodyBytes)
	ct := firstValue(r.Header["Content-Type"])
	binary := isOctetOrMultipart(ct)
	if caps.Has(capRPCHTTPBodyOnly) {
		if binary || rawBytes {
			h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: r.Body}}
		} else {
			h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: string(r.Body)}}
		}
		return
	}
	text := ""
	switch mt, _, _ := mime.ParseMediaType(ct); {
	case strings.EqualFold(mt, "application/json"):
		text = string(r.Body)
		if json.Valid(r.Body) {
			h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_Json{Json: compactJSON(r.Body)}}
		} else {
			h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: text}}
		}
	case binary:
		h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: r.Body}}
		text = string(r.Body)
	default:
		text = string(r.Body)
		h.Body = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: text}}
	}
	if rawBytes {
		h.RawBody = &rpcpb.TypedData{Data: &rpcpb.TypedData_Bytes{Bytes: r.Body}}
	} else {
		h.RawBody = &rpcpb.TypedData{Data: &rpcpb.TypedData_String_{String_: text}}
	}
}

// compactJSON is valid JSON without insignificant white space, as the real
// host re-serializes a JSON body.
func compactJSON(b []byte) string {
	var buf bytes.Buffer
	buf.Grow(len(b))
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

func isOctetOrMultipart(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return strings.EqualFold(mt, "application/octet-stream") || len(mt) > 10 && strings.EqualFold(mt[:10], "multipart/")
}

func nullableString(s string) *rpcpb.NullableString {
	return &rpcpb.NullableString{String_: &rpcpb.NullableString_Value{Value: s}}
}

func joinValues(vs []string) string {
	if len(vs) == 1 {
		return vs[0]
	}
	return strings.Join(vs, ",")
}

func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// lowerASCII lower-cases a header name, without allocating when it is
// lower-case already.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

type queryParam struct {
	key    string
	values []string
}

// parseQuery splits a raw query into parameters in order, repeated keys
// (case-insensitively) gathered, "+" read as a space.
func parseQuery(raw string) []queryParam {
	var params []queryParam
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, v = unescape(k), unescape(v)
		found := false
		for i := range params {
			if strings.EqualFold(params[i].key, k) {
				params[i].values = append(params[i].values, v)
				found = true
				break
			}
		}
		if !found {
			params = append(params, queryParam{key: k, values: []string{v}})
		}
	}
	return params
}

func unescape(s string) string {
	if !strings.ContainsAny(s, "+%") {
		return s
	}
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// httpResponse converts the RpcHttp a worker returned for binding name of
// function fn into the response funcd writes: status_code parsed ("" is
// 200), headers, each cookie as a Set-Cookie header, and the body of any
// TypedData kind as bytes with a default Content-Type for its kind when
// the worker set none.
func httpResponse(fn, name string, h *rpcpb.RpcHttp) (*funcd.HTTPResponse, error) {
	status := http.StatusOK
	if s := strings.TrimSpace(h.GetStatusCode()); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 999 {
			return nil, replyError(fn, name, "http status_code "+strconv.Quote(h.GetStatusCode())+" is not an HTTP status code (expected a number from 100 to 999)")
		}
		status = n
	}
	header := make(map[string][]string, len(h.GetHeaders())+len(h.GetCookies())+1)
	for k, v := range h.GetHeaders() {
		if !validToken(k) {
			return nil, replyError(fn, name, "http header name "+strconv.Quote(k)+" is not a valid header name")
		}
		if !validHeaderValue(v) {
			return nil, replyError(fn, name, "http header "+strconv.Quote(k)+" has a value with control characters")
		}
		ck := http.CanonicalHeaderKey(k)
		header[ck] = append(header[ck], v)
	}
	for _, c := range h.GetCookies() {
		s, err := setCookie(c)
		if err != nil {
			return nil, replyError(fn, name, err.Error())
		}
		header["Set-Cookie"] = append(header["Set-Cookie"], s)
	}
	body, ctype, err := bodyBytes(fn, name, h.GetBody())
	if err != nil {
		return nil, err
	}
	if ctype != "" && len(header["Content-Type"]) == 0 {
		header["Content-Type"] = []string{ctype}
	}
	return &funcd.HTTPResponse{Status: status, Header: header, Body: body, ContentLength: int64(len(body))}, nil
}

// bodyBytes is a response body's bytes and the Content-Type its kind
// implies.
func bodyBytes(fn, name string, d *rpcpb.TypedData) ([]byte, string, error) {
	switch x := d.GetData().(type) {
	case nil:
		return nil, "", nil
	case *rpcpb.TypedData_Bytes:
		return x.Bytes, "application/octet-stream", nil
	case *rpcpb.TypedData_Stream:
		return x.Stream, "application/octet-stream", nil
	case *rpcpb.TypedData_String_:
		return []byte(x.String_), "text/plain; charset=utf-8", nil
	}
	v, err := outputValue(fn, name+".body", d)
	if err != nil {
		return nil, "", err
	}
	return v.Data, "application/json; charset=utf-8", nil
}

// setCookie is an RpcHttpCookie as a Set-Cookie header value, attributes
// as ASP.NET Core writes them.
func setCookie(c *rpcpb.RpcHttpCookie) (string, error) {
	if c.GetName() == "" || !validCookieName(c.GetName()) {
		return "", errorString("cookie name " + strconv.Quote(c.GetName()) + " is not a valid cookie name")
	}
	if strings.ContainsAny(c.GetValue(), ";\r\n\x00") {
		return "", errorString("cookie " + strconv.Quote(c.GetName()) + " has a value with ';' or control characters")
	}
	var b strings.Builder
	b.WriteString(c.GetName())
	b.WriteByte('=')
	b.WriteString(c.GetValue())
	if v, ok := c.GetExpires().GetTimestamp().(*rpcpb.NullableTimestamp_Value); ok && v.Value != nil {
		b.WriteString("; expires=")
		b.WriteString(v.Value.AsTime().UTC().Format(http.TimeFormat))
	}
	if v, ok := c.GetMaxAge().GetDouble().(*rpcpb.NullableDouble_Value); ok {
		b.WriteString("; max-age=")
		b.WriteString(strconv.FormatInt(int64(time.Duration(v.Value*float64(time.Second))/time.Second), 10))
	}
	if v, ok := c.GetDomain().GetString_().(*rpcpb.NullableString_Value); ok && v.Value != "" {
		b.WriteString("; domain=")
		b.WriteString(v.Value)
	}
	if v, ok := c.GetPath().GetString_().(*rpcpb.NullableString_Value); ok && v.Value != "" {
		b.WriteString("; path=")
		b.WriteString(v.Value)
	}
	if v, ok := c.GetSecure().GetBool().(*rpcpb.NullableBool_Value); ok && v.Value {
		b.WriteString("; secure")
	}
	switch c.GetSameSite() {
	case rpcpb.RpcHttpCookie_Lax:
		b.WriteString("; samesite=lax")
	case rpcpb.RpcHttpCookie_Strict:
		b.WriteString("; samesite=strict")
	case rpcpb.RpcHttpCookie_ExplicitNone:
		b.WriteString("; samesite=none")
	}
	if v, ok := c.GetHttpOnly().GetBool().(*rpcpb.NullableBool_Value); ok && v.Value {
		b.WriteString("; httponly")
	}
	return b.String(), nil
}

func validCookieName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

type errorString string

func (e errorString) Error() string { return string(e) }

// validToken reports whether s is an HTTP token (RFC 9110 section 5.6.2).
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s has no control characters but tab.
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
