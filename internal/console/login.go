package console

import (
	"net/http"
	"strings"
	"time"
)

// loginData is what the login page shows.
type loginData struct {
	Next    string
	Message string
}

// loginTTL is how long a login form stays valid.
const loginTTL = time.Hour

// loginPage shows the token form, with a fresh secret in a cookie and in the
// form: a login posted from elsewhere lacks one of them.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if u, _ := c.authenticate(r); u != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	why := signInReason(r.URL.Query().Get("why"))
	c.renderLogin(w, r, http.StatusOK, loginData{Next: next, Message: why.Text()})
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	secret, err := randomString()
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.setCookie(w, r, c.loginCookie(r), secret, loginTTL)
	c.render(w, r, status, "login", &page{Title: "Sign in", CSRF: secret, Data: d})
}

// login turns a token into a session cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, _ := r.Cookie(c.loginCookie(r))
	want := ""
	if ck != nil {
		want = ck.Value
	}
	if err := c.checkForm(r, want); err != nil {
		c.refuse(w, r, http.StatusForbidden, "Sign-in refused", err.Error())
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	token := strings.TrimSpace(r.PostForm.Get("token"))
	p, err := c.opts.Access.Authenticate(r.Context(), token)
	if err != nil {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr, "err", err)
		c.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Message: "That token does not sign in: " + err.Error()})
		return
	}
	id, _, err := c.sessions.open(token)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.log.Info("console sign-in", "who", p.Name, "role", p.Role, "remote", r.RemoteAddr)
	c.clearCookie(w, r, c.loginCookie(r))
	c.setCookie(w, r, c.sessionCookie(r), id, c.opts.SessionTTL)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	u := userOf(r.Context())
	if err := c.checkForm(r, u.session.csrf); err != nil {
		c.refuse(w, r, http.StatusForbidden, "Sign-out refused", err.Error())
		return
	}
	c.sessions.close(u.session)
	c.clearCookie(w, r, c.sessionCookie(r))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login destination on this console: a path, never
// another host ("//evil", "/\evil"). Browsers drop tabs and newlines anywhere
// in a URL and read a backslash as a slash, so a destination holding any of
// them ("/\t/evil" is //evil) is refused as well.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsFunc(next, unsafeInPath) {
		return "/"
	}
	return next
}

// unsafeInPath reports a character a browser removes from a URL or reads as a
// slash: control characters and the backslash.
func unsafeInPath(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }
