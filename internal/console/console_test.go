package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/console"
	"github.com/greenlight-ci/greenlight/internal/control"
)

// shop is a small pipeline: Source, Build (a CodeBuild project that logs HTML
// and reports JUnit tests, failing ones when the commit has a file FAIL, and
// Cobertura coverage), Approval.
var shop = map[string]string{
	"greenlight.yaml": `version: 1
pipeline:
  name: shop
  execution_mode: SUPERSEDED
  stages:
    - name: Source
      actions:
        - {name: Source, category: Source, provider: Git, output_artifacts: [src], configuration: {Repository: .}}
    - name: Build
      actions:
        - {name: Build, category: Build, provider: CodeBuild, input_artifacts: [src], configuration: {ProjectName: unit}}
    - name: Approval
      actions:
        - name: Review
          category: Approval
          provider: Manual
          configuration: {CustomData: "Check <b>staging</b> first", ExternalEntityLink: "http://127.0.0.1:9/staging"}
build_projects:
  unit:
    buildspec: buildspec.yml
`,
	"buildspec.yml": `version: 0.2
phases:
  build:
    commands:
      - echo '<script>alert("log")</script> building'
      - if [ -f SLOW ]; then for i in 1 2 3 4 5; do echo "tick $i <i>"; sleep 0.4; done; fi
      - mkdir -p reports
      - if [ -f FAIL ]; then cp fail.xml reports/unit.xml; else cp pass.xml reports/unit.xml; fi
      - cp coverage.xml reports/coverage.xml
reports:
  unit:
    files: [reports/unit.xml]
    file-format: JUNITXML
  coverage:
    files: [reports/coverage.xml]
    file-format: COBERTURAXML
`,
	"pass.xml": `<testsuite name="shop" tests="2"><testcase classname="shop" name="TestList" time="0.010"/><testcase classname="shop" name="TestPay" time="0.020"/></testsuite>`,
	"fail.xml": `<testsuite name="shop" tests="2"><testcase classname="shop" name="TestList" time="0.010"/>` +
		`<testcase classname="shop" name="TestPay" time="0.250"><failure message="&lt;img src=x onerror=alert(1)&gt; pay failed">` +
		`orders_test.go:42: want 200, got 500</failure></testcase></testsuite>`,
	"coverage.xml": coverage(3, 4),
}

// coverage is a Cobertura report of package shop/api with covered of total
// lines covered.
func coverage(covered, total int) string {
	var lines strings.Builder
	for i := range total {
		hits := 0
		if i < covered {
			hits = 1
		}
		lines.WriteString(`<line number="` + strconv.Itoa(i+1) + `" hits="` + strconv.Itoa(hits) + `"/>`)
	}
	return `<?xml version="1.0"?><coverage version="1" timestamp="0"><packages><package name="shop/api"><classes>` +
		`<class name="api" filename="api/api.go"><lines>` + lines.String() + `</lines></class></classes></package></packages></coverage>`
}

// TestConsoleOverHTTP drives the console with an HTTP client, as a browser
// without JavaScript would, over a real local backend; the subtests share its
// executions and run in order.
func TestConsoleOverHTTP(t *testing.T) {
	s := newSite(t, shop, "first <b>bold</b> commit", nil)
	h := &httpSuite{s: s}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T)
	}{
		{"SignInSetsAStrictHttpOnlyCookie", h.signIn},
		{"PagesNeedASignIn", h.pagesNeedSignIn},
		{"AViewerMayNotApprove", h.viewerMayNotApprove},
		{"FormsWithoutTheirCSRFTokenAreRefused", h.csrfRefused},
		{"AnApproverApprovesWithAComment", h.approve},
		{"FailedTestsFirstWithFileLineAndCoverageThatFell", h.failedTests},
		{"HTMLInCommitsLogsAndTestsIsEscaped", h.escaped},
		{"AnOperatorRetriesAFailedStage", h.retry},
		{"ADecisionForASupersededExecutionIsRefused", h.superseded},
		{"TheExecutionPageIsLiveUntilTheEnd", h.live},
		{"UnknownIDsGiveA404Page", h.notFound},
		{"TheAuditLogIsTheAdmins", h.audit},
		{"TheLogStreamsWhileTheActionRuns", h.logStream},
	} {
		if !t.Run(tc.name, tc.run) {
			return
		}
	}
}

