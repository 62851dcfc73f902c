package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/greenlight-ci/greenlight/internal/access"
	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/loadgen"
	"github.com/greenlight-ci/greenlight/internal/testnet"
	"github.com/greenlight-ci/greenlight/internal/treecopy"
)

// screenshotsEnv names a directory to write every step's screenshot into (for
// docs/console.md: GREENLIGHT_CONSOLE_SCREENSHOTS=$PWD/docs/console).
const screenshotsEnv = "GREENLIGHT_CONSOLE_SCREENSHOTS"

// chromium finds a Chromium the test can drive: without one it skips, and
// fails when CI=true (.ci/run installs Debian's chromium package).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH (apt-get install chromium); CI=true needs the browser tests to run")
	}
	t.Skip("browser test skipped: no Chromium on PATH (apt-get install chromium)")
	return ""
}

// driver drives one headless Chromium tab and keeps a screenshot of every
// step: all of them are saved when the test fails, or always into
// $GREENLIGHT_CONSOLE_SCREENSHOTS.
type driver struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots []shot
	docs  string
}

type shot struct {
	name string
	png  []byte
}

func newDriver(t *testing.T, base string) *driver {
	path := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("lang", "en-US"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	d := &driver{t: t, ctx: ctx, base: base, docs: os.Getenv(screenshotsEnv)}
	t.Cleanup(func() {
		if t.Failed() {
			d.save()
		}
		cancelTab()
		cancelAlloc()
	})
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return d
}

// save writes the screenshots taken so far and one of the page as it is now.
func (d *driver) save() {
	dir := os.Getenv("GREENLIGHT_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "greenlight-console-artifacts-"); err != nil {
			d.t.Logf("no artifacts: %v", err)
			return
		}
	}
	dir = filepath.Join(dir, d.t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		d.t.Logf("no artifacts: %v", err)
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		d.shots = append(d.shots, shot{"at-failure", png})
	}
	for i, s := range d.shots {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", i+1, s.name)), s.png, 0o644)
	}
	d.t.Logf("screenshots of every step: %s", dir)
}

// run runs browser actions, failing the test (with screenshots) on an error.
func (d *driver) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 2*time.Minute)
	defer cancel()
	for _, a := range actions {
		if _, err := chromedp.Run(ctx, a); err != nil {
			d.t.Fatalf("%s: %v", what, err)
		}
	}
}

