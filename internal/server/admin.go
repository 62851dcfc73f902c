package server

import (
	"errors"
	"net/http"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
)

func audit(s *Server, c *call) error {
	limit, err := queryLimit(c.r)
	if err != nil {
		return err
	}
	since, err := queryTime(c.r, "since")
	if err != nil {
		return err
	}
	before, err := queryInt(c.r, "before", 0)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	recs, err := s.opts.Access.Audit(c.r.Context(), access.AuditQuery{Who: q.Get("who"), Action: access.Verb(q.Get("action")),
		Result: access.Result(q.Get("result")), Since: since, BeforeSeq: before, Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, recs)
	return nil
}

func listTokens(s *Server, c *call) error {
	ts, err := s.opts.Access.Tokens(c.r.Context())
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ts)
	return nil
}

// TokenBody is the body of POST /api/v1/tokens.
type TokenBody struct {
	Name string `json:"name"`
	Role string `json:"role"`
	// ExpiresIn is a lifetime like 90d, 12h or 30m; "": never expires.
	ExpiresIn string `json:"expires_in,omitempty"`
}

// CreatedToken answers a token's creation: the only time the token is shown.
type CreatedToken struct {
	Token  string       `json:"token"`
	Record access.Token `json:"record"`
}

func createToken(s *Server, c *call) error {
	var b TokenBody
	if err := decodeBody(c.w, c.r, &b); err != nil {
		return err
	}
	c.target = b.Name
	role, err := access.ParseRole(b.Role)
	if err != nil {
		return badRequest("%v", err)
	}
	lifetime, err := parseLifetime(b.ExpiresIn)
	if err != nil {
		return err
	}
	c.note = "role " + string(role)
	token, rec, err := s.opts.Access.Create(c.r.Context(), b.Name, role, lifetime)
	if err != nil {
		// access.Create's own refusals of the name wrap nothing; a store's
		// failure wraps what failed.
		if !errors.Is(err, access.ErrNameTaken) && errors.Unwrap(err) == nil {
			return badRequest("%v", err)
		}
		return err
	}
	writeJSON(c.w, http.StatusCreated, CreatedToken{Token: token, Record: rec})
	return nil
}

func revokeToken(s *Server, c *call) error {
	t, err := s.opts.Access.Revoke(c.r.Context(), c.r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, t)
	return nil
}

func deliveries(s *Server, c *call) error {
	if s.opts.Deliveries == nil {
		return control.Errorf(control.CodeNotSupported, "this server sends no notifications")
	}
	limit, err := queryLimit(c.r)
	if err != nil {
		return err
	}
	if limit == 0 {
		limit = 20
	}
	ds, err := s.opts.Deliveries.RecentDeliveries(c.r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ds)
	return nil
}

func metrics(s *Server, c *call) error {
	if s.opts.Metrics == nil {
		return control.Errorf(control.CodeNotSupported, "this server exports no metrics")
	}
	s.opts.Metrics.ServeHTTP(c.w, c.r)
	return nil
}