type httpSuite struct {
	s        *site
	approved string // executed to the end with an approval
	failed   string // failed at Build
	queued   []string
}

func (h *httpSuite) signIn(t *testing.T) {
	b := h.s.browser()
	status, body := b.get("/")
	if status != http.StatusSeeOther {
		t.Fatalf("GET / signed out: %d, want a redirect to the sign-in page\n%s", status, body)
	}
	csrf := b.csrf("/login")
	status, body, _ = b.post("/login", url.Values{"token": {"glt_wrong"}, "csrf": {csrf}})
	if status != http.StatusUnauthorized || !strings.Contains(body, "does not sign in") {
		t.Fatalf("a wrong token: %d\n%s", status, body)
	}
	status, body, _ = b.post("/login", url.Values{"token": {h.s.tokens[access.RoleViewer]}})
	if status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
		t.Fatalf("a sign-in without the form's secret: %d\n%s", status, body)
	}
	status, _, header := b.post("/login", url.Values{"token": {h.s.tokens[access.RoleViewer]}, "csrf": {b.csrf("/login")}, "next": {"//evil.example/"}})
	cookie := sessionCookie(header)
	if status != http.StatusSeeOther || header.Get("Location") != "/" || cookie == nil {
		t.Fatalf("sign-in: %d to %q, cookies %v", status, header.Get("Location"), header.Values("Set-Cookie"))
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, not Secure on plain HTTP", cookie)
	}
	if status, body := b.get("/"); status != http.StatusOK || !strings.Contains(body, "alice-viewer") {
		t.Fatalf("signed in, GET /: %d\n%s", status, body)
	}
	if status, _, header := b.post("/logout", url.Values{"csrf": {b.csrf("/")}}); status != http.StatusSeeOther || header.Get("Location") != "/login" {
		t.Fatalf("sign out: %d to %q", status, header.Get("Location"))
	}
	if status, _ = b.get("/"); status != http.StatusSeeOther {
		t.Fatalf("after signing out, GET /: %d, want a redirect to sign in", status)
	}
}

func sessionCookie(h http.Header) *http.Cookie {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if strings.Contains(c.Name, "greenlight-session") && c.Value != "" {
			return c
		}
	}
	return nil
}

