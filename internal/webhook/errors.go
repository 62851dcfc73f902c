package webhook

import (
	"errors"
	"fmt"
	"net/http"
)

// Code names why a delivery was refused.
type Code string

// Codes of refused deliveries.
const (
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeTooLarge             Code = "payload_too_large"
	CodeUnsigned             Code = "unsigned"
	CodeBadSignature         Code = "bad_signature"
	CodeMissingHeader        Code = "missing_header"
	CodeMalformed            Code = "malformed_payload"
	CodeRedelivery           Code = "redelivery"
	CodeReplay               Code = "replayed_payload"
	CodeNoSecret             Code = "no_secret"
	// CodeReadTimeout: the body did not arrive within the server's deadline.
	CodeReadTimeout Code = "read_timeout"
	// CodeBusy: the server reads as many bodies as it takes at once; the
	// delivery may come again later (Retry-After).
	CodeBusy Code = "busy"
)

// statusOf maps each code to the HTTP status the server answers with.
var statusOf = map[Code]int{
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeTooLarge:             http.StatusRequestEntityTooLarge,
	CodeUnsigned:             http.StatusUnauthorized,
	CodeBadSignature:         http.StatusUnauthorized,
	CodeMissingHeader:        http.StatusBadRequest,
	CodeMalformed:            http.StatusBadRequest,
	CodeRedelivery:           http.StatusConflict,
	CodeReplay:               http.StatusConflict,
	CodeNoSecret:             http.StatusServiceUnavailable,
	CodeReadTimeout:          http.StatusRequestTimeout,
	CodeBusy:                 http.StatusServiceUnavailable,
}

// Error is a refused delivery: nothing was started or recorded for it.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Status is the HTTP status a server answers the delivery with (4xx, or 503 when
// no secret is configured).
func (e *Error) Status() int { return statusOf[e.Code] }

// Refuse returns a refusal with code and a message; the server refuses with it
// what it decides before Receive (too many bodies being read, a declared length
// over the cap).
func Refuse(code Code, format string, args ...any) *Error {
	return refuse(code, format, args...)
}

func refuse(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the refusal code of err, or "" when err is not a refusal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
