package httpapi

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/funcd/funcd"
	"github.com/funcd/funcd/worker"
)

// statusOf maps an error to the status the real host answers with.
func statusOf(err error) int {
	switch funcd.ErrorCode(err) {
	case funcd.ENOTFOUND:
		return http.StatusNotFound
	case funcd.ECONFLICT:
		return http.StatusConflict
	case funcd.EINVALID:
		return http.StatusBadRequest
	case funcd.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case funcd.EFORBIDDEN:
		return http.StatusForbidden
	case funcd.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case funcd.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// writeJSON writes v as a JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError answers an admin API request that failed. Client errors carry
// their message, as ASP.NET's BadRequest(string) does: through content
// negotiation, where the string formatter (text/plain) comes before JSON;
// server errors carry nothing.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	switch status {
	case http.StatusBadRequest, http.StatusConflict:
		if wantsJSON(r) {
			writeJSON(w, status, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(err.Error()))
	default:
		w.WriteHeader(status)
	}
}

// wantsJSON reports whether ASP.NET's output formatter selection would pick
// JSON over text for a string: only when the Accept header, taken by
// quality, names a JSON type before any text type. An Accept with */* is
// ignored (MvcOptions.RespectBrowserAcceptHeader is false).
func wantsJSON(r *http.Request) bool {
	type mediaRange struct {
		typ string
		q   float64
	}
	var ranges []mediaRange
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			typ, params, _ := strings.Cut(part, ";")
			mr := mediaRange{typ: strings.ToLower(strings.TrimSpace(typ)), q: 1}
			for p := range strings.SplitSeq(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
					if q, err := strconv.ParseFloat(val, 64); err == nil {
						mr.q = q
					}
				}
			}
			if mr.typ == "*/*" {
				return false
			}
			ranges = append(ranges, mr)
		}
	}
	slices.SortStableFunc(ranges, func(a, b mediaRange) int { return cmp.Compare(b.q, a.q) })
	for _, mr := range ranges {
		switch {
		case mr.typ == "text/plain" || mr.typ == "text/*":
			return false
		case mr.typ == "application/json" || mr.typ == "text/json" || mr.typ == "application/*" ||
			strings.HasPrefix(mr.typ, "application/") && strings.HasSuffix(mr.typ, "+json"):
			return true
		}
	}
	return false
}

// errBodyTooSlow is the failure of a request body that arrives more slowly
// than Kestrel's minimum data rate.
var errBodyTooSlow = errors.New("the request body arrived too slowly")

// writeBodyError answers a request whose body could not be read: 408 and
// the connection closed for a body that was too slow (Kestrel's answer),
// otherwise the error's status.
func writeBodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errBodyTooSlow) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestTimeout)
		return
	}
	w.WriteHeader(statusOf(err))
}

// writeInvokeError answers an HTTP function whose invocation failed: 500
// with no body, as the real host does, except while the worker is down
// between restarts (funcd keeps running where the real host would have
// stopped): 503, with Retry-After when the restart time is known.
func writeInvokeError(w http.ResponseWriter, err error, now time.Time) {
	var down *worker.DownError
	if funcd.ErrorCode(err) != funcd.EUNAVAILABLE || !errors.As(err, &down) {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if secs := int(math.Ceil(down.Retry.Sub(now).Seconds())); secs > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(http.StatusServiceUnavailable)
}