func (h *httpSuite) pagesNeedSignIn(t *testing.T) {
	b := h.s.browser()
	for _, path := range []string{"/", "/deployments", "/audit", "/executions/x"} {
		if status, _ := b.get(path); status != http.StatusSeeOther {
			t.Errorf("GET %s signed out: %d, want 303 to the sign-in page", path, status)
		}
	}
	if status, body, _ := b.post("/pipelines/shop/executions", url.Values{}); status != http.StatusUnauthorized || !strings.Contains(body, "Not signed in") {
		t.Errorf("POST signed out: %d\n%s", status, body)
	}
	// A token revoked while its session lasts ends the session at once.
	v := h.s.signedIn(access.RoleViewer)
	if _, err := h.s.access.Revoke(context.Background(), tokenName(access.RoleViewer)); err != nil {
		t.Fatal(err)
	}
	if status, _ := v.get("/"); status != http.StatusSeeOther {
		t.Errorf("GET / after the token was revoked: %d, want 303 to the sign-in page", status)
	}
	secret, _, err := h.s.access.Create(context.Background(), tokenName(access.RoleViewer), access.RoleViewer, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.s.tokens[access.RoleViewer] = secret
}

func approvalPath(id string) string { return "/executions/" + id + "/approvals/Approval/Review" }

func (h *httpSuite) viewerMayNotApprove(t *testing.T) {
	h.approved = h.s.start("")
	h.s.waitForApproval(h.approved)
	v := h.s.signedIn(access.RoleViewer)
	status, body := v.get(approvalPath(h.approved))
	if status != http.StatusOK || strings.Contains(body, `value="approve"`) || !strings.Contains(body, "Your role may not decide") {
		t.Fatalf("approval page for a viewer: %d\n%s", status, body)
	}
	if !strings.Contains(body, "Check &lt;b&gt;staging&lt;/b&gt; first") || !strings.Contains(body, `href="http://127.0.0.1:9/staging"`) {
		t.Errorf("approval page does not show CustomData (escaped) and the ExternalEntityLink:\n%s", body)
	}
	status, body, _ = v.post(approvalPath(h.approved), url.Values{"csrf": {v.csrf("/")}, "decision": {"approve"}})
	if status != http.StatusForbidden || !strings.Contains(body, "approvals.approve needs the approver role") {
		t.Fatalf("a viewer approving: %d\n%s", status, body)
	}
	wantAudit(t, h.s, tokenName(access.RoleViewer), access.VerbApprove, access.ResultForbidden, "needs the approver role")
}

func (h *httpSuite) csrfRefused(t *testing.T) {
	a := h.s.signedIn(access.RoleApprover)
	status, body, _ := a.post(approvalPath(h.approved), url.Values{"decision": {"approve"}})
	if status != http.StatusForbidden || !strings.Contains(body, "CSRF token is missing") {
		t.Fatalf("approve without the CSRF token: %d\n%s", status, body)
	}
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.example"}}
	status, body, _ = a.postWith(approvalPath(h.approved), url.Values{"csrf": {a.csrf("/")}, "decision": {"approve"}}, cross)
	if status != http.StatusForbidden || !strings.Contains(body, "posted from another site") {
		t.Fatalf("approve from another site with the right token: %d\n%s", status, body)
	}
	wantAudit(t, h.s, tokenName(access.RoleApprover), access.VerbApprove, access.ResultForbidden, "CSRF")
	if v := h.s.waitFor(h.approved, "waiting", func(*control.Execution) bool { return true }); v.Status != control.StatusInProgress {
		t.Fatalf("a refused form changed the execution: %s", v.Status)
	}
}

func (h *httpSuite) approve(t *testing.T) {
	a := h.s.signedIn(access.RoleApprover)
	status, body := a.get(approvalPath(h.approved))
	if status != http.StatusOK || !strings.Contains(body, `value="approve"`) || !strings.Contains(body, "first &lt;b&gt;bold&lt;/b&gt; commit") {
		t.Fatalf("approval page for an approver: %d\n%s", status, body)
	}
	form := url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}, "decision": {"approve"}, "comment": {"staging <i>looks</i> good"}}
	status, _, header := a.post(approvalPath(h.approved), form)
	if status != http.StatusSeeOther || header.Get("Location") != "/executions/"+h.approved {
		t.Fatalf("approve: %d to %q", status, header.Get("Location"))
	}
	_, page := a.get("/executions/" + h.approved)
	if !strings.Contains(page, "Approved by alice-approver: &#34;staging &lt;i&gt;looks&lt;/i&gt; good&#34;.") {
		t.Errorf("the execution page does not show the decision:\n%s", page)
	}
	v := h.s.waitFor(h.approved, "finished", func(v *control.Execution) bool { return v.Status.Final() })
	if v.Status != control.StatusSucceeded {
		t.Fatalf("approved execution ended %s", v.Status)
	}
	wantAudit(t, h.s, tokenName(access.RoleApprover), access.VerbApprove, access.ResultSucceeded, "staging <i>looks</i> good")
}

func (h *httpSuite) failedTests(t *testing.T) {
	h.s.write(map[string]string{"FAIL": "1", "coverage.xml": coverage(1, 4)})
	h.s.commit("break <b>pay</b>")
	h.failed = h.s.start("")
	h.s.waitFor(h.failed, "failed", func(v *control.Execution) bool { return v.Status.Final() })
	v := h.s.signedIn(access.RoleViewer)
	status, body := v.get("/executions/" + h.failed + "/actions/Build/Build")
	if status != http.StatusOK {
		t.Fatalf("action page: %d\n%s", status, body)
	}
	failedAt, passedAt := strings.Index(body, "TestPay"), strings.Index(body, "TestList")
	if failedAt < 0 || passedAt < 0 || failedAt > passedAt {
		t.Errorf("the failed test (at %d) does not come before the passing one (at %d)", failedAt, passedAt)
	}
	for _, want := range []string{`<code class="loc">orders_test.go:42</code>`, "&lt;img src=x onerror=alert(1)&gt; pay failed",
		"<strong>1</strong> failed", "<strong>25.0%</strong> of lines", "was 75.0% at the last success", "fell -50.0%", h.approved[:8]} {
		if !strings.Contains(body, want) {
			t.Errorf("action page lacks %q", want)
		}
	}
}

