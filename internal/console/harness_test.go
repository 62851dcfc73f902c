package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/console"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/control/local"
	"github.com/greenlight-ci/greenlight/internal/daemon"
	"github.com/greenlight-ci/greenlight/internal/event"
	"github.com/greenlight-ci/greenlight/internal/gobuild"
	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/store"
)

// binary is the greenlight executable the backends' agent and controller run
// from (this test binary is not greenlight).
var binary string

func TestMain(m *testing.M) {
	os.Exit(gobuild.Main(m, gobuild.Program{Pkg: "../../cmd/greenlight", Name: "greenlight", Path: &binary}))
}

// site is a console on loopback over the local backend of a git repository,
// with a token of every role.
type site struct {
	t       *testing.T
	repo    string
	backend control.Backend
	access  *access.Service
	server  *httptest.Server
	console *console.Console
	tokens  map[access.Role]string
}

// tokenName is the name of the test token of a role.
func tokenName(r access.Role) string { return "alice-" + string(r) }

// newSite commits files into a new repository and serves the console over
// its local backend; opts may change the console's options.
func newSite(t *testing.T, files map[string]string, message string, opts func(*console.Options)) *site {
	t.Helper()
	s := newRepo(t)
	s.write(files)
	s.git("init", "-q", "-b", "main")
	s.commit(message)
	s.serve(opts)
	return s
}

// newRepo is a site whose repository is still to be made.
func newRepo(t *testing.T) *site {
	return &site{t: t, repo: filepath.Join(t.TempDir(), "repo"), tokens: map[access.Role]string{}}
}

// serve opens the repository's state with the local backend, whose agent and
// controller run from the real binary (stopped when the test ends), makes a
// token of every role and serves the console on loopback.
func (s *site) serve(opts func(*console.Options)) {
	t := s.t
	t.Helper()
	def, err := manifest.Load(filepath.Join(s.repo, "greenlight.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(s.repo, ".greenlight")
	db, err := store.Open(context.Background(), filepath.Join(stateDir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	daemons := daemon.NewSite(stateDir, log).InstallFrom(binary)
	b := local.New(local.Options{Definition: def, StateDir: stateDir, DB: db, Site: daemons, Logger: log, PollInterval: 50 * time.Millisecond})
	t.Cleanup(func() {
		_ = b.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := daemons.Down(ctx); err != nil {
			t.Errorf("down: %v", err)
		}
		_ = db.Close()
	})
	s.backend, s.access = b, &access.Service{Store: store.Access{DB: db}}
	for _, role := range access.Roles {
		secret, _, err := s.access.Create(context.Background(), tokenName(role), role, 0)
		if err != nil {
			t.Fatal(err)
		}
		s.tokens[role] = secret
	}
	o := console.Options{Backend: b, Access: s.access, Logger: log, Poll: 100 * time.Millisecond}
	if opts != nil {
		opts(&o)
	}
	c, err := console.New(o)
	if err != nil {
		t.Fatal(err)
	}
	s.console, s.server = c, httptest.NewServer(c)
	t.Cleanup(s.server.Close)
}

func (s *site) write(files map[string]string) {
	s.t.Helper()
	for name, content := range files {
		path := filepath.Join(s.repo, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *site) git(args ...string) string {
	s.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", s.repo, "-c", "user.name=Ada Lovelace", "-c", "user.email=ada@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits everything and returns the commit id.
func (s *site) commit(message string) string {
	s.t.Helper()
	s.git("add", "-A")
	s.git("commit", "-q", "--allow-empty", "-m", message)
	return s.git("rev-parse", "HEAD")
}

// start starts an execution of revision and returns its id.
func (s *site) start(revision string) string {
	s.t.Helper()
	id, err := s.backend.StartExecution(context.Background(), control.StartRequest{Revision: revision, Who: "test"})
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// waitFor waits until an execution's state satisfies ok.
func (s *site) waitFor(id, what string, ok func(*control.Execution) bool) *control.Execution {
	s.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := s.backend.GetExecution(context.Background(), id)
		if err != nil {
			s.t.Fatal(err)
		}
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("execution %s: not %s after 2 minutes: %s at %s", id, what, v.Status, v.Stage)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitForApproval waits until an execution asks for its approval.
func (s *site) waitForApproval(id string) {
	s.t.Helper()
	found := false
	err := control.Tail(context.Background(), s.backend, event.Query{ExecutionID: id, Kinds: []event.Kind{event.KindApproval}}, 50*time.Millisecond,
		func(e event.Event) { found = found || e.Status == string(control.ApprovalNeeded) }, func() bool { return found })
	if err != nil {
		s.t.Fatal(err)
	}
}

// browser is an HTTP client with its own cookies, as one browser is.
type browser struct {
	t      *testing.T
	s      *site
	client *http.Client
	base   string // the console's URL ("": the site's plain-HTTP server)
}

func (b *browser) url(path string) string {
	if b.base != "" {
		return b.base + path
	}
	return b.s.server.URL + path
}

// browserOver is a browser that reaches the console over scheme: "http"
// straight; "tls" over TLS to the console itself (a second, TLS listener of
// the same handler); "proxy" over plain HTTP as a TLS reverse proxy in front
// passes the requests on, with X-Forwarded-Proto: https. It keeps cookies as a
// browser on https does (Secure ones included).
func (s *site) browserOver(scheme string) *browser {
	b := s.browser()
	switch scheme {
	case "tls":
		srv := httptest.NewTLSServer(s.console)
		s.t.Cleanup(srv.Close)
		b.base, b.client.Transport = srv.URL, srv.Client().Transport
	case "proxy":
		b.client.Jar, b.client.Transport = httpsJar{b.client.Jar}, forwardedHTTPS{http.DefaultTransport}
	}
	return b
}

// forwardedHTTPS sends requests as a TLS proxy forwards them.
type forwardedHTTPS struct{ next http.RoundTripper }

func (f forwardedHTTPS) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-Proto", "https")
	return f.next.RoundTrip(r)
}

// httpsJar keeps cookies as for the https URL the browser behind a TLS proxy
// sees.
type httpsJar struct{ jar http.CookieJar }

func asHTTPS(u *url.URL) *url.URL {
	v := *u
	v.Scheme = "https"
	return &v
}

func (j httpsJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.jar.SetCookies(asHTTPS(u), cs) }
func (j httpsJar) Cookies(u *url.URL) []*http.Cookie        { return j.jar.Cookies(asHTTPS(u)) }

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{t: s.t, s: s, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// signedIn returns a browser signed in with the token of role.
func (s *site) signedIn(role access.Role) *browser {
	b := s.browser()
	status, body, _ := b.post("/login", url.Values{"token": {s.tokens[role]}, "csrf": {b.csrf("/login")}, "next": {"/"}})
	if status != http.StatusSeeOther {
		s.t.Fatalf("sign in as %s: %d\n%s", role, status, body)
	}
	return b
}

// get fetches a path and returns the status and body.
func (b *browser) get(path string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	status, body, _ := b.do(req)
	return status, body
}

// post posts a form and returns the status, body and response headers.
func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	return b.postWith(path, form, nil)
}

func (b *browser) postWith(path string, form url.Values, header http.Header) (int, string, http.Header) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.url(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return b.do(req)
}

// do sends a request and returns the status, body and response headers.
func (b *browser) do(req *http.Request) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF secret the forms of the page at path carry.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	status, body := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if status != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF field:\n%s", path, status, body)
	}
	return m[1]
}
