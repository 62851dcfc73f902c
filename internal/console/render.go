package console

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"

	"github.com/greenlight-ci/greenlight/internal/control"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the templates/<name>.html files, each a page (its "content"
// and the fragments its live updates render) shown inside layout.html.
var pageNames = []string{"login", "error", "pipelines", "history", "execution", "action", "approval", "deployments", "deployment", "audit"}

// pages are the parsed templates, one set per page.
type pages struct {
	sets map[string]*template.Template
}

func parsePages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// fragment renders one named template of a page's set.
func (p *pages) fragment(page, name string, data any) (string, error) {
	var buf bytes.Buffer
	if err := p.sets[page].ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s of %s: %w", name, page, err)
	}
	return buf.String(), nil
}

// page is what the layout shows around every page's content.
type page struct {
	Title string
	Nav   string // the navigation entry to mark current
	User  *user  // nil on the login page
	CSRF  string // the secret every form of the page carries
	Flash *notice
	Live  string // the URL of the page's live updates ("" for none)
	Data  any
}

// IsAdmin reports whether the user may see the audit log.
func (p *page) IsAdmin() bool { return p.User != nil && p.User.Role == "admin" }

// render writes a whole page; the session's flash message shows once.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if u := userOf(r.Context()); u != nil {
		p.User, p.CSRF = u, u.session.csrf
		if p.Flash == nil {
			p.Flash = c.sessions.takeFlash(u.session)
		}
	}
	var buf bytes.Buffer
	if err := c.pages.sets[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.Error("render page", "page", name, "err", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorData is what the error page shows.
type errorData struct {
	Status  int
	Heading string
	Message string
	Back    string // where to go from here
}

// refuse shows why a request was refused, with its status.
func (c *Console) refuse(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	c.render(w, r, status, "error", &page{Title: heading, Data: errorData{Status: status, Heading: heading, Message: message, Back: backOf(r)}})
}

// backOf is the page a request came from when it is one of this console's
// ("/" otherwise): the way back from a refusal. Its path passes safeNext: the
// page //evil.example/x of this host would be a link to evil.example.
func backOf(r *http.Request) string {
	u, err := url.Parse(r.Referer())
	if err != nil || u.Host != r.Host || u.Path == "" {
		return "/"
	}
	return safeNext(u.RequestURI())
}

// notFound is the page of an unknown path.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	if u, _ := c.authenticate(r); u != nil {
		r = r.WithContext(withUser(r.Context(), u))
	}
	c.refuse(w, r, http.StatusNotFound, "Not found", "There is no page at "+r.URL.Path+".")
}

// fail shows a failed call of the backend: what it was refused for, or that it
// failed.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, heading := statusOf(err)
	if status == http.StatusInternalServerError {
		c.log.Error("console request failed", "path", r.URL.Path, "err", err)
	}
	c.refuse(w, r, status, heading, err.Error())
}

// statusOf maps the control surface's errors to HTTP, as the API does.
func statusOf(err error) (int, string) {
	switch control.CodeOf(err) {
	case control.CodeNotFound:
		return http.StatusNotFound, "Not found"
	case control.CodeConflict:
		return http.StatusConflict, "Refused"
	case control.CodeBadRequest:
		return http.StatusBadRequest, "Bad request"
	case control.CodeNotSupported:
		return http.StatusNotImplemented, "Not supported here"
	case control.CodeUnavailable:
		return http.StatusServiceUnavailable, "Unavailable"
	}
	if errors.Is(err, errForbidden) {
		return http.StatusForbidden, "Not allowed"
	}
	return http.StatusInternalServerError, "Something failed"
}

// staticHandler serves the embedded CSS and JavaScript; their URLs carry no
// version, so browsers check again after an hour.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}