func (h *httpSuite) escaped(t *testing.T) {
	v := h.s.signedIn(access.RoleViewer)
	pages := map[string][]string{
		"/": {"break &lt;b&gt;pay&lt;/b&gt;", "by Ada Lovelace"},
		"/executions/" + h.failed + "/actions/Build/Build": {"&lt;script&gt;alert(&#34;log&#34;)&lt;/script&gt; building"},
		"/executions/" + h.failed:                          {"break &lt;b&gt;pay&lt;/b&gt;"},
	}
	for path, wants := range pages {
		status, body := v.get(path)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, status)
		}
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %q", path, want)
			}
		}
		for _, raw := range []string{"<b>pay</b>", "<script>alert", "<img src=x"} {
			if strings.Contains(body, raw) {
				t.Errorf("GET %s has %q unescaped", path, raw)
			}
		}
	}
}

func (h *httpSuite) retry(t *testing.T) {
	path := "/executions/" + h.failed
	v := h.s.signedIn(access.RoleViewer)
	if _, body := v.get(path); strings.Contains(body, "Retry Build") {
		t.Error("a viewer is offered Retry")
	}
	status, body, _ := v.post(path+"/retry", url.Values{"csrf": {v.csrf("/")}, "stage": {"Build"}})
	if status != http.StatusForbidden || !strings.Contains(body, "executions.retry needs the operator role") {
		t.Fatalf("a viewer retrying: %d\n%s", status, body)
	}
	op := h.s.signedIn(access.RoleOperator)
	_, body = op.get(path)
	if !strings.Contains(body, "Retry Build") {
		t.Fatalf("an operator is not offered Retry of the failed stage:\n%s", body)
	}
	status, _, _ = op.post(path+"/retry", url.Values{"csrf": {csrfField.FindStringSubmatch(body)[1]}, "stage": {"Build"}})
	if status != http.StatusSeeOther {
		t.Fatalf("retry: %d", status)
	}
	h.s.waitFor(h.failed, "retried and failed again", func(v *control.Execution) bool {
		return v.Status.Final() && v.Stages[1].Attempt == 2
	})
	if _, body := op.get("/"); !strings.Contains(body, "manual, retry") {
		t.Errorf("the pipelines page does not show the retry:\n%s", body)
	}
	status, body, _ = op.post(path+"/retry", url.Values{"csrf": {op.csrf("/")}, "stage": {"Source"}})
	if status != http.StatusConflict || !strings.Contains(body, "Only a failed or stopped stage") {
		t.Errorf("retry of a stage that succeeded: %d\n%s", status, body)
	}
}

func (h *httpSuite) superseded(t *testing.T) {
	h.s.git("rm", "-q", "FAIL")
	h.s.commit("fix pay")
	first := h.s.start("") // runs into the approval and holds it
	h.s.waitForApproval(first)
	second := h.s.start("")
	h.s.waitFor(second, "waiting in front of the approval", func(v *control.Execution) bool { return v.Waiting && v.Stage == "Approval" })
	third := h.s.start("")
	h.s.waitFor(second, "superseded", func(v *control.Execution) bool { return v.Status == control.StatusSuperseded })
	h.queued = []string{first, third}
	a := h.s.signedIn(access.RoleApprover)
	status, body, _ := a.post(approvalPath(second), url.Values{"csrf": {a.csrf("/")}, "decision": {"approve"}, "comment": {"late"}})
	if status != http.StatusConflict || !strings.Contains(body, "A newer execution superseded this one") {
		t.Fatalf("approving a superseded execution: %d\n%s", status, body)
	}
	wantAudit(t, h.s, tokenName(access.RoleApprover), access.VerbApprove, access.ResultFailed, "superseded")
	if _, body := a.get(approvalPath(second)); !strings.Contains(body, "A newer execution superseded this one") || strings.Contains(body, `value="approve"`) {
		t.Errorf("the approval page of a superseded execution:\n%s", body)
	}
}

