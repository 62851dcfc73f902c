package report_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// The files under testdata/ are real tool output produced on this machine, not
// written by hand:
//   - junit-ant.xml, jacoco.xml: Ant 1.10 <junit> + JaCoCo 0.8.6 ant task on a
//     JUnit 4 test class (the <property> lines of the environment were removed);
//   - testng-results.xml: TestNG 6.9 on the same class under TestNG;
//   - junit-pytest.xml, cobertura-coveragepy.xml: pytest 7.2 --junitxml and
//     pytest-cov 4.0 / coverage.py 6.5 --cov-branch --cov-report=xml;
//   - junit-phpunit.xml, clover-phpunit.xml, cobertura-phpunit.xml: PHPUnit 9.6
//     --log-junit --coverage-clover --coverage-cobertura with pcov;
//   - cucumber-ruby.json, simplecov-resultset.json: cucumber 2.4 --format json
//     with SimpleCov 0.22 (branch coverage on);
//   - junit-gotestsum.xml: gotestsum 1.13 --junitfile on a Go package;
//   - nunit2-console.xml: nunit-console 2.6.4 (mono) on an NUnit 2.6 fixture.
// No NUnit 3 runner nor dotnet exists on this machine: TestNUnit3 and
// TestVisualStudioTRX use small documents written to those schemas, and say so.
// Each suite has the same shape: one pass, one failed assertion ("ten percent
// off", 900 instead of 901), one skip, and where the tool has them one error.

func parseFile(t *testing.T, format, name string) *report.Report {
	t.Helper()
	r, err := report.Parse(format, "testdata/"+name)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	if r.Format != format || r.File != "testdata/"+name {
		t.Errorf("format, file = %q, %q", r.Format, r.File)
	}
	return r
}

func findCase(t *testing.T, s *report.TestSummary, name string) report.TestCase {
	t.Helper()
	for _, c := range s.Cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %q in %+v", name, s.Cases)
	return report.TestCase{}
}

type counts struct{ total, passed, failed, skipped, errors int }

func checkCounts(t *testing.T, s *report.TestSummary, want counts) {
	t.Helper()
	got := counts{s.Total, s.Passed, s.Failed, s.Skipped, s.Errors}
	if got != want {
		t.Errorf("counts = %+v, want %+v", got, want)
	}
	if len(s.Cases) != s.Total {
		t.Errorf("%d cases for total %d", len(s.Cases), s.Total)
	}
}

func checkCase(t *testing.T, s *report.TestSummary, name, status, suite, message string) {
	t.Helper()
	c := findCase(t, s, name)
	if c.Status != status || c.Suite != suite || !strings.Contains(c.Message, message) {
		t.Errorf("case %s = {suite %q, status %s, message %q}, want {%q, %s, containing %q}",
			name, c.Suite, c.Status, c.Message, suite, status, message)
	}
}

func TestJUnitFlavours(t *testing.T) {
	tests := []struct {
		file                   string
		want                   counts
		failed, suite, message string
		errored, errorMessage  string
		skipped, skipMessage   string
	}{
		{"junit-ant.xml", counts{4, 1, 1, 1, 1}, "discountIsWrong", "shop.CartTest", "ten percent off expected:<901> but was:<900>",
			"rejectsNegative", "price must be positive", "bigDiscount", "pricing rules not final"},
		{"junit-pytest.xml", counts{7, 4, 1, 1, 1}, "test_discount_is_wrong", "test_cart", "AssertionError: ten percent off",
			"test_needs_fixture", "database not reachable", "test_big_discount", "pricing rules not final"},
		{"junit-phpunit.xml", counts{4, 1, 1, 1, 1}, "testDiscountIsWrong", "CartTest", "ten percent off",
			"testRejectsNegative", "price must be positive", "testBigDiscount", ""},
		{"junit-gotestsum.xml", counts{5, 2, 2, 1, 0}, "TestDiscount/ten", "example.com/shop/cart", "ten percent off: got 900, want 901",
			"", "", "TestBigDiscount", "pricing rules not final"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r := parseFile(t, manifest.ReportJUnitXML, tt.file)
			checkCounts(t, r.Tests, tt.want)
			checkCase(t, r.Tests, tt.failed, report.StatusFailed, tt.suite, tt.message)
			if tt.errored != "" {
				checkCase(t, r.Tests, tt.errored, report.StatusError, tt.suite, tt.errorMessage)
			}
			checkCase(t, r.Tests, tt.skipped, report.StatusSkipped, tt.suite, tt.skipMessage)
			if c := findCase(t, r.Tests, tt.failed); !strings.Contains(c.Details, "901") {
				t.Errorf("details of %s lack the assertion: %q", tt.failed, c.Details)
			}
			if r.Tests.Duration <= 0 || !r.HasFailures() {
				t.Errorf("duration %v, has failures %v", r.Tests.Duration, r.HasFailures())
			}
		})
	}
}