// open navigates to a path of the console.
func (d *driver) open(path string) {
	d.t.Helper()
	d.run("open "+path, chromedp.Navigate(d.base+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// waitFor waits until a JavaScript expression is true on the page.
func (d *driver) waitFor(what, expr string, timeout time.Duration) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		d.t.Fatalf("waiting until %s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression on the page.
func eval[T any](d *driver, expr string) T {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		d.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// screenshot keeps a screenshot of the page as step name.
func (d *driver) screenshot(name string) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", name, err)
	}
	d.shots = append(d.shots, shot{name, png})
	if d.docs != "" {
		if err := os.WriteFile(filepath.Join(d.docs, name+".png"), png, 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
}

// signIn signs in with a token from the sign-in page.
func (d *driver) signIn(token string) {
	d.t.Helper()
	d.open("/")
	d.run("sign in", chromedp.WaitVisible(chromedp.ID("token")), chromedp.SendKeys(chromedp.ID("token"), token),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS("nav[aria-label=Main]")))
}

// example is the example service in its own repository, on free ports, its
// services run as processes (no images to build).
func newExample(t *testing.T) (*site, string) {
	s := newRepo(t)
	if err := treecopy.Copy("../../examples/orders-service", s.repo, treecopy.BuildOutputs...); err != nil {
		t.Fatal(err)
	}
	production := testnet.FreeAddr(t)
	config := filepath.Join(s.repo, "greenlight.yaml")
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.NewReplacer("127.0.0.1:7180", testnet.FreeAddr(t), "127.0.0.1:7080", production, "127.0.0.1:7081", testnet.FreeAddr(t),
		"driver: auto", "driver: process").Replace(string(data))
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s.git("init", "-q", "-b", "main")
	s.commit("orders-service: first release")
	s.serve(nil)
	return s, production
}

// failingTest is a unit test that fails, with its file:line in the output.
const failingTest = `package orders

import "testing"

func TestDiscountIsApplied(t *testing.T) {
	got, want := 90, 95
	if got != want {
		t.Errorf("discount: got %d, want %d <b>not bold</b>", got, want)
	}
}
`

// TestBrowserReleasesTheExampleAndRollsItBack drives the console in headless
// Chromium over a real local backend running the example pipeline: sign in,
// release a change and watch it live, open a failed test of another
// revision, approve with a comment, watch the blue-green deployment and its
// charts under load, roll back, read the audit log; and on a phone's screen.
func TestBrowserReleasesTheExampleAndRollsItBack(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test runs the example pipeline (a minute or two)")
	}
	chromium(t)
	s, production := newExample(t)
	first := s.git("rev-parse", "HEAD")
	released := s.start(first) // what production runs before the release under test
	go s.autoApprove(released, "release-bot")
	d := newDriver(t, s.server.URL)

	d.open("/")
	d.screenshot("login")
	d.signIn(s.tokens[access.RoleOperator])
	d.screenshot("pipelines")

	s.write(map[string]string{"CHANGES.md": "- the release under test\n"})
	s.commit("Document the release <em>under test</em>")
	id := watchAReleaseLive(t, d, s)

	s.waitForApproval(id)
	broken := commitOnBranch(s, "broken", map[string]string{"internal/orders/discount_test.go": failingTest}, "Add a discount test that fails")
	failed := s.start(broken)
	s.waitFor(failed, "failed", func(v *control.Execution) bool { return v.Status.Final() })
	openAFailedTest(t, d, failed)

	approveWithAComment(t, d, id)
	load := loadgen.Start("http://"+production+"/version", loadgen.Options{Workers: 2, Pause: 20 * time.Millisecond})
	stopLoad := sync.OnceFunc(load.Stop)
	defer stopLoad()
	deployment := watchTheDeployment(t, d, id)
	rollBack(t, d, deployment)
	if v := versionAt(t, production); v != first[:7] {
		t.Errorf("production answers version %q after the rollback, want %q (the revision released before)", v, first[:7])
	}
	stopLoad()
	if load.Failed() != 0 || load.Total() == 0 {
		t.Errorf("load on production during the deployment and the rollback: %s", load)
	}
	onAPhone(t, d, id, deployment)
	readTheAuditLog(t, d, s)
}

// autoApprove approves an execution's approval as who once it is asked for.
func (s *site) autoApprove(id, who string) {
	s.waitForApproval(id)
	_ = s.backend.Decide(context.Background(), control.Decision{ExecutionID: id, Approve: true, Who: who, Comment: "first release"})
}

// commitOnBranch commits files on a new branch and returns to main.
func commitOnBranch(s *site, branch string, files map[string]string, message string) string {
	s.git("checkout", "-q", "-b", branch)
	s.write(files)
	id := s.commit(message)
	s.git("checkout", "-q", "main")
	return id
}

// watchAReleaseLive releases the change from the pipelines page and watches
// the execution page change without a reload until the Build stage succeeded.
func watchAReleaseLive(t *testing.T, d *driver, s *site) string {
	d.run("release a change", chromedp.Click(chromedp.CSS(`form[action$="/executions"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#stages .stage")))
	loc := eval[string](d, "location.pathname")
	id := strings.TrimPrefix(loc, "/executions/")
	if !strings.HasPrefix(loc, "/executions/") || !strings.Contains(eval[string](d, "document.querySelector('.notice').textContent"), "started") {
		t.Fatalf("Release change went to %s", loc)
	}
	eval[bool](d, "window.stillThisPage = true")
	d.waitFor("the Build stage shows Succeeded", `(() => { const b = [...document.querySelectorAll('#stages .stage')].find(s => s.querySelector('h3').textContent === 'Build'); return b && b.querySelector('.badge').textContent === 'Succeeded'; })()`, 3*time.Minute)
	if !eval[bool](d, "window.stillThisPage === true") {
		t.Error("the page reloaded instead of updating in place")
	}
	d.screenshot("execution")
	return id
}

// openAFailedTest opens the failed unit test of an execution from its page.
func openAFailedTest(t *testing.T, d *driver, id string) {
	d.open("/executions/" + id)
	d.run("open the unit tests", chromedp.Click(chromedp.CSS(`article[data-action="UnitTests"] h4 a`)),
		chromedp.WaitVisible(chromedp.CSS("details.case.failed summary")))
	d.run("open the failed test", chromedp.Click(chromedp.CSS("details.case.failed summary")),
		chromedp.WaitVisible(chromedp.CSS("details.case.failed[open] pre")))
	name := eval[string](d, "document.querySelector('details.case.failed .case-name').textContent")
	loc := eval[string](d, "document.querySelector('details.case.failed .loc').textContent")
	details := eval[string](d, "document.querySelector('details.case.failed pre').textContent")
	if !strings.Contains(name, "TestDiscountIsApplied") || loc != "discount_test.go:8" || !strings.Contains(details, "<b>not bold</b>") {
		t.Errorf("failed test %q at %q: %q", name, loc, details)
	}
	if n := eval[int](d, "document.querySelectorAll('details.case.failed b').length"); n != 0 {
		t.Error("the test's output was rendered as HTML")
	}
	d.screenshot("action")
}

// approveWithAComment approves from the approval page.
func approveWithAComment(t *testing.T, d *driver, id string) {
	d.open("/executions/" + id + "/approvals/Approval/ManualApproval")
	if commits := eval[int](d, "document.querySelectorAll('.commits li').length"); commits < 1 {
		t.Errorf("the approval page lists %d commits since production", commits)
	}
	d.run("write a comment", chromedp.SendKeys(chromedp.ID("comment"), "staging looks good"))
	d.screenshot("approval")
	d.run("approve", chromedp.Click(chromedp.CSS(`button[value=approve]`)), chromedp.WaitVisible(chromedp.CSS("main > .notice")))
	if msg := eval[string](d, "document.querySelector('.notice').textContent"); !strings.Contains(msg, `Approved by alice-operator: "staging looks good"`) {
		t.Errorf("after approving: %q", msg)
	}
}

// watchTheDeployment follows the production deployment from the execution
// page until production is on the replacement with traffic charted.
func watchTheDeployment(t *testing.T, d *driver, id string) string {
	link := `#stages .stage:last-child a[href^="/deployments/d-"]`
	d.waitFor("the production deployment appears", "!!document.querySelector('"+link+"')", 3*time.Minute)
	d.run("open the deployment", chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("charts")))
	deployment := strings.TrimPrefix(eval[string](d, "location.pathname"), "/deployments/")
	d.waitFor("production is on the replacement", `document.querySelector('#deployment-summary [data-status]').dataset.status === 'Baking' && !!document.querySelector('svg.split rect.replacement[width="100"]')`, 2*time.Minute)
	d.waitFor("the replacement's traffic is charted", `document.querySelectorAll('#chart-requests-t, #charts polyline.replacement').length >= 2 && document.querySelector('#charts polyline.replacement').getAttribute('points').split(' ').length >= 8`, time.Minute)
	if steps := eval[string](d, "document.querySelector('#timeline').textContent"); !strings.Contains(steps, "AfterAllowTraffic") || !strings.Contains(steps, "hook") {
		t.Errorf("lifecycle timeline: %q", steps)
	}
	d.screenshot("deployment")
	return deployment
}

// rollBack rolls the deployment back and waits for the result on the page.
func rollBack(t *testing.T, d *driver, deployment string) {
	d.run("roll back", chromedp.SendKeys(chromedp.ID("cmd-reason"), "checking the rollback"),
		chromedp.Click(chromedp.CSS(`button[value=rollback]`)), chromedp.WaitVisible(chromedp.CSS("main > .notice")))
	if msg := eval[string](d, "document.querySelector('.notice').textContent"); !strings.Contains(msg, "Rollback requested by alice-operator") {
		t.Errorf("after rolling back: %q", msg)
	}
	d.waitFor("the rollback succeeded", `(() => { const n = document.querySelector('#deployment-summary .notice'); return n && n.textContent.includes('Rolled back by') && n.textContent.includes('Succeeded') && !!document.querySelector('svg.split rect.original[width="100"]'); })()`, 2*time.Minute)
	d.screenshot("rollback")
	if rb := eval[string](d, "document.querySelector('#deployment-summary .notice a').textContent"); rb == deployment || !strings.HasPrefix(rb, "d-") {
		t.Errorf("the rollback deployment is %q", rb)
	}
}

func versionAt(t *testing.T, addr string) string {
	t.Helper()
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + addr + "/version")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

// onAPhone shows the pages on a phone's screen: nothing wider than it.
func onAPhone(t *testing.T, d *driver, id, deployment string) {
	d.run("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	for _, page := range []struct{ name, path string }{{"phone-execution", "/executions/" + id}, {"phone-deployment", "/deployments/" + deployment}} {
		d.open(page.path)
		if wide := eval[bool](d, "document.documentElement.scrollWidth > window.innerWidth + 1"); wide {
			t.Errorf("%s is wider than a phone's screen: %v > %v", page.path, eval[float64](d, "document.documentElement.scrollWidth"), eval[float64](d, "window.innerWidth"))
		}
		d.screenshot(page.name)
	}
	d.run("a desktop's screen", chromedp.EmulateReset(), chromedp.EmulateViewport(1280, 900))
}

// readTheAuditLog signs in as an admin and finds the approval and the
// rollback in the audit log; then takes the remaining pages' screenshots.
func readTheAuditLog(t *testing.T, d *driver, s *site) {
	d.open("/")
	d.run("sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.ID("token")))
	d.signIn(s.tokens[access.RoleAdmin])
	d.open("/audit")
	log := eval[string](d, "document.querySelector('main table').textContent")
	for _, want := range []string{"approvals.approve", "deployments.rollback", "executions.start", "alice-operator", "staging looks good", "checking the rollback"} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	d.screenshot("audit")
	d.open("/deployments")
	d.screenshot("deployments")
	d.open("/pipelines/orders-service")
	d.screenshot("history")
	d.open("/executions/no-such-execution")
	d.screenshot("not-found")
}