// live follows the execution page's event stream of the queued execution
// while the one ahead of it is rejected and it is stopped.
func (h *httpSuite) live(t *testing.T) {
	first, third := h.queued[0], h.queued[1]
	op := h.s.signedIn(access.RoleOperator)
	status, page := op.get("/executions/" + third)
	live := regexpFind(`data-live="([^"]+)"`, page)
	if status != http.StatusOK || live == "" {
		t.Fatalf("execution page of a running execution: %d, no data-live\n%s", status, page)
	}
	events := op.stream(strings.ReplaceAll(live, "&amp;", "&"))
	status, _, _ = op.post(approvalPath(first), url.Values{"csrf": {op.csrf("/")}, "decision": {"reject"}, "comment": {"no"}})
	if status != http.StatusSeeOther {
		t.Fatalf("reject: %d", status)
	}
	h.s.waitForApproval(third)
	waitEvent(t, events, "patch", `Needed`)
	status, body, _ := op.post("/executions/"+third+"/stop", url.Values{"csrf": {op.csrf("/")}, "mode": {"abandon"}, "reason": {"enough"}})
	if status != http.StatusSeeOther {
		t.Fatalf("stop: %d\n%s", status, body)
	}
	waitEvent(t, events, "patch", `Stopped`)
	waitEvent(t, events, "end", "")
	wantAudit(t, h.s, tokenName(access.RoleOperator), access.VerbStopExecution, access.ResultSucceeded, "enough")
}

func (h *httpSuite) notFound(t *testing.T) {
	v := h.s.signedIn(access.RoleViewer)
	for _, path := range []string{"/executions/00000000-0000-0000-0000-000000000000", "/deployments/d-NOSUCHONE",
		"/executions/" + h.approved + "/actions/Build/Nope", "/executions/" + h.approved + "/approvals/Build/Build", "/no/such/page"} {
		status, body := v.get(path)
		if status != http.StatusNotFound || !strings.Contains(body, "<h1>Not found</h1>") || !strings.Contains(body, `<main id="main"`) {
			t.Errorf("GET %s: %d, want the 404 page\n%s", path, status, body)
		}
	}
}

func (h *httpSuite) audit(t *testing.T) {
	v := h.s.signedIn(access.RoleViewer)
	if status, body := v.get("/audit"); status != http.StatusForbidden || !strings.Contains(body, "audit.read needs the admin role") {
		t.Errorf("a viewer reads the audit log: %d\n%s", status, body)
	}
	if _, body := v.get("/"); strings.Contains(body, `href="/audit"`) {
		t.Error("a viewer is shown the audit link")
	}
	admin := h.s.signedIn(access.RoleAdmin)
	status, body := admin.get("/audit?who=" + tokenName(access.RoleApprover))
	if status != http.StatusOK || !strings.Contains(body, "approvals.approve") || strings.Contains(body, tokenName(access.RoleOperator)) {
		t.Errorf("the audit log filtered on the approver: %d\n%s", status, body)
	}
}

func (h *httpSuite) logStream(t *testing.T) {
	h.s.write(map[string]string{"SLOW": "1"})
	h.s.commit("slow build")
	id := h.s.start("")
	h.s.waitFor(id, "building", func(v *control.Execution) bool { return v.Stages[1].Actions[0].Status == control.StatusInProgress })
	v := h.s.signedIn(access.RoleViewer)
	status, page := v.get("/executions/" + id + "/actions/Build/Build")
	live := strings.ReplaceAll(regexpFind(`data-live="([^"]+)"`, page), "&amp;", "&")
	if status != http.StatusOK || !strings.Contains(live, "offset=") {
		t.Fatalf("action page of a running build: %d, live %q", status, live)
	}
	if strings.Contains(page, "tick 5") {
		t.Fatal("the build ended before its page was read: nothing left to stream")
	}
	events := v.stream(live)
	waitEvent(t, events, "append", "tick 5 <i>") // as text: the page adds it as a text node
	waitEvent(t, events, "patch", "Succeeded")
}

// wantAudit fails unless the newest audit record of who is verb with result and
// a message holding msg.
func wantAudit(t *testing.T, s *site, who string, verb access.Verb, result access.Result, msg string) {
	t.Helper()
	recs, err := s.access.Audit(context.Background(), access.AuditQuery{Who: who, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Action != verb || recs[0].Result != result || !strings.Contains(recs[0].Message, msg) ||
		recs[0].Role == "" || recs[0].RemoteAddr == "" || recs[0].Target == "" {
		t.Errorf("newest audit record of %s: %+v, want %s %s with %q", who, recs, verb, result, msg)
	}
}

func regexpFind(pattern, s string) string {
	if m := regexp.MustCompile(pattern).FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// sse is one server-sent event.
type sse struct{ name, data string }

// stream opens an event stream and delivers its events on a channel, closed
// when the stream ends.
func (b *browser) stream(path string) <-chan sse {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.url(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	client := *b.client
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b.t.Fatalf("GET %s: %v %v", path, resp, err)
	}
	out := make(chan sse, 100)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				out <- ev
				ev = sse{}
			}
		}
	}()
	return out
}