func TestDefaultFormatIsJUnit(t *testing.T) {
	r, err := report.Parse("", "testdata/junit-ant.xml")
	if err != nil || r.Format != manifest.ReportJUnitXML || r.Tests.Total != 4 {
		t.Fatalf("Parse(\"\") = %+v, %v", r, err)
	}
}

func TestTestNG(t *testing.T) {
	r := parseFile(t, manifest.ReportTestNGXML, "testng-results.xml")
	checkCounts(t, r.Tests, counts{3, 1, 1, 1, 0})
	checkCase(t, r.Tests, "discountIsWrong", report.StatusFailed, "shop.CartNGTest", "ten percent off expected [901] but found [900]")
	checkCase(t, r.Tests, "afterDiscount", report.StatusSkipped, "shop.CartNGTest", "depends on not successfully finished methods")
	if r.Tests.Duration.Milliseconds() != 32 {
		t.Errorf("duration = %v, want the suite's 32ms", r.Tests.Duration)
	}
}

func TestNUnit2(t *testing.T) {
	r := parseFile(t, manifest.ReportNUnitXML, "nunit2-console.xml")
	checkCounts(t, r.Tests, counts{4, 1, 1, 1, 1})
	checkCase(t, r.Tests, "DiscountIsWrong", report.StatusFailed, "Shop.Tests.CartTest", "ten percent off")
	checkCase(t, r.Tests, "RejectsNegative", report.StatusError, "Shop.Tests.CartTest", "System.ArgumentException : price must be positive")
	checkCase(t, r.Tests, "BigDiscount", report.StatusSkipped, "Shop.Tests.CartTest", "pricing rules not final")
	if c := findCase(t, r.Tests, "DiscountIsWrong"); !strings.Contains(c.Details, "Expected: 901") || !strings.Contains(c.Details, "at Shop.Tests.CartTest.DiscountIsWrong") {
		t.Errorf("details = %q", c.Details)
	}
}

// Hand-written to the NUnit 3 result schema (no NUnit 3 runner here).
const nunit3 = `<?xml version="1.0" encoding="utf-8"?>
<test-run id="2" testcasecount="4" result="Failed" total="4" passed="1" failed="2" skipped="1" duration="0.25">
  <test-suite type="Assembly" name="Shop.Tests.dll" fullname="/src/Shop.Tests.dll" result="Failed">
    <test-suite type="TestSuite" name="Shop" fullname="Shop" result="Failed">
      <test-suite type="TestFixture" name="CartTest" fullname="Shop.CartTest" classname="Shop.CartTest" result="Failed">
        <test-case name="AddsPrices" fullname="Shop.CartTest.AddsPrices" methodname="AddsPrices" classname="Shop.CartTest" result="Passed" duration="0.01"/>
        <test-case name="DiscountIsWrong" fullname="Shop.CartTest.DiscountIsWrong" classname="Shop.CartTest" result="Failed" duration="0.02">
          <failure><message><![CDATA[  ten percent off
  Expected: 901
  But was:  900]]></message><stack-trace><![CDATA[at Shop.CartTest.DiscountIsWrong()]]></stack-trace></failure>
        </test-case>
        <test-case name="RejectsNegative" fullname="Shop.CartTest.RejectsNegative" classname="Shop.CartTest" result="Failed" label="Error" duration="0.001">
          <failure><message><![CDATA[System.ArgumentException : price must be positive]]></message></failure>
        </test-case>
        <test-case name="BigDiscount" fullname="Shop.CartTest.BigDiscount" classname="Shop.CartTest" result="Skipped" label="Ignored">
          <reason><message><![CDATA[pricing rules not final]]></message></reason>
        </test-case>
      </test-suite>
    </test-suite>
  </test-suite>
</test-run>`

