package httpapi

import (
	"mime"
	"net/http"
	"strings"
	"unicode/utf16"
)

// The admin actions that take a JSON body ([FromBody] in the real host's
// KeysController and FunctionsController) bind it with MVC's JSON input
// formatter, which reads application/json, text/json and application/*+json
// (any type whose subtype or suffix is json, for application and text), in
// UTF-8 or UTF-16. Anything else, a missing Content-Type included, is 415
// Unsupported Media Type with no body (UnsupportedContentTypeFilter), before
// the action runs.

// jsonBodyEncoding returns the encoding of a request body the JSON input
// formatter reads ("utf-8" or "utf-16"), or "" when it reads none.
func jsonBodyEncoding(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if strings.TrimSpace(ct) == "" {
		return ""
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || (typ != "application" && typ != "text") {
		return ""
	}
	suffix := sub
	if i := strings.LastIndexByte(sub, '+'); i >= 0 {
		suffix = sub[i+1:]
	}
	if sub != "json" && suffix != "json" {
		return ""
	}
	switch cs := strings.ToLower(params["charset"]); cs {
	case "", "utf-8", "utf8":
		return "utf-8"
	case "utf-16", "unicode", "utf-16le":
		return "utf-16"
	}
	return ""
}

// requireJSONBody answers 415 and returns false when the request's body is
// not one the JSON input formatter reads.
func requireJSONBody(w http.ResponseWriter, r *http.Request) bool {
	if jsonBodyEncoding(r) != "" {
		return true
	}
	w.WriteHeader(http.StatusUnsupportedMediaType)
	return false
}

// jsonText returns a body read with requireJSONBody's blessing as UTF-8:
// UTF-16 (little-endian unless a byte order mark says otherwise) is
// converted.
func jsonText(r *http.Request, body []byte) []byte {
	if jsonBodyEncoding(r) != "utf-16" {
		return body
	}
	big := false
	switch {
	case len(body) >= 2 && body[0] == 0xFE && body[1] == 0xFF:
		big, body = true, body[2:]
	case len(body) >= 2 && body[0] == 0xFF && body[1] == 0xFE:
		body = body[2:]
	}
	units := make([]uint16, len(body)/2)
	for i := range units {
		lo, hi := body[2*i], body[2*i+1]
		if big {
			lo, hi = hi, lo
		}
		units[i] = uint16(lo) | uint16(hi)<<8
	}
	return []byte(string(utf16.Decode(units)))
}
