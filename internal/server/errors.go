package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// Codes of the API's errors beyond the control surface's.
const (
	CodeUnauthorized = "unauthorized" // 401: no, unknown, expired or revoked token
	CodeForbidden    = "forbidden"    // 403: the token's role does not allow the route
	CodeInternal     = "internal"     // 500: the server failed
)

// ErrorBody is the body of every error answer: {"error": {...}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what failed: Code is a control.Code or one of the codes
// above, Reason why a conflict was refused (control's Reason constants).
type ErrorDetail struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
}

// statusOfCode maps the control surface's codes to HTTP statuses; a client
// maps them back (control/remote).
var statusOfCode = map[control.Code]int{
	control.CodeNotFound:     http.StatusNotFound,
	control.CodeConflict:     http.StatusConflict,
	control.CodeBadRequest:   http.StatusBadRequest,
	control.CodeNotSupported: http.StatusNotImplemented,
	control.CodeUnavailable:  http.StatusServiceUnavailable,
}

// errorOf classifies err into a status and the body's detail.
func errorOf(err error) (int, ErrorDetail) {
	d := ErrorDetail{Message: err.Error()}
	if code := control.CodeOf(err); code != "" {
		d.Code, d.Reason = string(code), control.ReasonOf(err)
		return statusOfCode[code], d
	}
	switch {
	case errors.Is(err, access.ErrUnauthenticated):
		d.Code = CodeUnauthorized
		return http.StatusUnauthorized, d
	case errors.Is(err, access.ErrForbidden):
		d.Code = CodeForbidden
		return http.StatusForbidden, d
	case errors.Is(err, store.ErrNotFound):
		d.Code = string(control.CodeNotFound)
		return http.StatusNotFound, d
	case errors.Is(err, access.ErrNameTaken):
		d.Code, d.Reason = string(control.CodeConflict), "name_taken"
		return http.StatusConflict, d
	}
	d.Code = CodeInternal
	return http.StatusInternalServerError, d
}

// writeError answers err in the API's error format and returns the status.
func writeError(w http.ResponseWriter, err error) int {
	status, d := errorOf(err)
	writeJSON(w, status, ErrorBody{Error: d})
	return status
}

// writeJSON answers v as JSON, every list in it [] when empty.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(emptyLists(v)) // the client went away; nothing to tell it
}

// badRequest is a request that can never succeed as written.
func badRequest(format string, args ...any) error {
	return control.Errorf(control.CodeBadRequest, format, args...)
}
