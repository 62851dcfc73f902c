package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/access"
)

// call is one request to a route, as its handler sees it.
type call struct {
	w http.ResponseWriter
	r *http.Request
	p access.Principal // who acts: the token's name and role
	// target and note go to the audit record of a mutating call; handlers
	// refine target once they have read the body.
	target string
	note   string
}

// guard runs a route's handler behind its checks: a valid token, a role that
// allows the route's verb, and, for a mutating verb, one audit record whatever
// the outcome.
func (s *Server) guard(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{w: w, r: r}
		if rt.target != nil {
			c.target = rt.target(r)
		}
		p, err := s.opts.Access.Authenticate(r.Context(), bearer(r))
		if err != nil {
			s.audit(rt, c, access.ResultUnauthenticated, err.Error())
			w.Header().Set("WWW-Authenticate", `Bearer realm="greenlight"`)
			writeError(w, unauthorized(err))
			return
		}
		c.p = p
		if err := s.opts.Access.Authorize(p, rt.Verb); err != nil {
			s.audit(rt, c, access.ResultForbidden, err.Error())
			writeError(w, err)
			return
		}
		if err := rt.handle(s, c); err != nil {
			s.audit(rt, c, access.ResultFailed, err.Error())
			s.fail(c, err)
			return
		}
		s.audit(rt, c, access.ResultSucceeded, c.note)
	})
}

// unauthorized keeps a failure to authenticate recognisable as one, whatever
// the access service wrapped.
func unauthorized(err error) error {
	if errors.Is(err, access.ErrUnauthenticated) {
		return err
	}
	return fmt.Errorf("%w: %w", access.ErrUnauthenticated, err)
}

// bearer returns the token of the Authorization header ("" without one).
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// fail answers a handler's error, and logs it when it is the server's own.
func (s *Server) fail(c *call, err error) {
	status := writeError(c.w, err)
	if status == http.StatusInternalServerError {
		s.log.Error("api call failed", "method", c.r.Method, "path", c.r.URL.Path, "who", c.p.Name, "err", err)
	}
}

// audit records a mutating call; a failure to record is logged, as the call
// has already happened (or been refused).
func (s *Server) audit(rt Route, c *call, result access.Result, message string) {
	if !rt.Verb.Mutating() {
		return
	}
	rec := access.AuditRecord{Who: c.p.Name, TokenID: c.p.TokenID, Role: c.p.Role, Action: rt.Verb, Target: c.target,
		RemoteAddr: c.r.RemoteAddr, Result: result, Message: message}
	if err := s.opts.Access.Record(context.WithoutCancel(c.r.Context()), rec); err != nil {
		s.log.Error("api audit record lost", "action", rt.Verb, "who", c.p.Name, "err", err)
	}
}
