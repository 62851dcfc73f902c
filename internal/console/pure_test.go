package console

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/control"
	"github.com/greenlight-ci/greenlight/internal/deploy"
	"github.com/greenlight-ci/greenlight/internal/report"
)

func TestLocationFindsFileAndLineInFailures(t *testing.T) {
	for _, tc := range []struct {
		c    report.TestCase
		want string
	}{
		{report.TestCase{Details: "    api_test.go:42: want 200, got 500"}, "api_test.go:42"},
		{report.TestCase{Message: "AssertionError", Details: "Traceback:\n  File tests/test_orders.py:17, in test_pay"}, "tests/test_orders.py:17"},
		{report.TestCase{Details: "at com.shop.PayTest.pay(PayTest.java:120)"}, "PayTest.java:120"},
		{report.TestCase{Message: "src/app/orders.test.ts:8:13 expected 1"}, "src/app/orders.test.ts:8"},
		{report.TestCase{Message: "timeout after 10:30 minutes"}, ""},
		{report.TestCase{Message: "see http://host:8080/x"}, ""},
		{report.TestCase{}, ""},
	} {
		if got := location(tc.c); got != tc.want {
			t.Errorf("location(%q / %q) = %q, want %q", tc.c.Message, tc.c.Details, got, tc.want)
		}
	}
}

func FuzzLocation(f *testing.F) {
	f.Add("api_test.go:42: want 200", "")
	f.Add("", "at x.Y(Z.java:1)")
	f.Add("::::", "a.b:")
	f.Fuzz(func(t *testing.T, message, details string) {
		loc := location(report.TestCase{Message: message, Details: details})
		if loc == "" {
			return
		}
		file, line, ok := strings.Cut(loc, ":")
		if !ok || file == "" || line == "" || (!strings.Contains(message, loc) && !strings.Contains(details, loc)) {
			t.Fatalf("location %q of %q / %q", loc, message, details)
		}
	})
}

func TestTestReportViewPutsFailuresFirst(t *testing.T) {
	r := report.Report{Group: "unit", Tests: &report.TestSummary{Cases: []report.TestCase{
		{Name: "ok1", Status: report.StatusSucceeded}, {Name: "bad", Status: report.StatusFailed, Details: "x_test.go:3: no"},
		{Name: "skip", Status: report.StatusSkipped}, {Name: "boom", Status: report.StatusError},
	}}}
	v := testReportViewOf(r, 2)
	if len(v.Failed) != 2 || v.Failed[0].Name != "bad" || v.Failed[1].Name != "boom" || v.Failed[0].Location != "x_test.go:3" ||
		len(v.Others) != 2 || v.Failed[0].Anchor != "r2-t1" {
		t.Fatalf("view %+v", v)
	}
}

func TestCoverageViewListsPackagesThatFellFirst(t *testing.T) {
	cov := func(pkgs ...report.PackageCoverage) report.Report {
		return report.Report{Group: "coverage", File: "c.xml", Coverage: &report.CoverageSummary{Packages: pkgs}}
	}
	before := cov(report.PackageCoverage{Name: "a", LineRate: 0.9}, report.PackageCoverage{Name: "b", LineRate: 0.5}, report.PackageCoverage{Name: "c", LineRate: 0.8})
	now := cov(report.PackageCoverage{Name: "a", LineRate: 0.8}, report.PackageCoverage{Name: "b", LineRate: 0.6},
		report.PackageCoverage{Name: "c", LineRate: 0.4}, report.PackageCoverage{Name: "d", LineRate: 1})
	v := coverageViewOf(now, matching([]report.Report{{Group: "unit"}, before}, now))
	var order []string
	for _, p := range v.Packages {
		order = append(order, p.Name)
	}
	if strings.Join(order, " ") != "c a b d" || !v.Packages[0].Fell || !v.Packages[1].Fell || v.Packages[2].Fell || v.Packages[3].HasBefore {
		t.Fatalf("packages %v: %+v", order, v.Packages)
	}
	if math.Abs(v.Packages[0].Delta+0.4) > 1e-9 {
		t.Errorf("c fell by %v, want -0.4", v.Packages[0].Delta)
	}
	if alone := coverageViewOf(now, nil); alone.Before != nil || alone.Packages[0].Fell {
		t.Errorf("without a baseline: %+v", alone)
	}
}

