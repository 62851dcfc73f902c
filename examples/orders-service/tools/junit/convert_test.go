package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.com/orders-service/tools/internal/xmlreport"
)

// goTestJSON runs the real `go test -json` on a module made of files and returns
// its output; the test command's own exit status is expected to be a failure.
func goTestJSON(t *testing.T, files map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	files["go.mod"] = "module example.com/sample\n\ngo 1.26\n"
	for name, body := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err == nil {
		t.Fatalf("go test passed; the sample module has failing tests\n%s", out.String())
	}
	return out.Bytes()
}

const sampleTests = `package good

import "testing"

func TestPass(t *testing.T) {}

func TestFail(t *testing.T) { t.Fatal("total was 41, want 42") }

func TestSkip(t *testing.T) { t.Skip("needs a database") }

func TestSubtests(t *testing.T) {
	t.Run("ok", func(t *testing.T) {})
	t.Run("bad", func(t *testing.T) { t.Error("boom") })
}
`

func TestConvertRealGoTestOutput(t *testing.T) {
	out := goTestJSON(t, map[string]string{
		"good/good_test.go":    sampleTests,
		"broken/broken.go":     "package broken\n\nfunc F() int { return \"x\" }\n",
		"broken/b_test.go":     "package broken\n\nimport \"testing\"\n\nfunc TestF(t *testing.T) { F() }\n",
		"notests/notests.go":   "package notests\n",
		"panics/panic_test.go": "package panics\n\nimport \"testing\"\n\nfunc TestPanics(t *testing.T) { var m map[string]int; m[\"x\"] = 1 }\n",
	})
	doc, err := Convert(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	suites := map[string]*Suite{}
	for _, s := range doc.Suites {
		suites[s.Name] = s
	}
	if _, ok := suites["example.com/sample/notests"]; ok || len(doc.Suites) != 3 {
		t.Fatalf("suites = %v, want good, broken and panics (a package without tests is left out)", names(doc.Suites))
	}

	good := suites["example.com/sample/good"]
	wantCases := map[string]string{
		"TestPass": "pass", "TestFail": "failure", "TestSkip": "skipped",
		"TestSubtests": "failure", "TestSubtests/ok": "pass", "TestSubtests/bad": "failure",
	}
	if good.Tests != 6 || good.Failures != 3 || good.Skipped != 1 || good.Errors != 0 {
		t.Fatalf("good: tests %d failures %d skipped %d errors %d", good.Tests, good.Failures, good.Skipped, good.Errors)
	}
	for _, c := range good.Cases {
		if got := outcome(c); got != wantCases[c.Name] {
			t.Errorf("%s: %s, want %s", c.Name, got, wantCases[c.Name])
		}
		if c.Name == "TestFail" && !strings.Contains(c.Failure.Body, "total was 41, want 42") {
			t.Errorf("TestFail failure body lacks the message: %q", c.Failure.Body)
		}
		if c.Name == "TestSkip" && c.Skipped.Message != "needs a database" {
			t.Errorf("skip message = %q", c.Skipped.Message)
		}
	}

	broken := suites["example.com/sample/broken"]
	if broken.Errors != 1 || broken.Cases[0].Name != packageCase || !strings.HasPrefix(broken.Cases[0].Error.Message, "build failed") ||
		!strings.Contains(broken.Cases[0].Error.Body, "cannot use \"x\"") {
		t.Fatalf("broken package: %+v %+v", broken, broken.Cases[0].Error)
	}

	panics := suites["example.com/sample/panics"]
	if panics.Tests != 1 || panics.Failures != 1 || !strings.Contains(panics.Cases[0].Failure.Body, "assignment to entry in nil map") {
		t.Fatalf("panicking package: %+v", panics)
	}
	if doc.Tests != 6+1+1 || doc.Failures != 3+1 || doc.Errors != 1 || doc.Skipped != 1 {
		t.Fatalf("totals: tests %d failures %d errors %d skipped %d", doc.Tests, doc.Failures, doc.Errors, doc.Skipped)
	}
}

func TestXMLRoundTrip(t *testing.T) {
	out := goTestJSON(t, map[string]string{"good/good_test.go": sampleTests})
	in := filepath.Join(t.TempDir(), "unit.json")
	if err := os.WriteFile(in, out, 0o644); err != nil {
		t.Fatal(err)
	}
	xmlPath := filepath.Join(t.TempDir(), "junit.xml")
	if err := run(in, xmlPath); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	var back Suites
	if err := xml.Unmarshal(data, &back); err != nil {
		t.Fatalf("the XML does not parse: %v\n%s", err, data)
	}
	if back.Tests != 6 || back.Failures != 3 || len(back.Suites) != 1 || !bytes.HasPrefix(data, []byte("<?xml")) {
		t.Fatalf("round trip: %+v", back)
	}
}

func TestRejectsWhatIsNotGoTestJSON(t *testing.T) {
	for in, want := range map[string]string{
		`{"Action":"run","Package":"p","Test":"T"}` + "\nok  p 0.1s\n": "line 2: not a go test -json event: invalid character 'o'",
		`{"Package":"p"}`: "line 1: not a go test -json event: no Action",
	} {
		if _, err := Convert(strings.NewReader(in)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Convert(%q) = %v, want %q", in, err, want)
		}
	}
}

func FuzzConvert(f *testing.F) {
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T"}` + "\n" + `{"Action":"fail","Package":"p","Test":"T","Elapsed":0.1}` + "\n" + `{"Action":"fail","Package":"p"}`))
	f.Add([]byte(`{"Action":"build-output","ImportPath":"p [p.test]","Output":"x"}` + "\n" + `{"Action":"fail","Package":"p","FailedBuild":"p [p.test]"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := Convert(bytes.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := xmlreport.Write(&buf, doc); err != nil {
			t.Fatalf("cannot write a converted document: %v", err)
		}
		var back Suites
		if err := xml.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatalf("written XML does not parse: %v", err)
		}
		if back.Tests != doc.Tests || back.Failures != doc.Failures {
			t.Fatalf("counts changed in the round trip")
		}
	})
}

func names(suites []*Suite) []string {
	var out []string
	for _, s := range suites {
		out = append(out, s.Name)
	}
	return out
}

func outcome(c *Case) string {
	switch {
	case c.Failure != nil:
		return "failure"
	case c.Error != nil:
		return "error"
	case c.Skipped != nil:
		return "skipped"
	}
	return "pass"
}
