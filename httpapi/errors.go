package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/funcd/funcd"
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
// their message as a JSON string (as ASP.NET's BadRequest(string) does);
// server errors carry nothing.
func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	switch status {
	case http.StatusBadRequest, http.StatusConflict:
		writeJSON(w, status, err.Error())
	default:
		w.WriteHeader(status)
	}
}