func TestNUnit3(t *testing.T) {
	r, err := report.ParseData(manifest.ReportNUnit3XML, "TestResult.xml", []byte(nunit3))
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r.Tests, counts{4, 1, 1, 1, 1})
	checkCase(t, r.Tests, "DiscountIsWrong", report.StatusFailed, "Shop.CartTest", "ten percent off")
	checkCase(t, r.Tests, "RejectsNegative", report.StatusError, "Shop.CartTest", "price must be positive")
	checkCase(t, r.Tests, "BigDiscount", report.StatusSkipped, "Shop.CartTest", "pricing rules not final")
	if r.Tests.Duration.Milliseconds() != 250 {
		t.Errorf("duration = %v, want the run's 250ms", r.Tests.Duration)
	}
}

// Hand-written to the TRX schema (no dotnet here).
const trx = `<?xml version="1.0" encoding="utf-8"?>
<TestRun id="1" name="run" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Times creation="2026-01-02T10:00:00.0000000+00:00" start="2026-01-02T10:00:00.0000000+00:00" finish="2026-01-02T10:00:01.5000000+00:00" />
  <Results>
    <UnitTestResult testId="a1" testName="AddsPrices" outcome="Passed" duration="00:00:00.0100000" />
    <UnitTestResult testId="a2" testName="DiscountIsWrong" outcome="Failed" duration="00:00:00.0200000">
      <Output><ErrorInfo><Message>Assert.Equal() Failure: ten percent off
Expected: 901
Actual:   900</Message><StackTrace>at Shop.CartTest.DiscountIsWrong()</StackTrace></ErrorInfo></Output>
    </UnitTestResult>
    <UnitTestResult testId="a3" testName="BigDiscount" outcome="NotExecuted" duration="00:00:00" />
  </Results>
  <TestDefinitions>
    <UnitTest name="AddsPrices" id="a1"><TestMethod className="Shop.CartTest" name="AddsPrices" /></UnitTest>
    <UnitTest name="DiscountIsWrong" id="a2"><TestMethod className="Shop.CartTest" name="DiscountIsWrong" /></UnitTest>
    <UnitTest name="BigDiscount" id="a3"><TestMethod className="Shop.CartTest" name="BigDiscount" /></UnitTest>
  </TestDefinitions>
</TestRun>`

func TestVisualStudioTRX(t *testing.T) {
	r, err := report.ParseData(manifest.ReportVisualStudio, "results.trx", []byte(trx))
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r.Tests, counts{3, 1, 1, 1, 0})
	checkCase(t, r.Tests, "DiscountIsWrong", report.StatusFailed, "Shop.CartTest", "Assert.Equal() Failure: ten percent off")
	if r.Tests.Duration != 1500*time.Millisecond {
		t.Errorf("duration = %v", r.Tests.Duration)
	}
}

func TestCucumber(t *testing.T) {
	r := parseFile(t, manifest.ReportCucumberJSON, "cucumber-ruby.json")
	checkCounts(t, r.Tests, counts{3, 1, 1, 1, 0})
	checkCase(t, r.Tests, "Ten percent discount", report.StatusFailed, "Shopping cart", "ten percent off: expected 901, got 900")
	checkCase(t, r.Tests, "Gift wrapping", report.StatusSkipped, "Shopping cart", "undefined step: When I ask for gift wrapping")
	// Background steps belong to each scenario: their time counts.
	if c := findCase(t, r.Tests, "Adding prices"); c.Duration <= 0 {
		t.Errorf("duration of a passing scenario = %v", c.Duration)
	}
}

