package report_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/greenlight-ci/greenlight/internal/manifest"
	"github.com/greenlight-ci/greenlight/internal/report"
)

// These tests run the real tools on a tiny project made in t.TempDir() and parse
// what they wrote.

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

const goCart = `package cart

import "errors"

type Cart struct{ total int }

func (c *Cart) Add(cents int) error {
	if cents <= 0 {
		return errors.New("price must be positive")
	}
	c.total += cents
	return nil
}

func (c *Cart) Total() int { return c.total }

func (c *Cart) Discounted(percent int) int {
	if percent > 50 {
		return c.total / 2
	}
	return c.total - c.total*percent/100
}
`

const goCartTest = `package cart

import "testing"

func TestAddsPrices(t *testing.T) {
	var c Cart
	c.Add(250)
	if c.Total() != 250 {
		t.Fatalf("total = %d", c.Total())
	}
}

func TestDiscount(t *testing.T) {
	var c Cart
	c.Add(1000)
	t.Run("ten", func(t *testing.T) {
		if got := c.Discounted(10); got != 901 {
			t.Errorf("ten percent off: got %d, want 901", got)
		}
	})
	t.Run("zero", func(t *testing.T) {
		if got := c.Discounted(0); got != 1000 {
			t.Errorf("got %d", got)
		}
	})
}

func TestBigDiscount(t *testing.T) {
	t.Skip("pricing rules not final")
}
`

func TestGoTestJSONAndCoverProfileFromGo(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"go.mod":            "module example.com/shop\n\ngo 1.22\n",
		"cart/cart.go":      goCart,
		"cart/cart_test.go": goCartTest,
		"tax/tax.go":        "package tax\n\nfunc VAT(cents int) int {\n\tif cents < 0 {\n\t\treturn 0\n\t}\n\treturn cents * 19 / 100\n}\n",
		"tax/tax_test.go":   "package tax\n\nimport \"testing\"\n\nfunc TestVAT(t *testing.T) {\n\tif VAT(100) != 19 {\n\t\tt.Fatal(VAT(100))\n\t}\n}\n",
		"broken/broken.go":  "package broken\n\nfunc F() int { return \"x\" }\n",
		"broken/b_test.go":  "package broken\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) { F() }\n",
	})
	goBin, err := exec.LookPath("go") // go test puts its own first on PATH
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"GOTOOLCHAIN=local", "GOFLAGS=-mod=mod", "GOWORK=off", "GOPROXY=off"}
	out, err := run(t, dir, env, goBin, "test", "-json", "-count=1", "-coverprofile=cover.out", "./cart/", "./tax/", "./broken/")
	if err == nil {
		t.Fatalf("go test passed with a failing test:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(dir, "test.json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}

	r, err := report.Parse(manifest.ReportGoTestJSON, filepath.Join(dir, "test.json"))
	if err != nil {
		t.Fatalf("parse go test -json output: %v\n%s", err, out)
	}
	// TestAddsPrices, TestDiscount, /ten, /zero, TestBigDiscount, TestVAT, and the
	// package that does not compile as an error.
	checkCounts(t, r.Tests, counts{7, 3, 2, 1, 1})
	checkCase(t, r.Tests, "TestDiscount/ten", report.StatusFailed, "example.com/shop/cart", "cart_test.go:18: ten percent off: got 900, want 901")
	checkCase(t, r.Tests, "TestBigDiscount", report.StatusSkipped, "example.com/shop/cart", "pricing rules not final")
	checkCase(t, r.Tests, "(package)", report.StatusError, "example.com/shop/broken", "build failed: broken/broken.go:3:")
	if c := findCase(t, r.Tests, "(package)"); !strings.Contains(c.Message, "cannot use") {
		t.Errorf("build failure message %q lacks the compiler error", c.Message)
	}

	// cover.out holds the packages that built; compare with go tool cover.
	cover, err := report.Parse(manifest.CoverageGoCover, filepath.Join(dir, "cover.out"))
	if err != nil {
		t.Fatal(err)
	}
	funcOut, err := run(t, dir, env, goBin, "tool", "cover", "-func=cover.out")
	if err != nil {
		t.Fatalf("go tool cover: %v\n%s", err, funcOut)
	}
	m := regexp.MustCompile(`total:\s+\(statements\)\s+([\d.]+)%`).FindStringSubmatch(funcOut)
	if m == nil {
		t.Fatalf("no total in:\n%s", funcOut)
	}
	want, _ := strconv.ParseFloat(m[1], 64)
	if got := cover.Coverage.LineRate * 100; got < want-0.05 || got > want+0.05 {
		t.Errorf("statement coverage %.2f%%, go tool cover says %.1f%%", got, want)
	}
	names := []string{}
	for _, p := range cover.Coverage.Packages {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "example.com/shop/cart,example.com/shop/tax" {
		t.Errorf("packages = %v", names)
	}
}

// pytestPython is a python3 with pytest and pytest-cov (Debian: python3-pytest
// python3-pytest-cov). Without one the test skips, except in CI, where .ci/run
// installs them and their absence is a failure.
func pytestPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import pytest, pytest_cov").Run() == nil {
			return py
		}
	}
	const missing = "no python3 with pytest and pytest-cov here (Debian: apt-get install python3-pytest python3-pytest-cov)"
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but " + missing)
	}
	t.Skip(missing)
	return ""
}

func TestPytestJUnitAndCoverageXML(t *testing.T) {
	py := pytestPython(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"cart.py": "def discounted(amount, percent):\n    if percent > 50:\n        return amount // 2\n    return amount - amount * percent // 100\n",
		"test_cart.py": "import pytest\nimport cart\n\n\ndef test_zero():\n    assert cart.discounted(1000, 0) == 1000\n\n\n" +
			"def test_ten():\n    assert cart.discounted(1000, 10) == 901, \"ten percent off\"\n\n\n" +
			"@pytest.mark.skip(reason=\"not final\")\ndef test_big():\n    pass\n",
	})
	out, err := run(t, dir, []string{"PYTHONDONTWRITEBYTECODE=1"}, py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
		"--junitxml=junit.xml", "--cov=cart", "--cov-branch", "--cov-report=xml:coverage.xml")
	if err == nil {
		t.Fatalf("pytest passed with a failing test:\n%s", out)
	}
	r, err := report.Parse(manifest.ReportJUnitXML, filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, r.Tests, counts{3, 1, 1, 1, 0})
	checkCase(t, r.Tests, "test_ten", report.StatusFailed, "test_cart", "AssertionError: ten percent off")

	c, err := report.Parse(manifest.CoverageCobertura, filepath.Join(dir, "coverage.xml"))
	if err != nil {
		t.Fatal(err)
	}
	// Line 3 (halving) never runs; the if goes one way only.
	cov := c.Coverage
	if cov.LinesCovered != 3 || cov.LinesTotal != 4 || cov.BranchesCovered != 1 || cov.BranchesTotal != 2 {
		t.Errorf("coverage = %+v", cov)
	}
}
