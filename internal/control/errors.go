package control

import (
	"errors"
	"fmt"
)

// Code classifies a failed call, so that an HTTP layer maps it to a status and a
// client maps the status back.
type Code string

// Error codes.
const (
	CodeNotFound     Code = "not_found"     // 404: no such pipeline, execution, stage, action or deployment
	CodeConflict     Code = "conflict"      // 409: the state refuses the request now; Reason says why
	CodeBadRequest   Code = "bad_request"   // 400: the request can never succeed as written
	CodeNotSupported Code = "not_supported" // 501: this backend has no such verb
	CodeUnavailable  Code = "unavailable"   // 503: something the call needs does not answer
)

// Reasons of a Conflict.
const (
	ReasonSuperseded     = "superseded"      // a newer execution replaced it
	ReasonFinished       = "finished"        // the execution ended
	ReasonAlreadyDecided = "already_decided" // the approval was decided already
	ReasonNotWaiting     = "not_waiting"     // nothing waits for an approval there
	ReasonNotRetryable   = "not_retryable"   // the stage did not fail or stop
	ReasonStageLocked    = "stage_locked"    // another execution runs in the stage
	ReasonOwnedElsewhere = "owned_elsewhere" // a live process drives the execution
	ReasonServiceBusy    = "service_busy"    // the service has an active deployment
	ReasonNotActive      = "not_active"      // the deployment is done
	ReasonNoOriginal     = "no_original"     // a first deployment: nothing to roll back to
	ReasonNotReady       = "not_ready"       // the deployment does not wait in its ready wait for a continue
)

// Error is a failed call of the control surface.
type Error struct {
	Code   Code
	Reason string // for CodeConflict: why (one of the Reason constants, or a backend's own)
	Err    error  // what happened, for people
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the error behind.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) (and the other sentinels) hold for every
// Error of that code.
func (e *Error) Is(target error) bool {
	c, ok := target.(codeError)
	return ok && Code(c) == e.Code
}

type codeError Code

func (c codeError) Error() string { return string(c) }

// Sentinels for errors.Is, one per code.
var (
	ErrNotFound     error = codeError(CodeNotFound)
	ErrConflict     error = codeError(CodeConflict)
	ErrBadRequest   error = codeError(CodeBadRequest)
	ErrNotSupported error = codeError(CodeNotSupported)
	ErrUnavailable  error = codeError(CodeUnavailable)
)

// Errorf returns an Error of code; Reason is set for conflicts with Refused.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Refused returns a Conflict for reason.
func Refused(reason string, err error) *Error {
	return &Error{Code: CodeConflict, Reason: reason, Err: err}
}

// CodeOf returns the code of err ("" when it is no Error).
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// ReasonOf returns why a Conflict was refused ("" for other errors).
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