func TestChartsDrawEveryGroupInTheWindow(t *testing.T) {
	end := time.Unix(1_000_000, 0)
	groups := []control.TargetGroupMetrics{
		{TargetGroup: "svc-1", Role: control.RoleOriginal, Points: []control.MetricsPoint{
			{Time: end.Add(-10 * time.Minute), Requests: 1000}, // outside the window: not drawn, not scaled for
			{Time: end.Add(-chartWindow), Requests: 40}, {Time: end, Requests: 0}}},
		{TargetGroup: "svc-2", Role: control.RoleReplacement, Points: []control.MetricsPoint{{Time: end, Requests: 35, ErrorRate: 0.5, P99: 0.2}}},
	}
	cs := charts(groups, chartWindow, end)
	if len(cs) != 3 {
		t.Fatalf("%d charts", len(cs))
	}
	req := cs[0]
	if req.YMax != "50/s" || len(req.Lines) != 2 || req.Lines[0].Class != "original" || req.Lines[1].Class != "replacement" {
		t.Fatalf("requests chart %+v", req)
	}
	if req.Lines[0].Points != "56.0,29.2 600.0,130.0" { // 40 of 50 at the left edge, 0 at now
		t.Errorf("original's points %q", req.Lines[0].Points)
	}
	if !strings.Contains(req.Desc, "svc-2 (replacement): 35/s") || cs[1].Lines[1].Latest != "50.0%" || cs[2].Lines[1].Latest != "200 ms" {
		t.Errorf("latest values: %q, %q, %q", req.Desc, cs[1].Lines[1].Latest, cs[2].Lines[1].Latest)
	}
	if empty := charts(nil, chartWindow, end); empty[0].YMax != "1/s" || !strings.Contains(empty[0].Desc, "No traffic") {
		t.Errorf("empty chart %+v", empty[0])
	}
}

func TestChartSpanFollowsTheDeployment(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	for created, want := range map[time.Time]time.Duration{now: chartMinimum, now.Add(-50 * time.Second): time.Minute,
		now.Add(-time.Hour): chartWindow} {
		if got := chartSpan(created, now); got != want {
			t.Errorf("chartSpan(%s before now) = %s, want %s", now.Sub(created), got, want)
		}
	}
}

func TestNiceCeiling(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.003: 0.005, 1: 1, 1.2: 2, 3: 5, 7: 10, 40: 50, 120: 200, math.NaN(): 1} {
		if got := niceCeiling(in); math.Abs(got-want) > 1e-12 {
			t.Errorf("niceCeiling(%v) = %v, want %v", in, got, want)
		}
	}
}

func TestSafeNextStaysOnTheConsole(t *testing.T) {
	for in, want := range map[string]string{"/executions/x": "/executions/x", "": "/", "//evil.example": "/",
		"/\\evil.example": "/", "https://evil.example": "/", "javascript:alert(1)": "/",
		"/\t/evil.example": "/", "/\n/evil.example": "/", "/x\\y": "/", "/executions/x?page=2": "/executions/x?page=2"} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{850 * time.Millisecond: "850ms", 12 * time.Second: "12s",
		185 * time.Second: "3m 05s", 130 * time.Minute: "2h 10m", -time.Second: "0s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestBackOfStaysOnTheConsole(t *testing.T) {
	for referer, want := range map[string]string{
		"http://console.local/executions/x?y=1": "/executions/x?y=1",
		"http://evil.example/phish":             "/",
		"javascript:alert(1)":                   "/",
		"http://console.local//evil.example/x":  "/",
		"":                                      "/",
	} {
		r := httptest.NewRequest(http.MethodPost, "http://console.local/executions/x/stop", nil)
		r.Header.Set("Referer", referer)
		if got := backOf(r); got != want {
			t.Errorf("backOf(Referer %q) = %q, want %q", referer, got, want)
		}
	}
}

// A deployment whose tasks the service scheduler replaced lists them in its
// lifecycle: which task, how it ended, what replaced it.
func TestDeploymentTimelineListsReplacedTasks(t *testing.T) {
	ps, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	d := &control.Deployment{ID: "d-1", Status: deploy.StatusSucceeded}
	html, err := ps.fragment("deployment", "timeline", deploymentView{D: d})
	if err != nil || strings.Contains(html, "Tasks replaced") {
		t.Fatalf("without replacements: %v\n%s", err, html)
	}
	d.Replacements = []deploy.TaskReplacement{{Old: "web-d-1-0", New: "web-d-1-0-r1", ExitCode: 137, Reason: "exited (exit code 137)", At: time.Now()}}
	html, err = ps.fragment("deployment", "timeline", deploymentView{D: d})
	if err != nil || !strings.Contains(html, "<code>web-d-1-0</code> exited (exit code 137): replaced by <code>web-d-1-0-r1</code>") {
		t.Fatalf("the replacement is not listed: %v\n%s", err, html)
	}
}
