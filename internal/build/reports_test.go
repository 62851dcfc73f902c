package build_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/greenlight-ci/greenlight/internal/build"
	"github.com/greenlight-ci/greenlight/internal/manifest"
)

const cartGo = `package cart

func Discounted(total, percent int) int {
	if percent > 50 {
		return total / 2
	}
	return total - total*percent/100
}
`

const cartTestGo = `package cart

import "testing"

func TestZero(t *testing.T) {
	if Discounted(1000, 0) != 1000 {
		t.Fatal("zero")
	}
}

func TestTenPercent(t *testing.T) {
	if got := Discounted(1000, 10); got != 901 {
		t.Errorf("ten percent off: got %d, want 901", got)
	}
}
`

// A build whose commands succeed but whose test report has a failure fails, and
// says which test: the product's rule, stricter than CodeBuild's.
func TestFailedTestInReportFailsTheBuild(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Reports: []*manifest.ReportGroup{
		{Name: "unit", Files: []string{"test-report.json"}, BaseDirectory: "reports", FileFormat: manifest.ReportGoTestJSON},
		{Name: "coverage", Files: []string{"reports/cover.out"}, FileFormat: manifest.CoverageGoCover},
		{Name: "absent", Files: []string{"junit/*.xml"}},
	}}
	spec.Phases.Build = phase("build", w.cmds(
		"mkdir -p reports",
		// The exit status of go test is ignored on purpose: only the report fails.
		"go test -json -count=1 -coverprofile=reports/cover.out ./... > reports/test-report.json || true",
	))
	f := newFixture(t, spec)
	f.writeSource(t, "go.mod", "module example.com/cart\n\ngo 1.22\n", 0o644)
	f.writeSource(t, "cart.go", cartGo, 0o644)
	f.writeSource(t, "cart_test.go", cartTestGo, 0o644)
	f.req.Env = []string{"PATH=" + goBinDir() + ":" + os.Getenv("PATH"), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off"}
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	want := "report group unit (reports/test-report.json): 1 of 2 tests failed: example.com/cart.TestTenPercent: cart_test.go:13: ten percent off: got 900, want 901"
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if len(res.Reports) != 2 {
		t.Fatalf("reports = %+v", res.Reports)
	}
	unit, cover := res.Reports[0], res.Reports[1]
	if unit.Group != "unit" || unit.File != "reports/test-report.json" || unit.Tests.Failed != 1 || unit.Tests.Passed != 1 {
		t.Errorf("unit report = %+v", unit)
	}
	if cover.Group != "coverage" || cover.Coverage == nil || cover.Coverage.LinesTotal != 3 || cover.Coverage.LinesCovered != 2 {
		t.Errorf("coverage report = %+v", cover.Coverage)
	}
	log := f.log.String()
	for _, want := range []string{
		"Report group unit: reports/test-report.json: 2 tests, 1 passed, 1 failed, 0 skipped, 0 errors",
		"Report group coverage: reports/cover.out: line coverage 66.7% (2/3)",
		"Report group absent: no files match junit/*.xml",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// Real JUnit XML from Ant (see internal/report/testdata), parsed in a build.
func TestJUnitReportFromTheSource(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "report", "testdata", "junit-ant.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Reports: []*manifest.ReportGroup{{Name: "junit", Files: []string{"build/reports/*.xml"}}}}
	spec.Phases.Build = phase("build", w.cmds("false"))
	f := newFixture(t, spec)
	f.writeSource(t, "build/reports/TEST-shop.CartTest.xml", string(data), 0o644)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	// The command failed first; the report's failures are named after it.
	want := "phase build: command `false` (buildspec.yml:11:9) exited with status 1; report group junit (build/reports/TEST-shop.CartTest.xml): " +
		"2 of 4 tests failed: shop.CartTest.discountIsWrong: ten percent off expected:<901> but was:<900>; shop.CartTest.rejectsNegative: price must be positive"
	if res.Failure != want {
		t.Errorf("failure %q\nwant    %q", res.Failure, want)
	}
	if len(res.Reports) != 1 || res.Reports[0].Format != manifest.ReportJUnitXML || res.Reports[0].Tests.Total != 4 {
		t.Errorf("reports = %+v", res.Reports)
	}
}

func TestUnreadableReportFailsWithItsPosition(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Reports: []*manifest.ReportGroup{{Name: "junit", Files: []string{"junit.xml"}, FileFormat: manifest.ReportJUnitXML}}}
	spec.Phases.Build = phase("build", w.cmds(`printf '<testsuite>\n  <testcase name="a">\n</testsuite>\n' > junit.xml`))
	f := newFixture(t, spec)
	res := f.run(t)
	wantStatus(t, res, build.StatusFailed, f.log)
	if !strings.HasPrefix(res.Failure, "report group junit: junit.xml:3:13: JUNITXML report: invalid XML") {
		t.Errorf("failure = %q", res.Failure)
	}
}

func TestPassingReportsKeepTheBuildGreen(t *testing.T) {
	var w specWriter
	spec := &manifest.Buildspec{Version: "0.2", Reports: []*manifest.ReportGroup{{Name: "unit", Files: []string{"r.json"}, FileFormat: manifest.ReportGoTestJSON}}}
	spec.Phases.Build = phase("build", w.cmds("go test -json -count=1 -run TestZero ./... > r.json"))
	f := newFixture(t, spec)
	f.writeSource(t, "go.mod", "module example.com/cart\n\ngo 1.22\n", 0o644)
	f.writeSource(t, "cart.go", cartGo, 0o644)
	f.writeSource(t, "cart_test.go", cartTestGo, 0o644)
	f.req.Env = []string{"PATH=" + goBinDir() + ":" + os.Getenv("PATH"), "GOTOOLCHAIN=local", "GOWORK=off", "GOPROXY=off"}
	res := f.run(t)
	wantStatus(t, res, build.StatusSucceeded, f.log)
	if len(res.Reports) != 1 || res.Reports[0].Tests.Passed != 1 || res.Reports[0].Tests.Total != 1 {
		t.Errorf("reports = %+v", res.Reports)
	}
}