// waitEvent waits for an event named name whose data (decoded) holds text.
func waitEvent(t *testing.T, events <-chan sse, name, text string) sse {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("the stream ended before a %q event with %q", name, text)
			}
			var decoded any
			_ = json.Unmarshal([]byte(ev.data), &decoded)
			if ev.name == name && strings.Contains(fmt.Sprint(decoded), text) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %q event with %q within a minute", name, text)
		}
	}
}

// TestCloseEndsLiveStreams: a server shutting down gracefully does not wait
// for the console's event streams.
func TestCloseEndsLiveStreams(t *testing.T) {
	s := newSite(t, shop, "close", nil)
	id := s.start("")
	s.waitForApproval(id) // the execution waits: its page stays live
	events := s.signedIn(access.RoleViewer).stream("/executions/" + id + "/live")
	if err := s.console.Close(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, open := <-events:
			if !open {
				return
			}
		case <-timeout:
			t.Fatal("the stream is still open 10 s after Close")
		}
	}
}

// TestSecureConsoleNamesItsCookieForHostsOnly: behind TLS both cookies are
// Secure and __Host- prefixed (a plain-HTTP client carries them by hand here).
func TestSecureConsoleNamesItsCookieForHostsOnly(t *testing.T) {
	s := newSite(t, shop, "secure", func(o *console.Options) { o.Secure = true })
	resp, err := http.Get(s.server.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	login := cookieNamed(resp.Cookies(), "__Host-greenlight-login")
	if login == nil || !login.Secure {
		t.Fatalf("login cookie behind TLS: %v", resp.Header.Values("Set-Cookie"))
	}
	form := url.Values{"token": {s.tokens[access.RoleViewer]}, "csrf": {csrfField.FindStringSubmatch(string(page))[1]}}
	req, _ := http.NewRequest(http.MethodPost, s.server.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(login)
	resp, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	found := cookieNamed(resp.Cookies(), "__Host-greenlight-session")
	if resp.StatusCode != http.StatusSeeOther || found == nil || !found.Secure || !found.HttpOnly ||
		found.SameSite != http.SameSiteStrictMode || found.Domain != "" || found.Path != "/" {
		t.Fatalf("sign-in behind TLS: %d, cookies %v", resp.StatusCode, resp.Header.Values("Set-Cookie"))
	}
}

func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	return nil
}

// TestCookiesFollowTheRequestsScheme: without Options.Secure (greenlight
// serve's case), a request that came over TLS, to the console itself or
// through a proxy that says X-Forwarded-Proto: https, gets Secure cookies
// named with the __Host- prefix, and a plain-HTTP one plain cookies. In each
// scheme sign-in, pages, CSRF, sign-out and revocation work; a request reads
// only its own scheme's cookie.
func TestCookiesFollowTheRequestsScheme(t *testing.T) {
	s := newSite(t, shop, "schemes", nil)
	for _, c := range []struct {
		scheme, prefix string
		secure         bool
	}{{"http", "", false}, {"tls", "__Host-", true}, {"proxy", "__Host-", true}} {
		t.Run(c.scheme, func(t *testing.T) {
			name := "scheme-" + c.scheme
			token, _, err := s.access.Create(context.Background(), name, access.RoleViewer, 0)
			if err != nil {
				t.Fatal(err)
			}
			b := s.browserOver(c.scheme)
			wantCookie := func(what string, h http.Header, cookie string, set bool) *http.Cookie {
				t.Helper()
				for _, ck := range (&http.Response{Header: h}).Cookies() {
					if ck.Name == cookie && (ck.Value != "") == set {
						if ck.Secure != c.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
							t.Errorf("%s: cookie %s %+v, want Secure=%v, HttpOnly, SameSite=Strict, Path=/, no Domain", what, cookie, ck, c.secure)
						}
						return ck
					}
				}
				t.Fatalf("%s: no cookie %s (set %v) in %v", what, cookie, set, h.Values("Set-Cookie"))
				return nil
			}
			signIn := func() *http.Cookie {
				t.Helper()
				req, _ := http.NewRequest(http.MethodGet, b.url("/login"), nil)
				status, page, h := b.do(req)
				wantCookie("the sign-in page", h, c.prefix+"greenlight-login", true)
				m := csrfField.FindStringSubmatch(page)
				if status != http.StatusOK || m == nil {
					t.Fatalf("the sign-in page: %d\n%s", status, page)
				}
				status, body, h := b.post("/login", url.Values{"token": {token}, "csrf": {m[1]}, "next": {"/"}})
				if status != http.StatusSeeOther || h.Get("Location") != "/" {
					t.Fatalf("sign-in: %d to %q\n%s", status, h.Get("Location"), body)
				}
				wantCookie("sign-in", h, c.prefix+"greenlight-login", false)
				return wantCookie("sign-in", h, c.prefix+"greenlight-session", true)
			}

			session := signIn()
			if status, body := b.get("/"); status != http.StatusOK || !strings.Contains(body, name) {
				t.Fatalf("signed in, GET /: %d\n%s", status, body)
			}
			if status, body, _ := b.post("/logout", url.Values{}); status != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("sign-out without the CSRF token: %d\n%s", status, body)
			}
			if c.scheme == "proxy" {
				// The session's value under the other scheme's name signs nothing in.
				for _, other := range []struct {
					cookie string
					header http.Header
				}{{"greenlight-session", http.Header{"X-Forwarded-Proto": {"https"}}}, {"__Host-greenlight-session", nil}} {
					req, _ := http.NewRequest(http.MethodGet, s.server.URL+"/", nil)
					maps.Copy(req.Header, other.header)
					req.AddCookie(&http.Cookie{Name: other.cookie, Value: session.Value})
					resp, err := http.DefaultTransport.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusSeeOther {
						t.Errorf("cookie %s with X-Forwarded-Proto %q: %d, want 303 to sign in", other.cookie, req.Header.Get("X-Forwarded-Proto"), resp.StatusCode)
					}
				}
			}
			status, _, h := b.post("/logout", url.Values{"csrf": {b.csrf("/")}})
			if status != http.StatusSeeOther || h.Get("Location") != "/login" {
				t.Fatalf("sign-out: %d to %q", status, h.Get("Location"))
			}
			wantCookie("sign-out", h, c.prefix+"greenlight-session", false)
			if status, _ := b.get("/"); status != http.StatusSeeOther {
				t.Errorf("signed out, GET /: %d, want 303 to sign in", status)
			}

			signIn()
			if _, err := s.access.Revoke(context.Background(), name); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, b.url("/"), nil)
			status, _, h = b.do(req)
			if status != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "revoked") {
				t.Errorf("GET / once the token was revoked: %d to %q, want 303 to sign in saying it was revoked", status, h.Get("Location"))
			}
			wantCookie("revocation", h, c.prefix+"greenlight-session", false)
		})
	}
}

