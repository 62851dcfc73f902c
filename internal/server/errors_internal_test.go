package server

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/store"
)

func TestErrorMapping(t *testing.T) {
	for _, c := range []struct {
		err          error
		status       int
		code, reason string
	}{
		{control.Errorf(control.CodeNotFound, "no execution x"), http.StatusNotFound, "not_found", ""},
		{fmt.Errorf("decide: %w", control.Refused(control.ReasonSuperseded, errors.New("superseded by y"))), http.StatusConflict, "conflict", "superseded"},
		{control.Errorf(control.CodeBadRequest, "bad"), http.StatusBadRequest, "bad_request", ""},
		{control.Errorf(control.CodeNotSupported, "no"), http.StatusNotImplemented, "not_supported", ""},
		{control.Errorf(control.CodeUnavailable, "agent down"), http.StatusServiceUnavailable, "unavailable", ""},
		{fmt.Errorf("%w: token x was revoked", access.ErrUnauthenticated), http.StatusUnauthorized, "unauthorized", ""},
		{fmt.Errorf("%w: needs admin", access.ErrForbidden), http.StatusForbidden, "forbidden", ""},
		{fmt.Errorf("revoke token x: %w", store.ErrNotFound), http.StatusNotFound, "not_found", ""},
		{fmt.Errorf("create token x: %w", access.ErrNameTaken), http.StatusConflict, "conflict", "name_taken"},
		{errors.New("disk full"), http.StatusInternalServerError, "internal", ""},
	} {
		status, d := errorOf(c.err)
		if status != c.status || d.Code != c.code || d.Reason != c.reason || d.Message != c.err.Error() {
			t.Errorf("%v: %d %+v; want %d %s %q", c.err, status, d, c.status, c.code, c.reason)
		}
	}
}

func TestParseLifetime(t *testing.T) {
	for in, want := range map[string]string{"": "0s", "90d": "2160h0m0s", "12h": "12h0m0s", "30m": "30m0s"} {
		d, err := parseLifetime(in)
		if err != nil || d.String() != want {
			t.Errorf("parseLifetime(%q) = %s, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"0d", "-1h", "x", "d", "1.5d"} {
		if _, err := parseLifetime(bad); control.CodeOf(err) != control.CodeBadRequest {
			t.Errorf("parseLifetime(%q): %v", bad, err)
		}
	}
}