func TestCoverageFormats(t *testing.T) {
	tests := []struct {
		format, file                                 string
		linesCovered, linesTotal, brCovered, brTotal int
		packages                                     []report.PackageCoverage
	}{
		// PHPUnit's statements: 5 of 7 (the throw and the halving line never run).
		{manifest.CoverageClover, "clover-phpunit.xml", 5, 7, 0, 0,
			[]report.PackageCoverage{{Name: "/tmp/fx/php/src", LinesCovered: 5, LinesTotal: 7}}},
		{manifest.CoverageCobertura, "cobertura-coveragepy.xml", 9, 12, 3, 6,
			[]report.PackageCoverage{{Name: ".", LinesCovered: 6, LinesTotal: 6}, {Name: "pricing", LinesCovered: 3, LinesTotal: 6}}},
		// Lines appear under <methods> and <lines> of the class; each counts once.
		{manifest.CoverageCobertura, "cobertura-phpunit.xml", 5, 7, 0, 0,
			[]report.PackageCoverage{{Name: "Cart.php", LinesCovered: 5, LinesTotal: 7}}},
		{manifest.CoverageJaCoCo, "jacoco.xml", 8, 9, 3, 4,
			[]report.PackageCoverage{{Name: "shop", LinesCovered: 8, LinesTotal: 9}}},
		// SimpleCov printed "10 / 11 LOC (90.91%) covered" for this run.
		{manifest.CoverageSimpleCov, "simplecov-resultset.json", 10, 11, 2, 4,
			[]report.PackageCoverage{{Name: "/tmp/fx/rb/lib", LinesCovered: 10, LinesTotal: 11}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := parseFile(t, tt.format, tt.file).Coverage
			if c == nil {
				t.Fatal("no coverage")
			}
			if c.LinesCovered != tt.linesCovered || c.LinesTotal != tt.linesTotal ||
				c.BranchesCovered != tt.brCovered || c.BranchesTotal != tt.brTotal {
				t.Errorf("lines %d/%d branches %d/%d, want %d/%d %d/%d", c.LinesCovered, c.LinesTotal,
					c.BranchesCovered, c.BranchesTotal, tt.linesCovered, tt.linesTotal, tt.brCovered, tt.brTotal)
			}
			if want := float64(tt.linesCovered) / float64(tt.linesTotal); c.LineRate != want {
				t.Errorf("line rate %v, want %v", c.LineRate, want)
			}
			if len(c.Packages) != len(tt.packages) {
				t.Fatalf("packages = %+v, want %+v", c.Packages, tt.packages)
			}
			for i, p := range tt.packages {
				got := c.Packages[i]
				if got.Name != p.Name || got.LinesCovered != p.LinesCovered || got.LinesTotal != p.LinesTotal ||
					got.LineRate != float64(p.LinesCovered)/float64(p.LinesTotal) {
					t.Errorf("package %d = %+v, want %+v", i, got, p)
				}
			}
		})
	}
}

func TestBadFilesSayWhere(t *testing.T) {
	tests := []struct {
		format, data string
		line, column int
		message      string
	}{
		{manifest.ReportJUnitXML, "<testsuite>\n  <testcase name=\"a\">\n</testsuite>", 3, 13, "invalid XML"},
		{manifest.ReportJUnitXML, "<?xml version=\"1.0\"?>\n<html><body/></html>", 2, 1, "root element is <html>, expected <testsuite> or <testsuites>"},
		{manifest.ReportJUnitXML, "", 0, 0, "empty document"},
		{manifest.ReportCucumberJSON, "[\n  {\"name\": 5}\n]", 2, 13, "cannot unmarshal number"},
		{manifest.ReportCucumberJSON, "[\n  {\"name\": \"x\",,}\n]", 2, 16, "invalid JSON"},
		{manifest.ReportGoTestJSON, "{\"Action\":\"run\"}\n{\"Action\": pass}\n", 2, 12, "invalid JSON"},
		{manifest.ReportGoTestJSON, "ok  \texample.com/x\t0.1s\n", 0, 0, "no `go test -json` events"},
		{manifest.CoverageGoCover, "mode: set\nx.go:1.1,2.2 one 1\n", 2, 14, "bad statement count"},
		{manifest.CoverageGoCover, "x.go:1.1,2.2 1 1\n", 1, 1, "first line must be \"mode: set|count|atomic\""},
		{manifest.CoverageGoCover, "mode: sometimes\n", 1, 7, "unknown cover mode"},
		{manifest.CoverageJaCoCo, "<coverage/>", 1, 1, "root element is <coverage>, expected <report>"},
	}
	for _, tt := range tests {
		_, err := report.ParseData(tt.format, "reports/x", []byte(tt.data))
		var pe *report.ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s %q: error %v is not a *ParseError", tt.format, tt.data, err)
			continue
		}
		if pe.Line != tt.line || pe.Column != tt.column || !strings.Contains(err.Error(), tt.message) ||
			!strings.HasPrefix(err.Error(), "reports/x") {
			t.Errorf("%s %q: error %q at %d:%d, want %d:%d containing %q", tt.format, tt.data, err, pe.Line, pe.Column, tt.line, tt.column, tt.message)
		}
	}
}

func TestUnknownFormatNamesTheAllowedOnes(t *testing.T) {
	_, err := report.ParseData("XUNIT", "r.xml", []byte("<x/>"))
	if err == nil || !strings.Contains(err.Error(), `unknown report format "XUNIT"`) || !strings.Contains(err.Error(), "COBERTURAXML") {
		t.Fatalf("error = %v", err)
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := report.Parse(manifest.ReportJUnitXML, "testdata/nope.xml"); err == nil {
		t.Fatal("no error for a missing file")
	}
}