// TestSignInNeverLeavesTheConsole: the page a sign-in returns to, the
// redirect of a signed-in /login and the way back from a refusal stay on the
// console as a browser reads them. Browsers drop tabs and newlines anywhere in
// a URL and read a backslash as a slash, so "/\t/evil.example" is
// //evil.example: an open redirect to a look-alike sign-in page, asking for the
// token again.
func TestSignInNeverLeavesTheConsole(t *testing.T) {
	s := newSite(t, shop, "redirects", nil)
	evil := []string{"/\t/evil.example/", "/\n/evil.example/", "/\r\n/evil.example/", "/\t\\evil.example/",
		"\t//evil.example/", "/\\evil.example/", "//evil.example/", "https://evil.example/", "/%09/evil.example/"}
	for _, next := range evil {
		b := s.browser()
		form := url.Values{"token": {s.tokens[access.RoleViewer]}, "csrf": {b.csrf("/login")}, "next": {next}}
		req, _ := http.NewRequest(http.MethodPost, s.server.URL+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp := b.roundTrip(req)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in with next %q: %d", next, resp.StatusCode)
		}
		wantOnConsole(t, s, "sign-in with next "+strconv.Quote(next), resp.Header.Get("Location"))
		req, _ = http.NewRequest(http.MethodGet, s.server.URL+"/login?"+url.Values{"next": {next}}.Encode(), nil)
		wantOnConsole(t, s, "signed in, /login?next="+strconv.Quote(next), b.roundTrip(req).Header.Get("Location"))
	}
	b := s.signedIn(access.RoleViewer)
	for _, path := range []string{"/\t/evil.example/x", "//evil.example/x", "/\\evil.example/x"} {
		status, body, _ := b.postWith("/logout", url.Values{}, http.Header{"Referer": {s.server.URL + path}})
		back := regexpFind(`<a href="([^"]*)">Go back</a>`, body)
		if status != http.StatusForbidden || back == "" {
			t.Fatalf("a refused sign-out from %q: %d, no way back\n%s", path, status, body)
		}
		wantOnConsole(t, s, "the way back from a refusal on "+strconv.Quote(path), html.UnescapeString(back))
	}
}

