// Package remote is the control surface (control.Backend) of a running
// `greenlight serve`, over its HTTP API (internal/server): each verb is one
// request with the client's token, and the server's errors come back typed —
// a *control.Error with the code and reason the server's backend gave, or an
// *AuthError when the server refused the token. Who acts is the token's name:
// the server records it as who started, decided or commanded, whatever a
// request's Who says. Admin, beside it, is the client of the routes that are
// not control-surface verbs: the audit log, the tokens and the notification
// deliveries.
package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/server"
)

// Backend is the control surface of a server.
type Backend struct {
	base   string // the server's URL, without a trailing slash
	token  string
	client *http.Client
	once   sync.Once
}

var _ control.Backend = (*Backend)(nil)

// Option tunes a Backend.
type Option func(*Backend)

// WithHTTPClient sends the requests with c (default: a client of its own
// without a total timeout, as log follows stream).
func WithHTTPClient(c *http.Client) Option { return func(b *Backend) { b.client = c } }

// New returns the backend of the server at baseURL (http://127.0.0.1:8080),
// calling it with token.
func New(baseURL, token string, opts ...Option) *Backend {
	b := &Backend{base: strings.TrimSuffix(baseURL, "/"), token: token,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Close releases the client's idle connections; it is idempotent. What the
// server runs goes on.
func (b *Backend) Close() error {
	b.once.Do(b.client.CloseIdleConnections)
	return nil
}

// AuthError is the server refusing the token: 401 (no, unknown, expired or
// revoked token; errors.Is access.ErrUnauthenticated) or 403 (the token's role
// does not allow the call; errors.Is access.ErrForbidden).
type AuthError struct {
	Status  int
	Message string // the server's
}

// Error says the refusal once: "forbidden: audit.read needs the admin role;
// token bob is viewer", "unauthenticated: unknown token (--token or
// GREENLIGHT_TOKEN)". The server's message starts with the kind already
// (access's errors wrap ErrForbidden or ErrUnauthenticated); it is not repeated.
func (e *AuthError) Error() string {
	kind, hint := access.ErrUnauthenticated.Error(), " (--token or GREENLIGHT_TOKEN)"
	if e.Status == http.StatusForbidden {
		kind, hint = access.ErrForbidden.Error(), ""
	}
	msg := strings.TrimPrefix(e.Message, kind+": ")
	if msg == "" || msg == kind {
		return kind + hint
	}
	return kind + ": " + msg + hint
}

// Unwrap makes errors.Is(err, access.ErrUnauthenticated or ErrForbidden) hold.
func (e *AuthError) Unwrap() error {
	if e.Status == http.StatusForbidden {
		return access.ErrForbidden
	}
	return access.ErrUnauthenticated
}

// path joins an API path from escaped segments.
func path(segments ...string) string {
	var sb strings.Builder
	sb.WriteString("/api/v1")
	for _, s := range segments {
		sb.WriteString("/")
		sb.WriteString(url.PathEscape(s))
	}
	return sb.String()
}

// call sends one request: in (nil: no body) as JSON, out (nil: ignored) from
// a 2xx answer; an error answer becomes a typed error.
func (b *Backend) call(ctx context.Context, method, p string, q url.Values, in, out any) error {
	resp, err := b.send(ctx, method, p, q, in, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, p, err)
	}
	return nil
}

// send sends one request and returns a 2xx answer for the caller to read and
// close; any other answer becomes a typed error.
func (b *Backend) send(ctx context.Context, method, p string, q url.Values, in any, accept string) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, p, err)
		}
		body = bytes.NewReader(data)
	}
	u := b.base + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, p, err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Accept", accept)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, &control.Error{Code: control.CodeUnavailable, Err: fmt.Errorf("greenlight server %s: %w", b.base, err)}
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, errorOf(method, p, resp)
}

// errorOf turns an error answer back into the error the server's backend
// returned.
func errorOf(method, p string, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e server.ErrorBody
	if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" {
		// Not the API's answer (a proxy's, say): its status, and its body when
		// it says more than the status ("403 Forbidden: Forbidden" otherwise).
		msg := fmt.Sprintf("%s %s: %s", method, p, resp.Status)
		body := strings.TrimSpace(string(data))
		if body != "" && !strings.EqualFold(body, http.StatusText(resp.StatusCode)) && !strings.EqualFold(body, resp.Status) {
			msg += ": " + body
		}
		return errors.New(msg)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return &AuthError{Status: resp.StatusCode, Message: e.Error.Message}
	}
	switch code := control.Code(e.Error.Code); code {
	case control.CodeNotFound, control.CodeConflict, control.CodeBadRequest, control.CodeNotSupported, control.CodeUnavailable:
		return &control.Error{Code: code, Reason: e.Error.Reason, Err: errors.New(e.Error.Message)}
	}
	return fmt.Errorf("greenlight server: %s %s: %s", method, p, e.Error.Message)
}
