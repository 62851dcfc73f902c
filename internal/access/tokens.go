package access

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// TokenPrefix starts every token, so that secret scanners and people recognise one.
const TokenPrefix = "glt_"

// tokenBytes of crypto/rand make a token: 256 bits, beyond any guessing.
const tokenBytes = 32

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Token is a stored API token. The token itself is never stored: Hash is the
// SHA-256 of it. A slow password hash (bcrypt, argon2) buys nothing here: a token
// carries 256 random bits, so no dictionary or brute force reaches it through its
// hash, and a plain hash lets the server find a token by an indexed lookup
// instead of trying every row.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Hash    string    `json:"-"` // hex SHA-256 of the token
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: never
	Revoked time.Time `json:"revoked,omitzero"`
}

// Status says whether the token is usable at t.
func (t Token) Status(at time.Time) TokenStatus {
	switch {
	case !t.Revoked.IsZero():
		return TokenRevoked
	case !t.Expires.IsZero() && !at.Before(t.Expires):
		return TokenExpired
	}
	return TokenActive
}

// TokenStatus is a token's state.
type TokenStatus string

// Token statuses.
const (
	TokenActive  TokenStatus = "active"
	TokenExpired TokenStatus = "expired"
	TokenRevoked TokenStatus = "revoked"
)

// HashToken is the stored form of a presented token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Errors of authentication and authorization; the server maps them to 401 and
// 403.
var (
	ErrUnauthenticated = errors.New("unauthenticated")
	ErrForbidden       = errors.New("forbidden")
	ErrNameTaken       = errors.New("a token with this name is active")
	// ErrRevoked and ErrExpired say why a known token no longer authenticates:
	// errors.Is finds them in the error beside ErrUnauthenticated.
	ErrRevoked = errors.New("token revoked")
	ErrExpired = errors.New("token expired")
)

// refusal is an authentication refused for a reason errors.Is can tell apart,
// its message unchanged.
type refusal struct {
	msg    string
	reason error
}

func (e *refusal) Error() string   { return e.msg }
func (e *refusal) Unwrap() []error { return []error{ErrUnauthenticated, e.reason} }

func refused(reason error, format string, args ...any) error {
	return &refusal{msg: ErrUnauthenticated.Error() + ": " + fmt.Sprintf(format, args...), reason: reason}
}

// Store keeps tokens and the audit log. Implementations are safe for concurrent
// use; CreateToken fails with ErrNameTaken when an unrevoked token has the name.
type Store interface {
	CreateToken(ctx context.Context, t Token) error
	Tokens(ctx context.Context) ([]Token, error)
	// TokenByHash returns the token with that hash, or an error wrapping
	// ErrUnauthenticated.
	TokenByHash(ctx context.Context, hash string) (Token, error)
	// RevokeToken revokes the unrevoked token named name and returns it.
	RevokeToken(ctx context.Context, name string, at time.Time) (Token, error)
	AppendAudit(ctx context.Context, r AuditRecord) error
	Audit(ctx context.Context, q AuditQuery) ([]AuditRecord, error)
}

// Service is the access API the server and the CLI use.
type Service struct {
	Store Store
	Now   func() time.Time // default time.Now
	Rand  io.Reader        // default crypto/rand
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Create makes a token and returns it with its record; the token is shown once
// and never again. expiresIn 0 makes a token that does not expire.
func (s *Service) Create(ctx context.Context, name string, role Role, expiresIn time.Duration) (string, Token, error) {
	if !tokenName.MatchString(name) {
		return "", Token{}, fmt.Errorf("token name %q: use letters, digits, ., _ and - (at most 64, starting with a letter or digit)", name)
	}
	if !role.AtLeast(RoleViewer) {
		return "", Token{}, fmt.Errorf("unknown role %q (allowed: viewer, approver, operator, admin)", role)
	}
	if expiresIn < 0 {
		return "", Token{}, fmt.Errorf("token %s: expiry must be in the future", name)
	}
	secret, id, err := s.random()
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %s: %w", name, err)
	}
	t := Token{ID: id, Name: name, Role: role, Hash: HashToken(secret), Created: s.now().UTC()}
	if expiresIn > 0 {
		t.Expires = t.Created.Add(expiresIn)
	}
	if err := s.Store.CreateToken(ctx, t); err != nil {
		return "", Token{}, fmt.Errorf("create token %s: %w", name, err)
	}
	return secret, t, nil
}

// random returns a token and an id for its record (the id is not secret: it
// names the row in listings and the audit log without revealing the token).
func (s *Service) random() (token, id string, err error) {
	r := s.Rand
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, tokenBytes+6)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", "", fmt.Errorf("read random: %w", err)
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:tokenBytes]), "tok-" + hex.EncodeToString(b[tokenBytes:]), nil
}

// Principal is who a request acts as.
type Principal struct {
	TokenID string `json:"token_id"`
	Name    string `json:"name"`
	Role    Role   `json:"role"`
}

// Authenticate finds the token presented (a bearer token). The lookup is by
// SHA-256: an attacker timing it learns about hashes, not tokens, and the found
// hash is compared again in constant time. Unknown, revoked and expired tokens
// are refused with ErrUnauthenticated and a reason.
func (s *Service) Authenticate(ctx context.Context, presented string) (Principal, error) {
	presented = strings.TrimSpace(presented)
	if presented == "" {
		return Principal{}, fmt.Errorf("%w: no greenlight token presented (Authorization: Bearer glt_...)", ErrUnauthenticated)
	}
	if !strings.HasPrefix(presented, TokenPrefix) {
		return Principal{}, fmt.Errorf("%w: the token presented is not a greenlight token: those start with %s (greenlight tokens create NAME --role ROLE)", ErrUnauthenticated, TokenPrefix)
	}
	hash := HashToken(presented)
	t, err := s.Store.TokenByHash(ctx, hash)
	if err != nil {
		return Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(hash)) != 1 {
		return Principal{}, fmt.Errorf("%w: unknown token", ErrUnauthenticated)
	}
	switch t.Status(s.now()) {
	case TokenRevoked:
		return Principal{}, refused(ErrRevoked, "token %s was revoked at %s", t.Name, t.Revoked.UTC().Format(time.RFC3339))
	case TokenExpired:
		return Principal{}, refused(ErrExpired, "token %s expired at %s", t.Name, t.Expires.UTC().Format(time.RFC3339))
	}
	return Principal{TokenID: t.ID, Name: t.Name, Role: t.Role}, nil
}

// Authorize refuses a verb the principal's role does not allow, saying which
// role it needs.
func (s *Service) Authorize(p Principal, verb Verb) error {
	if Allowed(p.Role, verb) {
		return nil
	}
	return fmt.Errorf("%w: %s needs the %s role; token %s is %s", ErrForbidden, verb, verb.Required(), p.Name, p.Role)
}

// Tokens lists every token, revoked and expired ones included.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) { return s.Store.Tokens(ctx) }

// Revoke revokes the active token named name.
func (s *Service) Revoke(ctx context.Context, name string) (Token, error) {
	t, err := s.Store.RevokeToken(ctx, name, s.now().UTC())
	if err != nil {
		return Token{}, fmt.Errorf("revoke token %s: %w", name, err)
	}
	return t, nil
}
