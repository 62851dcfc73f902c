package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
)

// maxSessions bounds the sessions kept in memory; the oldest go first.
const maxSessions = 10_000

// session is one login. It keeps the API token it was opened with, in memory
// only, so that every request authenticates it again: a revoked or expired
// token ends the session at once.
type session struct {
	key     string // SHA-256 of the cookie's value
	token   string
	csrf    string // the token every form of this session carries
	expires time.Time
	flash   *notice
}

// notice is a message shown once, on the next page.
type notice struct {
	Error bool
	Text  string
}

// sessions are the logins of this process, found by the hash of their cookie
// (a lookup whose timing says nothing about the cookie's value).
type sessions struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}}
}

// open starts a session for token and returns the cookie value naming it.
func (s *sessions) open(token string) (string, *session, error) {
	id, err := randomString()
	if err != nil {
		return "", nil, err
	}
	csrf, err := randomString()
	if err != nil {
		return "", nil, err
	}
	ss := &session{key: hashOf(id), token: token, csrf: csrf, expires: time.Now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.evict()
	s.m[ss.key] = ss
	return id, ss, nil
}

// evict drops expired sessions, and the oldest when there are too many.
func (s *sessions) evict() {
	now := time.Now()
	var oldest *session
	for k, ss := range s.m {
		if now.After(ss.expires) {
			delete(s.m, k)
		} else if oldest == nil || ss.expires.Before(oldest.expires) {
			oldest = ss
		}
	}
	if len(s.m) >= maxSessions && oldest != nil {
		delete(s.m, oldest.key)
	}
}

// find returns the live session the cookie value names.
func (s *sessions) find(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[hashOf(id)]
	if ss == nil || time.Now().After(ss.expires) {
		return nil
	}
	return ss
}

func (s *sessions) close(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, ss.key)
}

func (s *sessions) setFlash(ss *session, n notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.flash = &n
}

func (s *sessions) takeFlash(ss *session) *notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := ss.flash
	ss.flash = nil
	return n
}

func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// sameSecret compares two secrets in constant time; an empty one never matches.
func sameSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// secure reports whether r came over TLS: to this server (r.TLS), or to a
// reverse proxy in front of it that says so with X-Forwarded-Proto: https (as
// greenlight's router does on an HTTPS listener). Options.Secure makes every
// request count as one. It is decided per request, so one console serves a
// plain-HTTP listener and a TLS proxy at once. A client that claims https over
// plain HTTP only gets cookies its browser will not keep there.
func (c *Console) secure(r *http.Request) bool {
	if c.opts.Secure || r.TLS != nil {
		return true
	}
	// The first value is the scheme the client used, when several proxies
	// appended theirs.
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// Cookie names. Over TLS the cookies take the __Host- prefix: the browser then
// refuses them unless they are Secure, host-only and for every path. A request
// reads the cookie of its own scheme's name.
func (c *Console) sessionCookie(r *http.Request) string {
	if c.secure(r) {
		return "__Host-greenlight-session"
	}
	return "greenlight-session"
}

func (c *Console) loginCookie(r *http.Request) string {
	if c.secure(r) {
		return "__Host-greenlight-login"
	}
	return "greenlight-login"
}

// setCookie sets a cookie for r's scheme: Secure over TLS.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteStrictMode})
}

// user is who a request acts as: the principal of its session's token.
type user struct {
	access.Principal
	session *session
}

type userKey struct{}

func withUser(ctx context.Context, u *user) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

func userOf(ctx context.Context) *user {
	u, _ := ctx.Value(userKey{}).(*user)
	return u
}

// user wraps a handler that needs a login. A page asked for without one
// redirects to the login page, which comes back to it; anything else is 401.
func (c *Console) user(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, why := c.authenticate(r)
		if u == nil {
			if why != "" {
				c.clearCookie(w, r, c.sessionCookie(r))
			}
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				q := url.Values{"next": {r.URL.RequestURI()}}
				if why != "" {
					q.Set("why", string(why))
				}
				http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
				return
			}
			c.refuse(w, r, http.StatusUnauthorized, "Not signed in", strings.TrimSpace("Sign in with a token to do this. "+why.Text()))
			return
		}
		next(w, r.WithContext(withUser(r.Context(), u)))
	}
}

// signInReason says why the sign-in page is shown: a code in its URL
// (/login?why=revoked) that the page turns into one of its own sentences.
// The page never prints text from its URL: anyone can link to it.
type signInReason string

// The reasons a session ends.
const (
	reasonEnded   signInReason = "ended"   // the console forgot the session (restart, sign-out elsewhere, its time)
	reasonRevoked signInReason = "revoked" // its token was revoked
	reasonExpired signInReason = "expired" // its token expired
	reasonRefused signInReason = "refused" // its token no longer authenticates, for another reason
)

var reasonTexts = map[signInReason]string{
	reasonEnded:   "Your session ended; sign in again.",
	reasonRevoked: "The token you signed in with was revoked; sign in with another.",
	reasonExpired: "The token you signed in with expired; sign in with another.",
	reasonRefused: "The token you signed in with no longer signs in; sign in again.",
}

// Text is the reason's sentence; "" for a code the console does not give.
func (r signInReason) Text() string { return reasonTexts[r] }

// authenticate finds the request's session and authenticates its token again;
// why says what ended a session that no longer holds.
func (c *Console) authenticate(r *http.Request) (*user, signInReason) {
	ck, err := r.Cookie(c.sessionCookie(r))
	if err != nil {
		return nil, ""
	}
	ss := c.sessions.find(ck.Value)
	if ss == nil {
		return nil, reasonEnded
	}
	p, err := c.opts.Access.Authenticate(r.Context(), ss.token)
	if err != nil {
		c.sessions.close(ss)
		c.log.Info("console session ended: its token no longer signs in", "remote", r.RemoteAddr, "err", err)
		switch {
		case errors.Is(err, access.ErrRevoked):
			return nil, reasonRevoked
		case errors.Is(err, access.ErrExpired):
			return nil, reasonExpired
		}
		return nil, reasonRefused
	}
	return &user{Principal: p, session: ss}, ""
}

// errCSRF is why a form was refused: it did not come from a page of this
// console, as far as the console can tell.
var errCSRF = errors.New("this form did not come from a page of this console (its CSRF token is missing or stale, or it was posted from another site); reload the page and try again")

// checkForm parses a posted form and checks that it came from one of this
// console's pages: same origin as far as the browser says, and carrying the
// secret (want) that page put in it.
func (c *Console) checkForm(r *http.Request, want string) error {
	if err := readForm(r); err != nil {
		return err
	}
	if err := c.origin.Check(r); err != nil {
		return errCSRF
	}
	if !sameSecret(r.PostForm.Get("csrf"), want) {
		return errCSRF
	}
	return nil
}

// maxForm bounds what a form may post (a comment, a few fields).
const maxForm = 64 << 10

// readForm parses a posted form once, at most maxForm bytes of it.
func readForm(r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return errors.New("the form could not be read: " + err.Error())
	}
	return nil
}