// wantOnConsole fails unless location, resolved as a browser resolves it
// (WHATWG URL: tabs and newlines removed, backslashes read as slashes),
// stays on the console's host.
func wantOnConsole(t *testing.T, s *site, what, location string) {
	t.Helper()
	cleaned := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, strings.TrimSpace(location))
	base, _ := url.Parse(s.server.URL + "/login")
	ref, err := url.Parse(cleaned)
	if err != nil {
		t.Errorf("%s: Location %q does not parse: %v", what, location, err)
		return
	}
	if got := base.ResolveReference(ref); got.Host != base.Host {
		t.Errorf("%s: goes to %q (Location %q), off the console %s", what, got, location, base.Host)
	}
}

// roundTrip sends req with the browser's cookies and keeps those it sets, as
// the browser's client does, but hands back a redirect whatever its Location
// holds (the client refuses one that does not parse as Go reads URLs).
func (b *browser) roundTrip(req *http.Request) *http.Response {
	b.t.Helper()
	for _, c := range b.client.Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		b.t.Fatal(err)
	}
	_ = resp.Body.Close()
	b.client.Jar.SetCookies(req.URL, resp.Cookies())
	return resp
}

// TestSignInPagePrintsNoTextFromItsURL: /login?why= carries a reason code and
// the page shows the console's own sentence for it; any other text shows
// nothing, so that a link cannot put words on the sign-in page ("your token
// leaked, sign in at https://evil.example").
func TestSignInPagePrintsNoTextFromItsURL(t *testing.T) {
	s := newSite(t, shop, "why", nil)
	b := s.browser()
	for _, why := range []string{"Your token leaked: sign in again at https://evil.example/login", "<b>urgent</b>", "Revoked", "revoked ", "Text"} {
		status, body := b.get("/login?" + url.Values{"why": {why}}.Encode())
		if status != http.StatusOK || strings.Contains(body, "evil.example") || strings.Contains(body, "urgent") || strings.Contains(body, `class="notice error"`) {
			t.Errorf("GET /login?why=%q: %d, want the page without a notice\n%s", why, status, body)
		}
	}

	// A session whose token was revoked is sent to the page with a code, which
	// the page says in its own words.
	v := s.signedIn(access.RoleViewer)
	if _, err := s.access.Revoke(context.Background(), tokenName(access.RoleViewer)); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, v.url("/deployments"), nil)
	wantReason(t, v, req, "revoked", "The token you signed in with was revoked; sign in with another.")

	// A session the console does not know (it restarted) ended.
	req, _ = http.NewRequest(http.MethodGet, b.url("/audit"), nil)
	req.AddCookie(&http.Cookie{Name: "greenlight-session", Value: "forgotten"})
	wantReason(t, b, req, "ended", "Your session ended; sign in again.")
}

// wantReason sends req, which must be redirected to the sign-in page with the
// reason code, and checks the sentence that page shows for it.
func wantReason(t *testing.T, b *browser, req *http.Request, code, text string) {
	t.Helper()
	status, _, h := b.do(req)
	loc, err := url.Parse(h.Get("Location"))
	if status != http.StatusSeeOther || err != nil || loc.Path != "/login" || loc.Query().Get("why") != code {
		t.Fatalf("GET %s: %d to %q, want 303 to /login?why=%s", req.URL.Path, status, h.Get("Location"), code)
	}
	status, body := b.get(loc.RequestURI())
	if status != http.StatusOK || !strings.Contains(body, `<div class="notice error" role="alert">`+html.EscapeString(text)+`</div>`) {
		t.Errorf("GET %s: %d, want the notice %q\n%s", loc.RequestURI(), status, text, body)
	}
}
